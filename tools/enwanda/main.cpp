// enwanda: the command-line tool. Registers every subcommand (one file each, <name>_command.cpp),
// parses, and runs the one given; every error becomes one line on stderr and an exit code
// (README, "Exit codes").
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/model_location.h"
#include "enwanda/model/blas_kernels.h"
#include "enwanda/model/runtime.h"
#include "command_line.h"
#include "console_output.h"
#include "subcommand.h"

using namespace enwanda;

namespace {

// CLI11 names a negated flag with its value, "--no-overlap{false}", which reads as if the default
// were false; help lists the names alone (the descriptions say which is the default).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, is_positional);
    for (auto open = name.find('{'); open != std::string::npos; open = name.find('{', open)) {
      auto close = name.find('}', open);
      if (close == std::string::npos) break;
      name.erase(open, close - open + 1);
    }
    return name;
  }
};

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

int run(int argc, char** argv) {
  const cli::ExpandedArgs expanded = cli::expand_config(std::vector<std::string>(argv + 1, argv + argc));
  const std::vector<std::string>& args = expanded.args;

  CLI::App app{"enwanda: prune LLaMA checkpoints with elastic-net Wanda, without retraining", "enwanda"};
  app.formatter(std::make_shared<HelpFormatter>());
  app.require_subcommand(1);
  app.set_version_flag("--version", ENWANDA_VERSION_STRING);
  cli::LoggingFlags logging;

  // in --help's order; `eval` groups the evaluations
  std::vector<std::pair<std::unique_ptr<cli::Subcommand>, CLI::App*>> commands;
  auto add = [&](std::unique_ptr<cli::Subcommand> c, CLI::App& parent) {
    CLI::App* sub = c->add_to(parent, logging);
    commands.emplace_back(std::move(c), sub);
  };
  add(cli::make_prune_command(), app);
  add(cli::make_calib_command(), app);
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint");
  eval->require_subcommand(1);
  add(cli::make_eval_ppl_command(), *eval);
  add(cli::make_eval_zeroshot_command(), *eval);
  add(cli::make_synth_command(), app);
  add(cli::make_inspect_command(), app);
  add(cli::make_tokenize_command(), app);
  add(cli::make_report_command(), app);
  add(cli::make_finetune_command(), app);

  if (args.empty()) {  // no subcommand: show what there is
    std::cerr << app.help();
    return static_cast<int>(ExitCode::usage);
  }
  cli::check_words_before_parsing(app, expanded);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }
  cli::Subcommand* command = nullptr;
  for (auto& [c, sub] : commands)
    if (sub->parsed()) command = c.get();
  if (!command) throw UsageError("no subcommand given");

  // --model: a checkpoint directory, a hub cache repository, or ORG/NAME in the hub cache
  std::vector<std::string> located_lines;
  for (std::string* model : command->model_paths()) {
    if (model->empty()) continue;
    const std::string located = locate_model(*model);
    if (located != *model) located_lines.push_back("--model " + *model + ": " + located);
    *model = located;
  }
  // the files of the run, which the log may not be
  std::vector<std::string> run_files = command->run_files();
  run_files.push_back(expanded.config_path);
  cli::setup_logging(logging.verbose, logging.quiet, logging.log_file, run_files);
  for (const auto& line : located_lines) spdlog::info("{}", line);
  spdlog::debug("{}", blas_kernels_description());

  command->run(cli::Invocation{joined_command_line(argc, argv)});
  check_interrupted();
  cli::finish_stdout();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_better_blas_kernels(argv);  // before anything else: OpenBLAS reads its kernel choice only at load
  cli::guard_standard_streams();
  install_interrupt_handlers();
  install_bus_error_handler();
  map_large_allocations();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    ErrorReport r = describe_exception(e);
    std::fprintf(stderr, "enwanda: error: %s\n", r.message.c_str());
    return static_cast<int>(r.code);
  } catch (...) {
    std::fprintf(stderr, "enwanda: error: unknown failure\n");
    return static_cast<int>(ExitCode::internal);
  }
}
