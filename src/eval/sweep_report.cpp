#include "enwanda/eval/sweep_report.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/replace_guard.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
constexpr const char* kFileList = "report_files.json";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw InputError(p.string() + ": missing");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": not valid JSON: " + e.what());
  }
}

// A results file's field with the type the report reads it as; anything else is refused naming
// the file and the key (exit 3), never a JSON library's type error.
enum class Want { string, number, number_or_null, whole, object };
const nlohmann::json& field(const nlohmann::json& j, const fs::path& file, const std::string& key, Want want,
                            const std::string& shown_key = "") {
  static const nlohmann::json null;
  if (!j.is_object()) throw InputError(file.string() + ": not a JSON object");
  const auto it = j.find(key);
  const nlohmann::json& v = it == j.end() ? null : *it;
  bool ok = false;
  const char* what = "";
  switch (want) {
    case Want::string: ok = v.is_string(), what = "a string"; break;
    case Want::number: ok = v.is_number() && std::isfinite(v.get<double>()), what = "a finite number"; break;
    case Want::number_or_null: ok = v.is_null() || (v.is_number() && std::isfinite(v.get<double>())), what = "a number or null"; break;
    case Want::whole: ok = v.is_number_unsigned(), what = "a whole number"; break;
    case Want::object: ok = v.is_object(), what = "an object"; break;
  }
  if (!ok)
    throw InputError(file.string() + ": \"" + (shown_key.empty() ? key : shown_key) + "\" must be " + what + ", got " +
                     (it == j.end() ? std::string("nothing") : v.dump().substr(0, 60)));
  return v;
}

// The report of one cell, read from the cell's own files: what the cell file says the grid asked,
// replaced by what the cell's enwanda_report.json says was done (method, sparsity, structure,
// allocation; geometry and α for the elastic-net methods), so that a pass-through flag can never
// make the table say something that did not happen.
nlohmann::json cell_row(const fs::path& cells, const fs::path& file) {
  const nlohmann::json cell = read_json(file);
  nlohmann::json row = nlohmann::json::object();
  for (const char* key : {"method", "allocation", "structure", "geometry"})
    if (cell.contains(key) || std::string(key) == "method") row[key] = field(cell, file, key, Want::string);
  row["sparsity"] = field(cell, file, "sparsity", Want::number);
  if (cell.contains("alpha")) row["alpha"] = field(cell, file, "alpha", Want::number_or_null);
  if (cell.contains("seed")) row["seed"] = field(cell, file, "seed", Want::whole);
  const std::string dir = field(cell, file, "dir", Want::string).get<std::string>();
  if (dir.empty() || dir == "." || dir == ".." || dir.find('/') != std::string::npos || dir.find('\0') != std::string::npos)
    throw InputError(file.string() + ": \"dir\" must name a directory beside it (a plain name), got " + nlohmann::json(dir).dump());
  row["dir"] = dir;
  const fs::path report_path = cells / dir / kReportFile;
  if (fs::exists(report_path)) {
    const nlohmann::json report = read_json(report_path);
    const nlohmann::json& settings = field(report, report_path, "settings", Want::object);
    row["method"] = field(settings, report_path, "method", Want::string);
    row["sparsity"] = field(settings, report_path, "sparsity", Want::number);
    row["structure"] = field(settings, report_path, "structure", Want::string);
    row["allocation"] = field(settings, report_path, "allocation", Want::string);
    row["geometry"] = settings.contains("geometry") ? field(settings, report_path, "geometry", Want::string) : "";
    row["alpha"] = settings.contains("alpha") ? field(settings, report_path, "alpha", Want::number) : nlohmann::json();
    const nlohmann::json& seconds = field(report, report_path, "seconds", Want::object);
    row["prune_seconds"] = field(seconds, report_path, "total", Want::number);
  }
  return row;
}
}  // namespace

ReportFiles::ReportFiles(const std::string& results_dir) : dir_(fs::absolute(results_dir).lexically_normal().string()) {
  const std::string list = path(kFileList);
  struct stat st {};
  if (::lstat(list.c_str(), &st) != 0) return;
  if (!S_ISREG(st.st_mode) || !written_by_enwanda(list))
    throw UsageError(list + " was not written by enwanda report; refusing to write the report's files beside it");
  const nlohmann::json j = read_json(list);
  if (!j.contains("files") || !j["files"].is_array()) throw InputError(list + ": \"files\" must be a list of names");
  for (const auto& name : j["files"])
    if (name.is_string()) listed_.insert(name.get<std::string>());
}

