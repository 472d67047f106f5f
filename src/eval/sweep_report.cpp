#include "enwanda/eval/sweep_report.h"

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

namespace fs = std::filesystem;

namespace enwanda {

namespace {
nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw InputError(p.string() + ": missing");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": not valid JSON: " + e.what());
  }
}

// The zero-shot tasks in the order of the Wanda and EN papers' table, with their column names;
// other tasks follow the mean, in name order.
const std::vector<std::pair<std::string, std::string>> kPaperTasks = {
    {"boolq", "BoolQ"},           {"rte", "RTE"},           {"hellaswag", "HellaSwag"}, {"winogrande", "WinoGrande"},
    {"arc_easy", "ARC-e"},        {"arc_challenge", "ARC-c"}, {"openbookqa", "OBQA"}};

// One seed's row: the cell's settings with ppl, acc {task: acc} and prune_seconds (geometry "" and
// alpha null for a method without α; uniform, unstructured and seed 0 for cells of older sweeps)
nlohmann::json row_from(const fs::path& dir, nlohmann::json row) {
  if (!row.contains("allocation")) row["allocation"] = "uniform";
  if (!row.contains("structure")) row["structure"] = "unstructured";
  if (!row.contains("seed")) row["seed"] = 0;
  if (!row.contains("geometry")) row["geometry"] = "";
  if (!row.contains("alpha")) row["alpha"] = nullptr;
  row["ppl"] = read_json(dir / "ppl.json")["ppl"];
  row["acc"] = nlohmann::json::object();
  if (fs::exists(dir / "zeroshot.json")) {
    auto zs = read_json(dir / "zeroshot.json");
    for (auto it = zs["tasks"].begin(); it != zs["tasks"].end(); ++it) row["acc"][it.key()] = it.value()["acc"];
  }
  if (fs::exists(dir / "enwanda_report.json")) row["prune_seconds"] = read_json(dir / "enwanda_report.json")["seconds"]["total"];
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
  static const std::vector<std::string> methods = {"magnitude", "wanda", "sparsegpt", "ria", "wanda++", "en", "en++"};
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
  const fs::path dir = opt.results_dir;
  if (!fs::is_directory(dir / "cells")) throw InputError(opt.results_dir + ": no cells/ directory (not a sweep's results?)");
  nlohmann::json seed_rows = nlohmann::json::array();
  for (const auto& e : fs::directory_iterator(dir / "cells")) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    auto cell = read_json(e.path());
    seed_rows.push_back(row_from(dir / "cells" / cell["dir"].get<std::string>(), cell));
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
  write_text_file((dir / "results.csv").string(), csv.str());

  nlohmann::json all = {{"dense", dense}, {"cells", rows}, {"seed_rows", seed_rows}};
  write_text_file((dir / "results.json").string(), all.dump(2) + "\n");

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
  write_text_file((dir / "summary.md").string(), md.str());

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
    draw_sweep_figure(dir.string(), rows, dense.is_null() ? nlohmann::json() : dense["ppl"], "ppl", "perplexity",
                      {"ppl_vs_alpha", "Perplexity vs α\\n" + protocol_line});
    figures.push_back("ppl_vs_alpha");
    if (!csv_tasks.empty()) {
      draw_sweep_figure(dir.string(), rows, dense.is_null() ? nlohmann::json() : dense["mean_acc"], "mean_acc",
                        "mean zero-shot accuracy", {"acc_vs_alpha", "Mean zero-shot accuracy vs α\\n" + protocol_line});
      figures.push_back("acc_vs_alpha");
    }
  }
  write_sweep_html(dir.string(), heading, protocol, table.str(), figures);
  spdlog::info("report: {} cells ({} runs) -> {}/results.csv, summary.md, summary.html{}", rows.size(), seed_rows.size(),
               opt.results_dir, opt.figures ? ", " + join(figures, ", ") + " (.png/.svg)" : "");
  return all;
}

}  // namespace enwanda
