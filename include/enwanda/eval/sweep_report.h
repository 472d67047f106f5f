// `enwanda report RESULTS_DIR`: gathers the cells of a sweep (scripts/sweep_alpha.sh) into
// results.csv (a row per cell and seed), results.json, summary.md and summary.html (a row per cell,
// mean ± standard deviation over its seeds, dense row first), and draws ppl_vs_alpha.png/.svg
// (and acc_vs_alpha.png/.svg when zero-shot results exist) with gnuplot.
//
// RESULTS_DIR layout: sweep.json (the grid and protocol), dense/ppl.json [dense/zeroshot.json], and
// per finished cell cells/NAME.json = {"method", "geometry", "alpha", "sparsity", "allocation",
// "structure", "seed", "dir": "NAME"} with cells/NAME/{enwanda_report.json, ppl.json[, zeroshot.json]}.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace enwanda {

struct ReportOptions {
  std::string results_dir;
  std::string title;      // default: the model directory's name
  bool figures = true;    // needs gnuplot on PATH
};

// Returns the rows; writes the files. Throws InputError when the directory holds no results.
nlohmann::json build_sweep_report(const ReportOptions& opt);

// --- the parts build_sweep_report is made of (src/eval/sweep_figures.cpp, sweep_html.cpp) ---

// One table row (a cell, its seeds merged): "method", "geometry", "alpha" (null without α),
// "sparsity", "allocation", "structure", "seeds" (count), "ppl", "ppl_std", "acc" {task: mean},
// "acc_std" {task: std}, "mean_acc", "mean_acc_std" (std null with one seed).
struct SweepFigure {
  std::string stem;   // "ppl_vs_alpha"
  std::string title;  // first line: what against what; second: model and protocol
};

// Draws `metric` ("ppl" or "mean_acc") of the merged rows against α into DIR/STEM.png and .svg.
// Colour: one per method (and geometry); dash: one per structure and allocation; point: one per
// sparsity; the dense value a labelled horizontal line inside the plotted range.
void draw_sweep_figure(const std::string& dir, const nlohmann::json& rows, const nlohmann::json& dense_value,
                       const std::string& metric, const std::string& ylabel, const SweepFigure& figure);

// summary.html: the protocol, the table and the SVG figures inline, one page with no network use.
void write_sweep_html(const std::string& dir, const std::string& heading, const std::vector<std::string>& protocol,
                      const std::string& table_markdown, const std::vector<std::string>& svg_stems);

}  // namespace enwanda
