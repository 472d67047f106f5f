#include "command_line.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"

namespace enwanda::cli {

std::string protocol_preset_path(const std::string& name) {
  if (name != "wanda" && name != "sparsegpt") throw UsageError("--protocol must be wanda or sparsegpt, got " + name);
  const std::string file = "protocol-" + name + ".json";
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "enwanda" / "configs" / file;
    if (std::filesystem::exists(installed)) return installed.string();
  }
  // the source tree's configs/, for a binary run from its build directory
  return (std::filesystem::path(ENWANDA_SOURCE_CONFIGS) / file).string();
}

ExpandedArgs expand_config(const std::vector<std::string>& args) {
  ExpandedArgs x;
  std::vector<std::string> rest;
  std::string protocol;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) x.config_path = args[++i];
    else if (args[i].rfind("--config=", 0) == 0) x.config_path = args[i].substr(9);
    else if (args[i] == "--protocol" && i + 1 < args.size()) protocol = args[i + 1], rest.push_back(args[i]), rest.push_back(args[++i]);
    else if (args[i].rfind("--protocol=", 0) == 0) protocol = args[i].substr(11), rest.push_back(args[i]);
    else rest.push_back(args[i]);
  }
  if (!protocol.empty() && !x.config_path.empty()) throw UsageError("give --protocol or --config, not both");
  if (!protocol.empty()) x.config_path = protocol_preset_path(protocol);
  if (x.config_path.empty()) {
    x.args = args;
    return x;
  }
  std::ifstream in(x.config_path);
  if (!in) throw UsageError("--config " + x.config_path + ": cannot read");
  nlohmann::json j;
  try {
    j = parse_json(in, "--config " + x.config_path);
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
  if (!j.is_object()) throw UsageError("--config " + x.config_path + ": expected a JSON object of option names");
  if (!protocol.empty()) {  // a protocol preset: one section per subcommand
    std::string sub = rest.empty() ? "" : rest[0];
    if (sub == "eval" && rest.size() > 1) sub += " " + rest[1];
    if (!j.contains(sub))
      throw UsageError("--protocol " + protocol + " applies to prune, calib and eval ppl, not " + (sub.empty() ? "(none)" : sub));
    j = nlohmann::json(j[sub]);
  }
  auto given = [&](const std::string& key) {
    for (const auto& a : rest)
      if (a == "--" + key || a.rfind("--" + key + "=", 0) == 0 || a == "--no-" + key) return true;
    if (key.rfind("no-", 0) == 0)
      for (const auto& a : rest)
        if (a == "--" + key.substr(3)) return true;
    return false;
  };
  size_t path_len = std::min<size_t>(rest.size(), 1);
  if (!rest.empty() && rest[0] == "eval" && rest.size() > 1) path_len = 2;
  x.args.assign(rest.begin(), rest.begin() + path_len);  // the subcommand ("eval ppl"), then the preset
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key.rfind("_", 0) == 0 || given(key)) continue;  // "_comment" keys are ignored
    const auto& v = it.value();
    auto flag = [&](const std::string& name) {
      x.args.push_back(name);
      x.from_config.push_back({key, name, v.dump(), v.is_boolean()});
    };
    if (v.is_boolean()) {
      flag(v.get<bool>() ? "--" + key : "--no-" + key);
    } else if (v.is_object() || v.is_null()) {
      throw UsageError("--config " + x.config_path + ": \"" + key + "\" is " + v.dump() +
                       "; expected a string, a number, true/false or a list of them");
    } else if (v.is_array()) {
      for (const auto& e : v) flag("--" + key), x.args.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    } else {
      flag("--" + key);
      x.args.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  x.args.insert(x.args.end(), rest.begin() + path_len, rest.end());
  return x;
}

