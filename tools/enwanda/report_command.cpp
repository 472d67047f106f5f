// enwanda report: tables and figures from a sweep's results directory (sweep_report.h).
#include <filesystem>
#include <fstream>
#include <iterator>

#include "enwanda/eval/sweep_report.h"
#include "console_output.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class ReportCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* report = parent.add_subcommand("report", "tables and figures from an alpha sweep's results directory");
    report->add_option("results_dir", ro.results_dir, "RESULTS_DIR of scripts/sweep_alpha.sh")->required();
    report->add_option("--title", ro.title, "figure title");
    report->add_flag("--no-figures", no_figures, "tables only (no gnuplot)");
    logging.add(report);
    return report;
  }

  std::vector<std::string> run_files() const override { return {ro.results_dir}; }

  void run(const Invocation&) override {
    ro.figures = !no_figures;
    build_sweep_report(ro);
    std::ifstream md(std::filesystem::path(ro.results_dir) / "summary.md");
    print_result(std::string(std::istreambuf_iterator<char>(md), std::istreambuf_iterator<char>()));
  }

 private:
  ReportOptions ro;
  bool no_figures = false;
};

}  // namespace

std::unique_ptr<Subcommand> make_report_command() { return std::make_unique<ReportCommand>(); }

}  // namespace enwanda::cli
