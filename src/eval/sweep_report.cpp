#include "enwanda/eval/sweep_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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

// One row: {"method","geometry","alpha","sparsity","allocation","ppl","acc":{task: acc},"macro_acc","prune_seconds"}
// (geometry "" and alpha null for a method without α; allocation "uniform" for cells of older sweeps)
nlohmann::json row_from(const fs::path& dir, nlohmann::json row) {
  if (!row.contains("allocation")) row["allocation"] = "uniform";
  if (!row.contains("geometry")) row["geometry"] = "";
  if (!row.contains("alpha")) row["alpha"] = nullptr;
  row["ppl"] = read_json(dir / "ppl.json")["ppl"];
  row["acc"] = nlohmann::json::object();
  if (fs::exists(dir / "zeroshot.json")) {
    auto zs = read_json(dir / "zeroshot.json");
    for (auto it = zs["tasks"].begin(); it != zs["tasks"].end(); ++it) row["acc"][it.key()] = it.value()["acc"];
    row["macro_acc"] = zs["macro_acc"];
  }
  if (fs::exists(dir / "enwanda_report.json")) row["prune_seconds"] = read_json(dir / "enwanda_report.json")["seconds"]["total"];
  return row;
}

std::string fmt(const nlohmann::json& v, const char* f = "%.4f") {
  if (v.is_null()) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v.get<double>());
  return buf;
}

std::string quoted(const std::string& s) {  // a gnuplot double-quoted string
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// "en modified", "sparsegpt + OWL": a row's method as a table or a figure names it
std::string method_label(const nlohmann::json& r) {
  std::string label = r["method"].get<std::string>();
  if (!r["geometry"].get<std::string>().empty()) label += " " + r["geometry"].get<std::string>();
  if (r["allocation"] == "owl") label += " + OWL";
  return label;
}

// Writes data files and a gnuplot script for `metric` (ppl or macro_acc) against α, one line per
// (method, geometry, allocation, sparsity): EN's over its α, a method without α (and the dense
// model) as a horizontal line across the α range; runs gnuplot for png and svg.
void draw(const fs::path& dir, const nlohmann::json& rows, const nlohmann::json& dense, const std::string& metric,
          const std::string& stem, const std::string& ylabel, const std::string& title) {
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  for (const auto& r : rows) {
    if (!r.contains(metric) || r[metric].is_null()) continue;
    const std::string key = method_label(r) + " @ " + std::to_string(static_cast<int>(r["sparsity"].get<double>() * 100 + 0.5)) + "%";
    if (r["alpha"].is_null()) {
      series[key] = {{0.0, r[metric].get<double>()}, {1.0, r[metric].get<double>()}};
    } else {
      series[key].push_back({r["alpha"].get<double>(), r[metric].get<double>()});
    }
  }
  if (series.empty()) return;
  fs::path data_dir = dir / "plot_data";
  fs::create_directories(data_dir);
  std::ostringstream plot;
  int k = 0;
  for (auto& [name, pts] : series) {
    std::sort(pts.begin(), pts.end());
    fs::path data = data_dir / (stem + "_" + std::to_string(k) + ".dat");
    std::ostringstream d;
    for (auto& [a, v] : pts) d << a << " " << v << "\n";
    write_text_file(data.string(), d.str());
    plot << (k ? ", " : "") << quoted(data.string()) << " using 1:2 with linespoints lw 2 pt 7 title " << quoted(name);
    ++k;
  }
  if (!dense.is_null()) plot << ", " << dense.get<double>() << " with lines dt 2 lw 2 lc rgb \"black\" title \"dense\"";
  for (const char* term : {"png", "svg"}) {
    std::ostringstream gp;
    gp << (std::string(term) == "png" ? "set terminal pngcairo size 900,600 font \"sans,12\"\n"
                                      : "set terminal svg size 900,600 font \"sans,12\"\n");
    gp << "set output " << quoted((dir / (stem + "." + term)).string()) << "\n";
    gp << "set title " << quoted(title) << "\nset xlabel \"elastic-net mixing weight {/Symbol a}\"\n";
    gp << "set ylabel " << quoted(ylabel) << "\nset key outside right\nset grid\nset xrange [-0.05:1.05]\n";
    gp << "plot " << plot.str() << "\n";
    fs::path script = dir / "plot_data" / (stem + "_" + term + ".gp");
    write_text_file(script.string(), gp.str());
    std::string cmd = "gnuplot " + quoted(script.string()) + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (p && fgets(buf, sizeof(buf), p)) out += buf;
    int rc = p ? pclose(p) : -1;
    if (rc != 0) throw IoError("gnuplot failed drawing " + stem + "." + term + " (is gnuplot-nox installed?): " + out);
  }
}
}  // namespace

