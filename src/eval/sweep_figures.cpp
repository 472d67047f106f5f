// The sweep's figures: a metric against α, drawn by gnuplot from data files and a script that
// stay beside the figure (plot_data/) so that a figure can be restyled by hand.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "enwanda/errors.h"
#include "enwanda/eval/sweep_report.h"
#include "enwanda/io/output_file.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
// A gnuplot single-quoted string: no backslash escapes, no backquote or macro substitution inside
// (gnuplot's "help substitution": "...except inside strings delimited by single quotes"), a ' written
// as ''. A line break becomes "\n" concatenated between two such strings; other control
// characters are dropped, so that nothing a name holds can end the command line.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += "'.\"\\n\".'";
    else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  return out + "'";
}

// "en modified": a row's method as the legend names it
std::string method_label(const nlohmann::json& r) {
  std::string label = r["method"].get<std::string>();
  if (!r["geometry"].get<std::string>().empty()) label += " " + r["geometry"].get<std::string>();
  return label;
}

// "2:4", "+ OWL": what besides the method and sparsity tells a series apart
std::string shape_label(const nlohmann::json& r) {
  std::string label;
  if (r["structure"] != "unstructured") label += r["structure"].get<std::string>();
  if (r["allocation"] == "owl") label += std::string(label.empty() ? "" : " ") + "+ OWL";
  return label;
}

std::string percent(double sparsity) { return std::to_string(static_cast<int>(sparsity * 100 + 0.5)) + "%"; }

// Colours that stay apart in print and for the common colour-vision deficiencies (Okabe-Ito, then
// Tol's bright set); a figure with more methods than colours is refused rather than repeating one.
const std::vector<std::string> kColours = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                                           "#882255", "#117733", "#999933", "#332288", "#AA4499", "#661100"};
const std::vector<int> kPoints = {7, 5, 9, 11, 13, 15, 4, 6, 8, 10};  // filled circle, square, triangles, diamond, pentagon...

template <typename T>
int index_in(std::vector<T>& seen, const T& v) {
  auto it = std::find(seen.begin(), seen.end(), v);
  if (it != seen.end()) return static_cast<int>(it - seen.begin());
  seen.push_back(v);
  return static_cast<int>(seen.size() - 1);
}

