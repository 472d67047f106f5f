#include "enwanda/prune/linear_selection.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "enwanda/errors.h"
#include "enwanda/model/tensor_names.h"

namespace enwanda {

const std::array<std::string, 7> kLinearTypes = {"q", "k", "v", "o", "gate", "up", "down"};

namespace {
const std::string kRegexPrefix = "re:";

using Code = std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)>;

Code compile(const std::string& regex, const std::string& flag, const std::string& pattern) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(), 0, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw UsageError(flag + " " + pattern + ": the regular expression does not compile at offset " +
                     std::to_string(offset) + ": " + reinterpret_cast<char*>(msg));
  }
  return Code(code, &pcre2_code_free);
}

// Python's re.match: a match that starts at the name's first character (it may end before the last).
bool matches_from_start(const pcre2_code* code, const std::string& name) {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(name.data()), name.size(), 0, PCRE2_ANCHORED, md, nullptr);
  pcre2_match_data_free(md);
  return rc >= 0;
}

// One pattern, compiled once.
class Pattern {
 public:
  Pattern(const std::string& pattern, const std::string& flag) : text_(pattern), code_(nullptr, &pcre2_code_free) {
    if (pattern.rfind(kRegexPrefix, 0) == 0) code_ = compile(pattern.substr(kRegexPrefix.size()), flag, pattern);
  }
  bool matches(const std::string& name) const {
    if (code_) return matches_from_start(code_.get(), name);
    return text_ == "Linear" || text_ == name;
  }

 private:
  std::string text_;
  Code code_;
};
}  // namespace

std::pair<std::string, double> parse_sparsity_of(const std::string& arg) {
  const auto eq = arg.find('=');
  const std::string types = "q, k, v, o, gate, up or down";
  if (eq == std::string::npos)
    throw UsageError("--sparsity-of takes TYPE=S (TYPE one of " + types + "), got " + arg);
  const std::string type = arg.substr(0, eq), value = arg.substr(eq + 1);
  bool known = false;
  for (const auto& t : kLinearTypes) known = known || t == type;
  if (!known) throw UsageError("--sparsity-of " + arg + ": unknown linear type " + type + " (one of " + types + ")");
  char* end = nullptr;
  const double s = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(s >= 0.0 && s < 1.0))
    throw UsageError("--sparsity-of " + arg + ": the sparsity must be a number in [0, 1)");
  return {type, s};
}

bool linear_matches(const std::string& pattern, const std::string& name, const std::string& flag) {
  return Pattern(pattern, flag).matches(name);
}

PrunedLinears::PrunedLinears(const LinearSelection& selection, int64_t layers) {
  if (selection.selects_all()) return;
  std::vector<Pattern> targets, ignore;
  for (const auto& p : selection.targets) targets.emplace_back(p, "--targets");
  for (const auto& p : selection.ignore) ignore.emplace_back(p, "--ignore");
  std::vector<bool> target_used(targets.size(), false), ignore_used(ignore.size(), false);
  selected_.assign(static_cast<size_t>(layers), {});
  for (int64_t i = 0; i < layers; ++i)
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = "model.layers." + std::to_string(i) + "." + kLinearNames[j];
      bool targeted = targets.empty();
      for (size_t t = 0; t < targets.size(); ++t)
        if (targets[t].matches(name)) targeted = true, target_used[t] = true;
      bool ignored = false;
      for (size_t g = 0; g < ignore.size(); ++g)
        if (ignore[g].matches(name)) ignored = true, ignore_used[g] = true;
      selected_[static_cast<size_t>(i)][j] = targeted && !ignored;
    }
  const std::string example = "model.layers.0.self_attn.q_proj";
  auto unmatched = [&](const std::string& flag, const std::string& pattern) {
    const bool regex = pattern.rfind(kRegexPrefix, 0) == 0;
    return UsageError(flag + " " + pattern + " matches no linear of the checkpoint (" + std::to_string(layers) +
                      " layers; names like " + example + ")" +
                      (regex ? "" : "; without the re: prefix a pattern is an exact name, re:REGEX a regular expression"));
  };
  for (size_t t = 0; t < targets.size(); ++t)
    if (!target_used[t]) throw unmatched("--targets", selection.targets[t]);
  for (size_t g = 0; g < ignore.size(); ++g)
    if (!ignore_used[g]) throw unmatched("--ignore", selection.ignore[g]);
  // a sparsity for a type that nothing selected would be recorded and never applied
  for (const auto& [type, s] : selection.sparsity_of) {
    const size_t j = static_cast<size_t>(std::find(kLinearTypes.begin(), kLinearTypes.end(), type) - kLinearTypes.begin());
    bool any = false;
    for (const auto& layer : selected_) any = any || (j < layer.size() && layer[j]);
    if (!any)
      throw UsageError("--sparsity-of " + type + "=" + std::to_string(s).substr(0, 6) + " sets the sparsity of " +
                       kLinearNames[j] + ", which --targets/--ignore leave dense in every layer; drop it, or select those linears");
  }
}

int64_t PrunedLinears::count() const {
  if (selected_.empty()) return -1;
  int64_t n = 0;
  for (const auto& layer : selected_)
    for (bool s : layer) n += s;
  return n;
}

}  // namespace enwanda