nlohmann::json build_sweep_report(const ReportOptions& opt) {
  const fs::path dir = opt.results_dir;
  if (!fs::is_directory(dir / "cells")) throw InputError(opt.results_dir + ": no cells/ directory (not a sweep's results?)");
  nlohmann::json rows = nlohmann::json::array();
  std::vector<fs::path> cell_files;
  for (const auto& e : fs::directory_iterator(dir / "cells"))
    if (e.is_regular_file() && e.path().extension() == ".json") cell_files.push_back(e.path());
  for (const auto& f : cell_files) {
    auto cell = read_json(f);
    rows.push_back(row_from(dir / "cells" / cell["dir"].get<std::string>(), cell));
  }
  if (rows.empty()) throw InputError(opt.results_dir + ": no finished cells");
  auto order = [](const nlohmann::json& r) {
    return std::make_tuple(r["sparsity"].get<double>(), r["allocation"].get<std::string>(), r["method"].get<std::string>(),
                           r["geometry"].get<std::string>(), r["alpha"].is_null() ? -1.0 : r["alpha"].get<double>());
  };
  std::sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) { return order(a) < order(b); });
  nlohmann::json dense = nullptr;
  if (fs::exists(dir / "dense" / "ppl.json"))
    dense = row_from(dir / "dense", {{"method", "dense"}, {"geometry", ""}, {"alpha", nullptr}, {"sparsity", 0.0}, {"allocation", ""}});

  std::set<std::string> tasks;
  for (const auto& r : rows)
    for (auto it = r["acc"].begin(); it != r["acc"].end(); ++it) tasks.insert(it.key());

  // results.csv
  std::ostringstream csv;
  csv << "method,geometry,alpha,sparsity,allocation,ppl";
  for (const auto& t : tasks) csv << "," << t << "_acc";
  csv << ",macro_acc,prune_seconds\n";
  auto csv_row = [&](const nlohmann::json& r) {
    csv << r["method"].get<std::string>() << "," << r["geometry"].get<std::string>() << ","
        << (r["alpha"].is_null() ? "" : fmt(r["alpha"], "%g")) << "," << fmt(r["sparsity"], "%g") << ","
        << r["allocation"].get<std::string>() << "," << fmt(r["ppl"], "%.6f");
    for (const auto& t : tasks) csv << "," << (r["acc"].contains(t) ? fmt(r["acc"][t], "%.6f") : "");
    csv << "," << fmt(r.value("macro_acc", nlohmann::json()), "%.6f") << "," << fmt(r.value("prune_seconds", nlohmann::json()), "%.2f") << "\n";
  };
  if (!dense.is_null()) csv_row(dense);
  for (const auto& r : rows) csv_row(r);
  write_text_file((dir / "results.csv").string(), csv.str());

  nlohmann::json all = {{"dense", dense}, {"cells", rows}};
  write_text_file((dir / "results.json").string(), all.dump(2) + "\n");

  // summary.md, like the paper's table
  std::string title = opt.title;
  std::ostringstream md;
  md << "| method | geometry | α | sparsity | allocation | ppl |";
  for (const auto& t : tasks) md << " " << t << " |";
  if (!tasks.empty()) md << " mean |";
  md << "\n|---|---|---|---|---|---|";
  for (size_t i = 0; i < tasks.size() + (tasks.empty() ? 0 : 1); ++i) md << "---|";
  md << "\n";
  auto md_row = [&](const nlohmann::json& r) {
    md << "| " << r["method"].get<std::string>() << " | " << r["geometry"].get<std::string>() << " | "
       << (r["alpha"].is_null() ? "–" : fmt(r["alpha"], "%g")) << " | " << fmt(r["sparsity"], "%g") << " | "
       << (r["allocation"].get<std::string>().empty() ? "–" : r["allocation"].get<std::string>()) << " | " << fmt(r["ppl"], "%.3f") << " |";
    for (const auto& t : tasks) md << " " << (r["acc"].contains(t) ? fmt(r["acc"][t]) : "") << " |";
    if (!tasks.empty()) md << " " << fmt(r.value("macro_acc", nlohmann::json())) << " |";
    md << "\n";
  };
  if (!dense.is_null()) md_row(dense);
  for (const auto& r : rows) md_row(r);
  write_text_file((dir / "summary.md").string(), md.str());

  if (opt.figures) {
    if (title.empty()) {
      std::string model;
      if (fs::exists(dir / "sweep.json")) model = fs::path(read_json(dir / "sweep.json").value("model", "")).filename().string();
      title = "Perplexity vs alpha" + (model.empty() ? std::string() : " - " + model);
    }
    std::string sp;
    std::set<std::string> sparsities;
    for (const auto& r : rows) sparsities.insert(std::to_string(static_cast<int>(r["sparsity"].get<double>() * 100 + 0.5)) + "%");
    for (const auto& s : sparsities) sp += (sp.empty() ? "" : ", ") + s;
    draw(dir, rows, dense.is_null() ? nlohmann::json() : dense["ppl"], "ppl", "ppl_vs_alpha", "perplexity",
         title + " (sparsity " + sp + ")");
    if (!tasks.empty())
      draw(dir, rows, dense.is_null() ? nlohmann::json() : dense.value("macro_acc", nlohmann::json()), "macro_acc",
           "acc_vs_alpha", "mean zero-shot accuracy", "Accuracy vs alpha (sparsity " + sp + ")");
  }
  spdlog::info("report: {} cells -> {}/results.csv, summary.md{}", rows.size(), opt.results_dir,
               opt.figures ? ", ppl_vs_alpha.png/.svg" : "");
  return all;
}

}  // namespace enwanda
