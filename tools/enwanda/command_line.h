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
struct ConfigEntry {
  std::string key, flag;  // the preset's key and the flag it became
  std::string value;      // the JSON value as written, for messages
  bool boolean = false;   // true/false (a switch); anything else gives the option a value
};
struct ExpandedArgs {
  std::vector<std::string> args;
  std::string config_path;               // empty: no --config
  std::vector<ConfigEntry> from_config;
};
ExpandedArgs expand_config(const std::vector<std::string>& args);  // throws UsageError

// Throws UsageError naming an unknown or missing subcommand, a preset key that is not an option
// of the subcommand, or an unknown option (with the nearest real one). Leaves --help and
// --version to the parser.
void check_words_before_parsing(CLI::App& app, const ExpandedArgs& x);

// A floating-point option's check: the value parses as a number, is finite (no nan, inf) and lies
// in [lo, hi] (`hi_open`: [lo, hi); `lo_open`: (lo, hi]). `what` says the range in words.
CLI::Validator finite_in(double lo, double hi, const std::string& what, bool lo_open = false, bool hi_open = false);

}  // namespace enwanda::cli