std::string ReportFiles::path(const std::string& name) const { return dir_ + "/" + name; }

void ReportFiles::check_replaceable(const std::string& name) const {
  const std::string p = path(name);
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return;
  if (S_ISREG(st.st_mode) && listed_.count(name)) return;
  throw UsageError(p + " exists and was not written by enwanda report (" +
                   (S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISREG(st.st_mode) ? "not in " + path(kFileList) : "not a file") +
                   "); refusing to replace it: move it away, or report into another directory");
}

void ReportFiles::record(const std::string& name) {
  if (!listed_.insert(name).second) return;
  const nlohmann::json j = {{"enwanda_version", ENWANDA_VERSION}, {"command", "report"}, {"files", listed_}};
  write_text_file_atomic(path(kFileList), j.dump(2) + "\n", true);
}

std::unique_ptr<OutputFile> ReportFiles::open_for_program(const std::string& name) {
  check_replaceable(name);
  const auto slash = name.rfind('/');
  if (slash != std::string::npos) {  // plot_data/: made here when missing, and never a symlink
    const std::string sub = path(name.substr(0, slash));
    struct stat st {};
    if (::lstat(sub.c_str(), &st) != 0 && ::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST)
      throw IoError(errno_message("cannot create " + sub));
    if (::lstat(sub.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw UsageError(sub + " is not a directory (a symbolic link?); refusing to write the report's files through it");
  }
  return std::make_unique<OutputFile>(path(name), false);  // exclusive, no-follow
}

void ReportFiles::write(const std::string& name, const std::string& text) {
  auto file = open_for_program(name);
  file->write(text.data(), text.size());  // through the descriptor it was created with; IoError when the disk is full
  place(*file, name);
}

void ReportFiles::place(OutputFile& file, const std::string& name) {
  const std::string target = path(name);
  check_replaceable(name);  // again: what is there now
  record(name);             // listed before it appears
  file.close();             // fsyncs what was written through it
  fsync_path(file.temp_path());  // and what a program wrote
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    if (::rename(file.temp_path().c_str(), target.c_str()) != 0)
      throw IoError(errno_message("cannot rename " + file.temp_path() + " to " + target));
  } else {
    file.commit();
  }
}

namespace {
// The zero-shot tasks in the order of the Wanda and EN papers' table, with their column names;
// other tasks follow the mean, in name order.
const std::vector<std::pair<std::string, std::string>> kPaperTasks = {
    {"boolq", "BoolQ"},           {"rte", "RTE"},           {"hellaswag", "HellaSwag"}, {"winogrande", "WinoGrande"},
    {"arc_easy", "ARC-e"},        {"arc_challenge", "ARC-c"}, {"openbookqa", "OBQA"}};

// One seed's row: the cell's settings (cell_row) with ppl, acc {task: acc} and prune_seconds
// (geometry "" and alpha null for a method without α; uniform, unstructured and seed 0 for cells
// of older sweeps)
nlohmann::json row_from(const fs::path& dir, nlohmann::json row) {
  if (!row.contains("allocation")) row["allocation"] = "uniform";
  if (!row.contains("structure")) row["structure"] = "unstructured";
  if (!row.contains("seed")) row["seed"] = 0;
  if (!row.contains("geometry")) row["geometry"] = "";
  if (!row.contains("alpha")) row["alpha"] = nullptr;
  row["ppl"] = field(read_json(dir / "ppl.json"), dir / "ppl.json", "ppl", Want::number);
  row["acc"] = nlohmann::json::object();
  if (fs::exists(dir / "zeroshot.json")) {
    const fs::path file = dir / "zeroshot.json";
    const auto zs = read_json(file);
    const auto& tasks = field(zs, file, "tasks", Want::object);
    for (auto it = tasks.begin(); it != tasks.end(); ++it)
      row["acc"][it.key()] = field(it.value(), file, "acc", Want::number, "tasks." + it.key() + ".acc");
  }
  return row;
}

// The table's mean accuracy: over the papers' seven tasks when the row has any, else over all
nlohmann::json mean_accuracy(const nlohmann::json& acc) {
  double sum = 0;
  int n = 0;
  for (const auto& [task, name] : kPaperTasks)
    if (acc.contains(task)) sum += acc[task].get<double>(), ++n;
  if (n == 0)
    for (auto it = acc.begin(); it != acc.end(); ++it) sum += it.value().get<double>(), ++n;
  return n ? nlohmann::json(sum / n) : nlohmann::json();
}

// Row order: structure (unstructured, then N:M by M and N), allocation (uniform, OWL), sparsity,
// then dense's baselines (magnitude, wanda, sparsegpt, ria, wanda++) before EN by geometry and α.
auto row_order(const nlohmann::json& r) {
  const std::string st = r["structure"];
  int n = 0, m = 0;
  if (st != "unstructured") std::sscanf(st.c_str(), "%d:%d", &n, &m);
  static const std::vector<std::string> methods = {"magnitude", "wanda", "sparsegpt", "ria", "dsnot", "alps", "wanda++",
                                                   "en", "en++"};
  const auto method_rank = std::find(methods.begin(), methods.end(), r["method"].get<std::string>()) - methods.begin();
  return std::make_tuple(m, n, r["allocation"] == "owl", r["sparsity"].get<double>(), method_rank,
                         r["geometry"].get<std::string>(), r["alpha"].is_null() ? -1.0 : r["alpha"].get<double>(),
                         r.value("seed", 0));
}

std::string cell_key(const nlohmann::json& r) {
  return r["method"].dump() + r["geometry"].dump() + r["alpha"].dump() + r["sparsity"].dump() + r["allocation"].dump() +
         r["structure"].dump();
}

std::pair<double, nlohmann::json> mean_std(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  if (v.size() < 2) return {mean, nullptr};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / static_cast<double>(v.size() - 1))};  // the sample standard deviation
}