namespace {

// The subcommand the words name ("eval ppl"), found before parsing so that an unknown or missing
// one is named with the ones there are (CLI11 would only say "A subcommand is required"). Returns
// nullptr for --help or --version, which the parser answers.
CLI::App* named_subcommand(CLI::App& app, const std::vector<std::string>& args, std::string& path) {
  CLI::App* sub = &app;
  path = "enwanda";
  for (size_t i = 0;; ++i) {
    auto children = sub->get_subcommands([](CLI::App*) { return true; });
    if (children.empty()) return sub;
    std::string names;
    for (auto* c : children) names += (names.empty() ? "" : ", ") + c->get_name();
    if (i < args.size() && (args[i] == "-h" || args[i] == "--help" || args[i] == "--version")) return nullptr;
    if (i == args.size() || args[i].rfind("-", 0) == 0) throw UsageError(path + " needs a subcommand: " + names);
    auto it = std::find_if(children.begin(), children.end(), [&](CLI::App* c) { return c->get_name() == args[i]; });
    if (it == children.end()) throw UsageError("unknown subcommand \"" + args[i] + "\" of " + path + "; there are: " + names);
    sub = *it;
    path += " " + args[i];
  }
}

// A preset key that is no option of the subcommand is named, rather than left to the parser's
// "arguments were not expected".
void check_config_keys(const CLI::App& sub, const std::string& path, const ExpandedArgs& x) {
  for (const auto& e : x.from_config) {
    const CLI::Option* opt = sub.get_option_no_throw(e.flag);
    if (!opt)
      throw UsageError("--config " + x.config_path + ": \"" + e.key + "\" is not an option of " + path +
                       " (keys are its long option names without the dashes)");
    const bool is_switch = opt->get_expected_max() == 0;  // a flag takes no value (CLI11: expected(0))
    if (is_switch && !e.boolean)
      throw UsageError("--config " + x.config_path + ": \"" + e.key + "\" is a switch: expected true or false, got " +
                       e.value);
    if (!is_switch && e.boolean)
      throw UsageError("--config " + x.config_path + ": \"" + e.key + "\" takes a value (" +
                       (opt->get_type_name().empty() ? "TEXT" : opt->get_type_name()) + "), not " + e.value);
  }
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A mistyped option is named, with the nearest one, before the parser sees it: CLI11 reports a
// missing required option first, so "prune --modle m" would say "--model is required".
void check_option_names(const CLI::App& sub, const std::string& path, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a.rfind("--", 0) != 0 || a.size() < 3) continue;
    const std::string name = a.substr(0, a.find('='));
    if (sub.get_option_no_throw(name)) continue;
    std::string nearest;
    size_t best = 3;  // suggest only what is at most two edits away
    for (const CLI::Option* opt : sub.get_options())
      for (const auto& long_name : opt->get_lnames())
        if (size_t d = edit_distance(name, "--" + long_name); d < best) best = d, nearest = "--" + long_name;
    throw UsageError("unknown option " + name + " of " + path +
                     (nearest.empty() ? "; see " + path + " --help" : "; did you mean " + nearest + "?"));
  }
}

}  // namespace

namespace {
// An integer option's text: decimal digits with an optional sign ('-' only where the type is
// signed), and within 64 bits. CLI11 converts with strtoll/strtoull, which clamp an overflow to
// the largest value (--seed 2^64+5 ran as 2^63-1), wrap "-1" into an unsigned 2^64-1 and read
// "010" as octal 8.
std::string integer_text_error(const std::string& text, bool is_unsigned) {
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) i = 1;
  if (i == text.size() || text.find_first_not_of("0123456789", i) != std::string::npos)
    return "\"" + text + "\" is not a decimal integer";
  if (negative && is_unsigned) return text + " is negative; expected an integer >= 0";
  uint64_t magnitude = 0;
  bool overflow = false;
  for (size_t k = i; k < text.size() && !overflow; ++k)
    overflow = __builtin_mul_overflow(magnitude, uint64_t{10}, &magnitude) ||
               __builtin_add_overflow(magnitude, static_cast<uint64_t>(text[k] - '0'), &magnitude);
  const uint64_t limit = is_unsigned ? UINT64_MAX : negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (overflow || magnitude > limit)
    return text + " is out of range; expected an integer in [" + (is_unsigned ? "0" : "-9223372036854775808") + ", " +
           (is_unsigned ? "18446744073709551615" : "9223372036854775807") + "] (larger ones are refused, not clamped)";
  return "";
}

void check_integer_options(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    if (type != "INT" && type != "UINT") continue;
    const bool is_unsigned = type == "UINT";
    opt->check(CLI::Validator([is_unsigned](std::string& text) { return integer_text_error(text, is_unsigned); }, "", ""));
  }
  for (CLI::App* sub : app.get_subcommands({})) check_integer_options(*sub);
}
}  // namespace

void check_words_before_parsing(CLI::App& app, const ExpandedArgs& x) {
  check_integer_options(app);
  std::string path;
  if (const CLI::App* sub = named_subcommand(app, x.args, path)) {
    check_config_keys(*sub, path, x);
    check_option_names(*sub, path, x.args);
  }
}

CLI::Validator finite_in(double lo, double hi, const std::string& what, bool lo_open, bool hi_open) {
  auto check = [=](std::string& text) -> std::string {
    double v = 0;
    size_t used = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty()) return "\"" + text + "\" is not a number; expected " + what;
    if (!std::isfinite(v)) return text + " is not a finite number; expected " + what;
    if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi)) {
      std::string msg = text + " is out of range; expected " + what;
      if (what.find("fraction") != std::string::npos && v > 1.0 && v <= 100.0) msg += " (a fraction: 0.5 for 50%)";
      return msg;
    }
    return "";
  };
  return CLI::Validator(check, what, "FINITE");
}

}  // namespace enwanda::cli
