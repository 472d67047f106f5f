// The sweep's figures: a metric against α, drawn by gnuplot from data files and a script that
// stay beside the figure (plot_data/) so that a figure can be restyled by hand.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "enwanda/errors.h"
#include "enwanda/eval/sweep_report.h"
#include "enwanda/io/output_directory.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
std::string quoted(const std::string& s) {  // a gnuplot double-quoted string ("\n" kept as a line break)
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == 'n') out += "\\n", ++i;
    else out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  }
  return out + "\"";
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

void run_gnuplot(const fs::path& script, const std::string& what) {
  std::string cmd = "gnuplot " + quoted(script.string()) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[256];
  while (p && fgets(buf, sizeof(buf), p)) out += buf;
  int rc = p ? pclose(p) : -1;
  if (rc != 0) throw IoError("gnuplot failed drawing " + what + " (is gnuplot-nox installed?): " + out);
}
}  // namespace

void draw_sweep_figure(const std::string& dir_name, const nlohmann::json& rows, const nlohmann::json& dense_value,
                       const std::string& metric, const std::string& ylabel, const SweepFigure& figure) {
  const fs::path dir = dir_name;
  struct Series {
    std::string title;
    int colour, dash, point;
    std::vector<std::pair<double, double>> points;
  };
  std::vector<std::string> methods, shapes;
  std::vector<double> sparsities;
  std::map<std::string, Series> series;
  std::vector<std::string> order;  // series in the table's order
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : rows) {
    if (!r.contains(metric) || r[metric].is_null()) continue;
    const double v = r[metric].get<double>();
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
    if (r["alpha"].is_null()) s.points = {{0.0, v}, {1.0, v}};  // a method without α: a line across the α range
    else s.points.push_back({r["alpha"].get<double>(), v});
    lo = std::min(lo, v), hi = std::max(hi, v);
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

  const fs::path data_dir = dir / "plot_data";
  fs::create_directories(data_dir);
  std::ostringstream plot;
  int k = 0;
  for (const auto& key : order) {
    Series& s = series[key];
    std::sort(s.points.begin(), s.points.end());
    const fs::path data = data_dir / (figure.stem + "_" + std::to_string(k) + ".dat");
    std::ostringstream d;
    for (auto& [a, v] : s.points) d << a << " " << v << "\n";
    write_text_file(data.string(), d.str());
    plot << (k ? ", \\\n     " : "") << quoted(data.string()) << " using 1:2 with linespoints lw 2 lc rgb \""
         << kColours[static_cast<size_t>(s.colour)] << "\" dt " << (s.dash % 5) + 1 << " pt "
         << kPoints[static_cast<size_t>(s.point) % kPoints.size()] << " ps 1.3 title " << quoted(s.title);
    ++k;
  }
  if (!dense_value.is_null()) {
    char label[64];
    std::snprintf(label, sizeof(label), metric == "ppl" ? "dense (%.2f)" : "dense (%.4f)", dense_value.get<double>());
    plot << ", \\\n     " << dense_value.get<double>() << " with lines dt 3 lw 2 lc rgb \"black\" title " << quoted(label);
  }
  for (const std::string term : {"png", "svg"}) {
    std::ostringstream gp;
    gp << (term == "png" ? "set terminal pngcairo size 1000,620 font \"sans,11\"\n"
                         : "set terminal svg size 1000,620 font \"sans,11\" background \"white\"\n");
    gp << "set output " << quoted((dir / (figure.stem + "." + term)).string()) << "\n";
    gp << "set title " << quoted(figure.title) << "\n";
    gp << "set xlabel \"elastic-net mixing weight α\"\n";
    gp << "set ylabel " << quoted(ylabel + (log_axis ? " (log scale)" : "")) << "\n";
    gp << "set key outside right top box\nset grid\nset xrange [-0.05:1.05]\n";
    gp << (log_axis ? "set logscale y\n" : "") << "set yrange [" << y0 << ":" << y1 << "]\n";
    gp << "plot " << plot.str() << "\n";
    const fs::path script = data_dir / (figure.stem + "_" + term + ".gp");
    write_text_file(script.string(), gp.str());
    run_gnuplot(script, figure.stem + "." + term);
  }
}

}  // namespace enwanda