// Seed rows (sorted) -> one row per cell: ppl, each task's acc and the mean accuracy as mean and std
nlohmann::json merge_seeds(const nlohmann::json& seed_rows) {
  nlohmann::json merged = nlohmann::json::array();
  std::map<std::string, size_t> index;
  std::vector<std::vector<nlohmann::json>> groups;
  for (const auto& r : seed_rows) {
    auto [it, fresh] = index.emplace(cell_key(r), groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(r);
  }
  for (const auto& g : groups) {
    nlohmann::json row = g.front();
    row.erase("seed");
    row.erase("dir");
    row.erase("prune_seconds");
    row["seeds"] = g.size();
    std::vector<double> ppl, mean_acc;
    std::map<std::string, std::vector<double>> acc;
    for (const auto& r : g) {
      ppl.push_back(r["ppl"].get<double>());
      for (auto it = r["acc"].begin(); it != r["acc"].end(); ++it) acc[it.key()].push_back(it.value().get<double>());
      if (auto m = mean_accuracy(r["acc"]); !m.is_null()) mean_acc.push_back(m.get<double>());
    }
    std::tie(row["ppl"], row["ppl_std"]) = mean_std(ppl);
    row["acc"] = nlohmann::json::object();
    row["acc_std"] = nlohmann::json::object();
    for (const auto& [task, v] : acc) std::tie(row["acc"][task], row["acc_std"][task]) = mean_std(v);
    row["mean_acc"] = nullptr, row["mean_acc_std"] = nullptr;
    if (!mean_acc.empty()) std::tie(row["mean_acc"], row["mean_acc_std"]) = mean_std(mean_acc);
    merged.push_back(row);
  }
  return merged;
}

std::string fmt(const nlohmann::json& v, const char* f = "%.4f") {
  if (v.is_null()) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v.get<double>());
  return buf;
}

std::string with_std(const nlohmann::json& mean, const nlohmann::json& std, const char* f, double scale = 1.0) {
  if (mean.is_null()) return "";
  std::string s = fmt(nlohmann::json(mean.get<double>() * scale), f);
  if (!std.is_null()) s += " ± " + fmt(nlohmann::json(std.get<double>() * scale), f);
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}
}  // namespace

