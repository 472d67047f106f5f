// `enwanda report RESULTS_DIR`: gathers the cells of an α sweep (scripts/sweep_alpha.sh) into
// results.csv, results.json and summary.md (dense row first), and draws ppl_vs_alpha.png/.svg
// (and acc_vs_alpha.png/.svg when zero-shot results exist) with gnuplot.
//
// RESULTS_DIR layout: dense/ppl.json [dense/zeroshot.json], and per finished cell
// cells/NAME.json = {"method", "geometry", "alpha", "sparsity", "dir": "NAME"} with
// cells/NAME/{enwanda_report.json, ppl.json[, zeroshot.json]}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace enwanda {

struct ReportOptions {
  std::string results_dir;
  std::string title;      // default: the model directory's name
  bool figures = true;    // needs gnuplot on PATH
};

// Returns the rows; writes the files. Throws InputError when the directory holds no results.
nlohmann::json build_sweep_report(const ReportOptions& opt);

}  // namespace enwanda
