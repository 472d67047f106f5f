// Which linears are pruned, and to which sparsity: llm-compressor's `targets` and `ignore`
// (compressed-tensors, src/compressed_tensors/utils/match.py: match_name, match_named_modules),
// applied to the checkpoint's linear names without ".weight" (model.layers.3.self_attn.q_proj),
// and a sparsity per linear type (--sparsity-of).
//   "re:REGEX"  matches a name the regular expression matches from its start, as Python's
//               re.match does (anchored at the start, not at the end); PCRE2 syntax
//   "Linear"    matches every linear (llm-compressor also matches a module's class name)
//   otherwise   matches the one name equal to it
// A linear is pruned when it matches a --targets pattern (any linear without --targets) and no
// --ignore pattern; the others are written byte for byte as the input holds them. A pattern that
// matches no linear of the checkpoint is an error naming it, raised before any work.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace enwanda {

// The linear types of --sparsity-of, in kLinearNames order: q, k, v, o, gate, up, down.
extern const std::array<std::string, 7> kLinearTypes;

struct LinearSelection {
  std::vector<std::string> targets;           // --targets; empty: every linear
  std::vector<std::string> ignore;            // --ignore
  std::map<std::string, double> sparsity_of;  // --sparsity-of TYPE=S, by type

  bool selects_all() const { return targets.empty() && ignore.empty(); }
};

// "gate=0.6" -> {"gate", 0.6}; throws UsageError for an unknown type or a value outside [0, 1).
std::pair<std::string, double> parse_sparsity_of(const std::string& arg);

// Whether `pattern` (one of the three forms above) matches the linear `name`. Throws UsageError
// naming `flag` when a re: pattern does not compile.
bool linear_matches(const std::string& pattern, const std::string& name, const std::string& flag);

// The selection resolved against a checkpoint of `layers` decoder layers.
class PrunedLinears {
 public:
  PrunedLinears() = default;  // every linear of every layer
  // Throws UsageError naming the first pattern that matches no linear.
  PrunedLinears(const LinearSelection& selection, int64_t layers);
  bool pruned(int64_t layer, size_t linear) const {
    return selected_.empty() || selected_[static_cast<size_t>(layer)][linear];
  }
  int64_t count() const;  // pruned linears; -1 when every linear is

 private:
  std::vector<std::array<bool, 7>> selected_;  // [layers][linear]; empty: all
};

}  // namespace enwanda