nlohmann::json build_sweep_report(const ReportOptions& opt) {
  const fs::path dir = fs::absolute(opt.results_dir).lexically_normal();
  if (!fs::is_directory(dir / "cells")) throw InputError(opt.results_dir + ": no cells/ directory (not a sweep's results?)");
  ReportFiles files(dir.string());
  nlohmann::json seed_rows = nlohmann::json::array();
  for (const auto& e : fs::directory_iterator(dir / "cells")) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    const auto row = cell_row(dir / "cells", e.path());
    seed_rows.push_back(row_from(dir / "cells" / row["dir"].get<std::string>(), row));
  }
  if (seed_rows.empty()) throw InputError(opt.results_dir + ": no finished cells");
  std::sort(seed_rows.begin(), seed_rows.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return row_order(a) < row_order(b); });
  const nlohmann::json rows = merge_seeds(seed_rows);
  nlohmann::json dense = nullptr;
  if (fs::exists(dir / "dense" / "ppl.json")) {
    dense = row_from(dir / "dense", {{"method", "dense"}, {"geometry", ""}, {"alpha", nullptr}, {"sparsity", 0.0},
                                     {"allocation", ""}, {"structure", ""}, {"seed", nullptr}});
    dense["mean_acc"] = mean_accuracy(dense["acc"]);
  }
  const nlohmann::json sweep = fs::exists(dir / "sweep.json") ? read_json(dir / "sweep.json") : nlohmann::json::object();
  for (const char* key : {"model", "calib", "eval_data", "seeds"})
    if (sweep.contains(key)) field(sweep, dir / "sweep.json", key, Want::string);
  for (const char* key : {"nsamples", "seqlen", "eval_seqlen", "slices"})
    if (sweep.contains(key)) field(sweep, dir / "sweep.json", key, Want::whole);
  if (sweep.contains("zeroshot_bos") && !sweep["zeroshot_bos"].is_boolean())
    throw InputError((dir / "sweep.json").string() + ": \"zeroshot_bos\" must be true or false");

  // the zero-shot columns: the papers' tasks in their order, the mean, then other tasks
  std::set<std::string> all_tasks;
  for (const auto& r : seed_rows)
    for (auto it = r["acc"].begin(); it != r["acc"].end(); ++it) all_tasks.insert(it.key());
  std::vector<std::pair<std::string, std::string>> paper_columns, other_columns;
  for (const auto& [task, name] : kPaperTasks)
    if (all_tasks.erase(task)) paper_columns.push_back({task, name});
  for (const auto& task : all_tasks) other_columns.push_back({task, task});
  std::vector<std::string> csv_tasks;
  for (const auto& c : paper_columns) csv_tasks.push_back(c.first);
  for (const auto& c : other_columns) csv_tasks.push_back(c.first);

  // results.csv: a row per cell and seed
  std::ostringstream csv;
  csv << "method,geometry,alpha,sparsity,allocation,structure,seed,ppl";
  for (const auto& t : csv_tasks) csv << "," << t << "_acc";
  csv << ",mean_acc,prune_seconds\n";
  auto csv_row = [&](const nlohmann::json& r) {
    csv << r["method"].get<std::string>() << "," << r["geometry"].get<std::string>() << ","
        << (r["alpha"].is_null() ? "" : fmt(r["alpha"], "%g")) << "," << fmt(r["sparsity"], "%g") << ","
        << r["allocation"].get<std::string>() << "," << r["structure"].get<std::string>() << ","
        << (r["seed"].is_null() ? "" : std::to_string(r["seed"].get<int>())) << "," << fmt(r["ppl"], "%.6f");
    for (const auto& t : csv_tasks) csv << "," << (r["acc"].contains(t) ? fmt(r["acc"][t], "%.6f") : "");
    csv << "," << fmt(mean_accuracy(r["acc"]), "%.6f") << "," << fmt(r.value("prune_seconds", nlohmann::json()), "%.2f") << "\n";
  };
  if (!dense.is_null()) csv_row(dense);
  for (const auto& r : seed_rows) csv_row(r);
  files.write("results.csv", csv.str());

  nlohmann::json all = {{"dense", dense}, {"cells", rows}, {"seed_rows", seed_rows}};
  files.write("results.json", all.dump(2) + "\n");

  // the protocol: model, calibration, evaluation
  const std::string model = sweep.value("model", "");
  const std::string seeds = sweep.value("seeds", "0");
  size_t max_seeds = 1;
  for (const auto& r : rows) max_seeds = std::max(max_seeds, r["seeds"].get<size_t>());
  std::vector<std::string> protocol;
  protocol.push_back("model: " + (model.empty() ? std::string("(not recorded)") : model));
  if (sweep.contains("nsamples"))
    protocol.push_back("calibration: " + sweep.value("calib", std::string("?")) + ", " + sweep["nsamples"].dump() + " × " +
                       sweep["seqlen"].dump() + " tokens, windows at random offsets in the joined text, seed" +
                       (seeds.find(',') == std::string::npos ? " " : "s ") + seeds +
                       (max_seeds > 1 ? " (a calibration set per seed; cells give mean ± std over seeds)" : ""));
  if (sweep.contains("eval_seqlen")) {
    const int slices = sweep.value("slices", 0);
    protocol.push_back("evaluation: perplexity on " + sweep.value("eval_data", std::string("?")) + ", " +
                       sweep["eval_seqlen"].dump() + "-token windows, " +
                       (slices > 0 ? std::to_string(slices) + " slices of the text" : std::string("the full text")) +
                       ", BOS once at the text's start");
  }
  if (!csv_tasks.empty())
    protocol.push_back(std::string("zero-shot: accuracy in percent, ") +
                       (sweep.value("zeroshot_bos", true) ? "BOS before each context" : "no BOS"));

  // summary.md: the protocol, then the table
  std::string heading = opt.title.empty() ? "Sweep: " + fs::path(model).filename().string() : opt.title;
  for (char& c : heading)  // one line: a line break in a name would end the Markdown heading
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  std::ostringstream table;
  table << "| method | geometry | α | structure | sparsity | allocation | ppl |";
  for (const auto& c : paper_columns) table << " " << c.second << " |";
  if (!csv_tasks.empty()) table << " mean |";
  for (const auto& c : other_columns) table << " " << c.second << " |";
  table << "\n|---|---|---|---|---|---|---|";
  for (size_t i = 0; i < csv_tasks.size() + (csv_tasks.empty() ? 0 : 1); ++i) table << "---|";
  table << "\n";
  auto md_row = [&](const nlohmann::json& r) {
    const nlohmann::json none = nlohmann::json::object();
    const auto& stds = r.contains("acc_std") ? r["acc_std"] : none;
    auto acc_cell = [&](const std::string& t) {
      return r["acc"].contains(t) ? with_std(r["acc"][t], stds.value(t, nlohmann::json()), "%.2f", 100.0) : "";
    };
    table << "| " << r["method"].get<std::string>() << " | " << r["geometry"].get<std::string>() << " | "
          << (r["alpha"].is_null() ? "–" : fmt(r["alpha"], "%g")) << " | "
          << (r["structure"].get<std::string>().empty() ? "–" : r["structure"].get<std::string>()) << " | "
          << fmt(r["sparsity"], "%g") << " | "
          << (r["allocation"].get<std::string>().empty() ? "–" : r["allocation"].get<std::string>()) << " | "
          << with_std(r["ppl"], r.value("ppl_std", nlohmann::json()), "%.3f") << " |";
    for (const auto& c : paper_columns) table << " " << acc_cell(c.first) << " |";
    if (!csv_tasks.empty()) table << " " << with_std(r["mean_acc"], r.value("mean_acc_std", nlohmann::json()), "%.2f", 100.0) << " |";
    for (const auto& c : other_columns) table << " " << acc_cell(c.first) << " |";
    table << "\n";
  };
  if (!dense.is_null()) md_row(dense);
  for (const auto& r : rows) md_row(r);
  std::ostringstream md;
  md << "# " << heading << "\n\n";
  for (const auto& p : protocol) md << "- " << p << "\n";
  md << "\n" << table.str();
  files.write("summary.md", md.str());

  std::vector<std::string> figures;
  if (opt.figures) {
    const std::string name = model.empty() ? std::string("sweep") : fs::path(model).filename().string();
    std::string protocol_line = name;
    if (sweep.contains("nsamples"))
      protocol_line += ": calib " + sweep["nsamples"].dump() + "×" + sweep["seqlen"].dump() + ", seed" +
                       (max_seeds > 1 ? "s " + seeds + " (mean)" : " " + seeds);
    if (sweep.contains("eval_seqlen"))
      protocol_line += "; eval " + fs::path(sweep.value("eval_data", std::string())).filename().string() + ", seqlen " +
                       sweep["eval_seqlen"].dump() + ", " +
                       (sweep.value("slices", 0) > 0 ? std::to_string(sweep.value("slices", 0)) + " slices" : "full text");
    draw_sweep_figure(files, rows, dense.is_null() ? nlohmann::json() : dense["ppl"], "ppl", "perplexity",
                      {"ppl_vs_alpha", "Perplexity vs α\n" + protocol_line});
    figures.push_back("ppl_vs_alpha");
    if (!csv_tasks.empty()) {
      draw_sweep_figure(files, rows, dense.is_null() ? nlohmann::json() : dense["mean_acc"], "mean_acc",
                        "mean zero-shot accuracy", {"acc_vs_alpha", "Mean zero-shot accuracy vs α\n" + protocol_line});
      figures.push_back("acc_vs_alpha");
    }
  }
  write_sweep_html(files, heading, protocol, table.str(), figures);
  spdlog::info("report: {} cells ({} runs) -> {}/results.csv, summary.md, summary.html{}", rows.size(), seed_rows.size(),
               opt.results_dir, opt.figures ? ", " + join(figures, ", ") + " (.png/.svg)" : "");
  return all;
}

}  // namespace enwanda