// gnuplot started without a shell (posix_spawnp with an argv: the script's path is data, never a
// command line), its output and errors read through a pipe for the message.
void run_gnuplot(const std::string& script, const std::string& first_command, const std::string& what) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw IoError(errno_message("cannot start gnuplot for " + what));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  char* argv[] = {const_cast<char*>("gnuplot"), const_cast<char*>("-e"), const_cast<char*>(first_command.c_str()),
                  const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  const int rc_spawn = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; rc_spawn == 0 && (n = ::read(pipe_fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (rc_spawn != 0)
    throw IoError("cannot run gnuplot to draw " + what + " (" + std::strerror(rc_spawn) + "; is gnuplot-nox installed?)");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw IoError("gnuplot failed drawing " + what + " (is gnuplot-nox installed?): " + out);
}
}  // namespace

void draw_sweep_figure(ReportFiles& files, const nlohmann::json& rows, const nlohmann::json& dense_value,
                       const std::string& metric, const std::string& ylabel, const SweepFigure& figure) {
  struct Point {
    double alpha, value, std;  // std: the seeds' standard deviation, 0 with one seed
    bool operator<(const Point& o) const { return alpha < o.alpha; }
  };
  struct Series {
    std::string title;
    int colour, dash, point;
    std::vector<Point> points;
  };
  std::vector<std::string> methods, shapes;
  std::vector<double> sparsities;
  std::map<std::string, Series> series;
  std::vector<std::string> order;  // series in the table's order
  bool seeded = false;             // any row with a standard deviation: error bars for every series
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : rows) {
    if (!r.contains(metric) || r[metric].is_null()) continue;
    const double v = r[metric].get<double>();
    const nlohmann::json sd = r.value(metric + "_std", nlohmann::json());
    const double s_v = sd.is_number() ? sd.get<double>() : 0.0;
    seeded = seeded || sd.is_number();
    const std::string shape = shape_label(r);
    const std::string key = method_label(r) + (shape.empty() ? "" : " " + shape) + " @ " + percent(r["sparsity"].get<double>());
    auto [it, fresh] = series.try_emplace(key);
    Series& s = it->second;
    if (fresh) {
      s.title = key;
      s.colour = index_in(methods, method_label(r));
      s.dash = index_in(shapes, shape);
      s.point = index_in(sparsities, r["sparsity"].get<double>());
      order.push_back(key);
    }
    if (r["alpha"].is_null()) s.points = {{0.0, v, s_v}, {1.0, v, s_v}};  // a method without α: a line across the α range
    else s.points.push_back({r["alpha"].get<double>(), v, s_v});
    lo = std::min(lo, v - s_v), hi = std::max(hi, v + s_v);
  }
  if (series.empty()) return;
  if (methods.size() > kColours.size())
    throw UsageError("the figure " + figure.stem + " would need " + std::to_string(methods.size()) + " colours, one per method; " +
                     "at most " + std::to_string(kColours.size()) + " are distinct: sweep fewer methods at once");
  if (!dense_value.is_null()) lo = std::min(lo, dense_value.get<double>()), hi = std::max(hi, dense_value.get<double>());
  // a log axis when the values span more than 10x (magnitude at 2:4 against dense), else linear
  // with a margin, so that the dense line is always inside the plotted range
  const bool log_axis = lo > 0 && hi / lo > 10;
  const double margin = (hi - lo) * 0.08 + std::abs(hi) * 1e-3;
  const double y0 = log_axis ? lo / 1.25 : lo - margin, y1 = log_axis ? hi * 1.25 : hi + margin;

  // seeded sweeps: mean ± standard deviation over the seeds as error bars (column 3)
  const std::string style = seeded ? " using 1:2:3 with yerrorlines" : " using 1:2 with linespoints";
  std::ostringstream plot;
  int k = 0;
  for (const auto& key : order) {
    Series& s = series[key];
    std::sort(s.points.begin(), s.points.end());
    const std::string data = "plot_data/" + figure.stem + "_" + std::to_string(k) + ".dat";
    std::ostringstream d;
    d.precision(10);
    for (const auto& p : s.points) d << p.alpha << " " << p.value << " " << p.std << "\n";
    files.write(data, d.str());
    plot << (k ? ", \\\n     " : "") << quoted(files.path(data)) << style << " lw 2 lc rgb '"
         << kColours[static_cast<size_t>(s.colour)] << "' dt " << (s.dash % 5) + 1 << " pt "
         << kPoints[static_cast<size_t>(s.point) % kPoints.size()] << " ps 1.3 title " << quoted(s.title);
    ++k;
  }
  if (!dense_value.is_null()) {
    char label[64];
    std::snprintf(label, sizeof(label), metric == "ppl" ? "dense (%.2f)" : "dense (%.4f)", dense_value.get<double>());
    plot << ", \\\n     " << dense_value.get<double>() << " with lines dt 3 lw 2 lc rgb 'black' title " << quoted(label);
  }
  for (const std::string term : {"png", "svg"}) {
    // gnuplot writes into an exclusive temporary made here; the figure is placed when it is whole
    auto out = files.open_for_program(figure.stem + "." + term);
    out->close();  // gnuplot opens it by its name
    std::ostringstream gp;
    gp << (term == "png" ? "set terminal pngcairo noenhanced size 1000,620 font 'sans,11'\n"
                         : "set terminal svg noenhanced size 1000,620 font 'sans,11' background 'white'\n");
    // the figure's own path unless `out` is given (enwanda gives its temporary: gnuplot -e "out='...'")
    gp << "if (!exists('out')) out = " << quoted(files.path(figure.stem + "." + term)) << "\n";
    gp << "set output out\n";
    gp << "set title " << quoted(figure.title) << "\n";
    gp << "set xlabel 'elastic-net mixing weight α'\n";
    gp << "set ylabel " << quoted(ylabel + (log_axis ? " (log scale)" : "")) << "\n";
    gp << "set key outside right top box\nset grid\nset xrange [-0.05:1.05]\n";
    gp << (log_axis ? "set logscale y\n" : "") << "set yrange [" << y0 << ":" << y1 << "]\n";
    gp << "plot " << plot.str() << "\n";
    const std::string script = "plot_data/" + figure.stem + "_" + term + ".gp";
    files.write(script, gp.str());
    run_gnuplot(files.path(script), "out = " + quoted(out->temp_path()), figure.stem + "." + term);
    files.place(*out, figure.stem + "." + term);
  }
}

}  // namespace enwanda
