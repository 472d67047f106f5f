#include "prune_flags.h"

#include <cmath>
#include <string>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

namespace enwanda::cli {

void check_calibration_size(const CalibrationOptions& c) {
  if (c.nsamples <= 0 || c.seqlen < 2 || c.calib_mult <= 0)
    throw UsageError("--nsamples and --calib-mult must be positive and --seqlen at least 2");
  int64_t tokens = 0;
  if (__builtin_mul_overflow(c.nsamples, c.calib_mult, &tokens) || __builtin_mul_overflow(tokens, c.seqlen, &tokens) ||
      tokens > kMaxCalibrationTokens)
    throw UsageError("--nsamples " + std::to_string(c.nsamples) + " x --calib-mult " + std::to_string(c.calib_mult) +
                     " x --seqlen " + std::to_string(c.seqlen) + " calibration tokens is over the limit of " +
                     std::to_string(kMaxCalibrationTokens) + " (2^31)");
}

void add_text_reading_flags(CLI::App* sub, TextReadOptions& text, int64_t& max_mib, const std::string& prefix) {
  const std::string what = prefix == "calib" ? "calibration" : "text";
  text.limit_flag = "--" + prefix + "-max-mib";
  sub->add_option("--" + prefix + "-field", text.field, "the field of JSON-lines records that holds the text")->capture_default_str();
  sub->add_option(text.limit_flag, max_mib,
                  "refuse a " + what + " file holding more MiB than this, read or decompressed (a gzip bomb stops here)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
}

void refuse_flags_without_effect(const CLI::App& prune, PruneOptions& po, bool no_ro) {
  auto given = [&](const char* flag) { return prune.count(flag) > 0; };
  const std::string method = method_name(po.method);
  if (!uses_elastic_net(po.method))
    for (const char* flag : {"--alpha", "--geometry"})
      if (given(flag))
        throw UsageError(std::string(flag) + " applies to --method en and en++ only; --method " + method +
                         " has no elastic-net scale (drop the flag, or the --config key that sets it)");
  if (!uses_regional_gradients(po.method))
    for (const char* flag : {"--rgs-scale", "--rgs-samples", "--no-ro", "--ro-iters", "--ro-samples", "--ro-lr"})
      if (given(flag))
        throw UsageError(std::string(flag) + " applies to --method wanda++ and en++ only, not --method " + method);
  if (po.method != Method::sparsegpt)
    for (const char* flag : {"--sparsegpt-damp", "--sparsegpt-block"})
      if (given(flag)) throw UsageError(std::string(flag) + " applies to --method sparsegpt only, not --method " + method);
  if (po.method != Method::ria && given("--ria-power"))
    throw UsageError("--ria-power applies to --method ria only, not --method " + method);
  if (po.method != Method::dsnot)
    for (const char* flag : {"--dsnot-cycles", "--dsnot-threshold", "--dsnot-pow-var", "--dsnot-skip"})
      if (given(flag)) throw UsageError(std::string(flag) + " applies to --method dsnot only, not --method " + method);
  if (po.method != Method::alps)
    for (const char* flag : {"--alps-rho", "--alps-iters"})
      if (given(flag)) throw UsageError(std::string(flag) + " applies to --method alps only, not --method " + method);
  if (po.allocation != Allocation::owl)
    for (const char* flag : {"--owl-m", "--owl-lambda"})
      if (given(flag)) throw UsageError(std::string(flag) + " applies to --allocation owl only");
  // magnitude reads no activations: statistics files have nothing to hold. Calibration flags are
  // the one exception to the refusal of flags without effect: loops over methods (sweeps, the demo)
  // pass the same calibration to every method, so they are accepted with one warning, not read, and
  // the report records that calibration was not used (under OWL the outlier ratios do read it).
  if (!uses_activations(po.method) && po.allocation != Allocation::owl) {
    for (const char* flag : {"--save-stats", "--load-stats"})
      if (given(flag))
        throw UsageError(std::string(flag) + " has no effect with --method " + method +
                         " (it reads no activations; only --allocation owl does)");
    std::string ignored;
    for (const char* flag : {"--protocol", "--calib", "--calib-tokens", "--nsamples", "--seqlen", "--seed", "--calib-mult",
                             "--calib-sampling", "--calib-field", "--calib-max-mib", "--rows", "--split-special-tokens", "--stat-norm",
                             "--allow-untrained-positions"})
      if (given(flag)) {
        ignored += (ignored.empty() ? "" : ", ") + std::string(flag);
        po.calibration_ignored.push_back(flag);
      }
    if (!ignored.empty()) {
      spdlog::warn("{}: no effect with --method {}, which reads no calibration data (only --allocation owl does); "
                   "not read, and the report records calibration as not used", ignored, method);
      po.calib.text_paths.clear();
      po.calib.tokens_path.clear();
    }
  }
  if (no_ro)
    for (const char* flag : {"--ro-iters", "--ro-samples", "--ro-lr"})
      if (given(flag)) throw UsageError(std::string(flag) + " has no effect with --no-ro");
  if (po.structure.nm() && given("--sparsity")) {
    const double implied = static_cast<double>(po.structure.n) / static_cast<double>(po.structure.m);
    if (std::abs(po.sparsity - implied) > 1e-9)
      throw UsageError("--structure " + po.structure.str() + " prunes " + std::to_string(po.structure.n) + " of every " +
                       std::to_string(po.structure.m) + " weights (sparsity " + CLI::detail::to_string(implied) +
                       "); --sparsity " + CLI::detail::to_string(po.sparsity) + " contradicts it");
  }
}

}  // namespace enwanda::cli
