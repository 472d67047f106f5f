// What the words on enwanda's command line name, settled before CLI11 parses them: a --config
// preset expanded into flags, the subcommand looked up (an unknown or missing one named with the
// ones there are), and every preset key and option checked against that subcommand's options (a
// mistyped one named with the nearest). CLI11 alone would say "A subcommand is required" or,
// for "prune --modle m", "--model is required".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace enwanda::cli {

// --config FILE.json: keys are long option names of the subcommand ("eval ppl" takes a preset
// too). Values become flags placed right after the subcommand, and only for options the command
// line does not give, so the command line's flags override the preset's.
struct ExpandedArgs {
  std::vector<std::string> args;
  std::string config_path;                                       // empty: no --config
  std::vector<std::pair<std::string, std::string>> from_config;  // key, the flag it became
};
ExpandedArgs expand_config(const std::vector<std::string>& args);  // throws UsageError

// Throws UsageError naming an unknown or missing subcommand, a preset key that is not an option
// of the subcommand, or an unknown option (with the nearest real one). Leaves --help and
// --version to the parser.
void check_words_before_parsing(CLI::App& app, const ExpandedArgs& x);

}  // namespace enwanda::cli
