// `enwanda report RESULTS_DIR`: gathers the cells of a sweep (scripts/sweep_alpha.sh) into
// results.csv (a row per cell and seed), results.json, summary.md and summary.html (a row per cell,
// mean ± standard deviation over its seeds, dense row first), and draws ppl_vs_alpha.png/.svg
// (and acc_vs_alpha.png/.svg when zero-shot results exist) with gnuplot.
//
// RESULTS_DIR layout: sweep.json (the grid and protocol), dense/ppl.json [dense/zeroshot.json], and
// per finished cell cells/NAME.json = {"method", "geometry", "alpha", "sparsity", "allocation",
// "structure", "seed", "dir": "NAME"} with cells/NAME/{enwanda_report.json, ppl.json[, zeroshot.json]}.
#pragma once

#include <memory>
#include <set>
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

class OutputFile;

// The report's files under RESULTS_DIR, written as every output is (output_file.h): through an
// exclusive temporary beside the file (no-follow), placed when whole (a full disk leaves the old
// file). An existing file is replaced only when an earlier report wrote it: a plain file named in
// RESULTS_DIR/report_files.json, the list each report keeps of what it wrote. A symlink, a directory
// or a file of someone else's at one of the names is refused by name (exit 2).
class ReportFiles {
 public:
  explicit ReportFiles(const std::string& results_dir);
  std::string path(const std::string& name) const;  // absolute: RESULTS_DIR/NAME
  void write(const std::string& name, const std::string& text);
  // An exclusive temporary for NAME (OutputFile: write through it, or close it and let a program
  // such as gnuplot fill it by its name), then place() it.
  std::unique_ptr<OutputFile> open_for_program(const std::string& name);
  void place(OutputFile& file, const std::string& name);

 private:
  void check_replaceable(const std::string& name) const;
  void record(const std::string& name);
  std::string dir_;
  std::set<std::string> listed_;  // names report_files.json holds
};

// One table row (a cell, its seeds merged): "method", "geometry", "alpha" (null without α),
// "sparsity", "allocation", "structure", "seeds" (count), "ppl", "ppl_std", "acc" {task: mean},
// "acc_std" {task: std}, "mean_acc", "mean_acc_std" (std null with one seed).
struct SweepFigure {
  std::string stem;   // "ppl_vs_alpha"
  std::string title;  // first line: what against what; second: model and protocol
};

// Draws `metric` ("ppl" or "mean_acc") of the merged rows against α into DIR/STEM.png and .svg.
// Colour: one per method (and geometry); dash: one per structure and allocation; point: one per
// sparsity; the dense value a labelled horizontal line inside the plotted range; with seeds, mean ±
// standard deviation as error bars. gnuplot runs without a shell and reads every name as data.
void draw_sweep_figure(ReportFiles& files, const nlohmann::json& rows, const nlohmann::json& dense_value,
                       const std::string& metric, const std::string& ylabel, const SweepFigure& figure);

// summary.html: the protocol, the table and the SVG figures inline, one page with no network use.
void write_sweep_html(ReportFiles& files, const std::string& heading, const std::vector<std::string>& protocol,
                      const std::string& table_markdown, const std::vector<std::string>& svg_stems);

}  // namespace enwanda
