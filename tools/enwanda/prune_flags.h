// Flags of `enwanda prune` given (on the command line or by --config) that the chosen method,
// structure or allocation would ignore are refused: an α sweep over --method wanda would otherwise
// write identical models, and --method magnitude would tokenise calibration it never reads.
#pragma once

#include <CLI/CLI.hpp>

#include "enwanda/prune/pruner.h"

namespace enwanda::cli {

// --calib-field NAME (a JSON-lines record's text) and --calib-max-mib N (per file, read or
// inflated) of prune and calib; the MiB land in `max_mib`.
// --PREFIX-field and --PREFIX-max-mib (prefix "calib" for calibration text, "data" for evaluation text)
void add_text_reading_flags(CLI::App* sub, TextReadOptions& text, int64_t& max_mib, const std::string& prefix);

// Throws UsageError for a flag without effect; calibration flags given to a method that reads none
// are the exception: one warning, the calibration inputs cleared, and po.calibration_ignored set.
void refuse_flags_without_effect(const CLI::App& prune, PruneOptions& po, bool no_ro);

// The calibration set's size, checked without overflow before anything is drawn: nsamples ×
// calib-mult windows of seqlen tokens, at most kMaxCalibrationTokens in all (prune and calib).
constexpr int64_t kMaxCalibrationTokens = int64_t{1} << 31;
void check_calibration_size(const CalibrationOptions& c);  // throws UsageError

}  // namespace enwanda::cli
