#include "enwanda/prune/layer_log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "enwanda/model/tensor_names.h"
#include "enwanda/prune/prune_report.h"
#include "enwanda/progress_log.h"

namespace enwanda {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ", about 20 min left" after `done` of `total` layers in `elapsed` seconds (the layers left at the
// mean time of those done); "" after the last.
std::string time_left(double elapsed, int64_t done, int64_t total) {
  if (done >= total) return "";
  return ", about " + format_duration(elapsed / static_cast<double>(done) * static_cast<double>(total - done)) + " left";
}

// `elapsed`: seconds since the first layer began. "\033[K" clears what a longer previous line left.
void draw_progress(int64_t done, int64_t total, double elapsed) {
  const int width = 30;
  int filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
  const std::string left = time_left(elapsed, done, total);
  std::fprintf(stderr, "\r[%s%s] %lld/%lld layers, %s%s\033[K", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total),
               format_duration(elapsed).c_str(), left.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}
}  // namespace

void LayerProgress::walk_begins(int64_t layers) {
  layers_ = layers;
  terminal_ = isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
  start_ = std::chrono::steady_clock::now();
}

void LayerProgress::layer_done(const LayerOutcome& o) {
  zeros_ += o.zeros_total();
  weights_ += o.weights_total();
  const int64_t done = o.layer + 1;
  if (terminal_) {
    draw_progress(done, layers_, seconds_since(start_));
  } else {
    spdlog::info("[{:4}/{:4}] layer {}: {:.4f} sparsity, {:.2f} s{}", done, layers_, o.layer,
                 static_cast<double>(zeros_) / std::max<int64_t>(weights_, 1), o.total_seconds,
                 time_left(seconds_since(start_), done, layers_));
  }
}

bool LayerCutsLog::wants_dense_linears() const { return spdlog::should_log(spdlog::level::debug); }

void LayerCutsLog::layer_done(const LayerOutcome& o) {
  if (!o.dense || !spdlog::should_log(spdlog::level::debug)) return;
  for (size_t j = 0; j < kLinearNames.size(); ++j) {
    if (!(*o.dense)[j].defined()) continue;  // an MoE layer's MLP: its experts below, by their checkpoint names
    // the cut in magnitude: the largest |w| pruned and the smallest |w| kept (methods score by
    // more than magnitude, so the two overlap except for magnitude pruning)
    auto before = (*o.dense)[j].abs().to(torch::kFloat32);
    const auto& after = o.pruned->linears[j];
    auto pruned = after.eq(0).logical_and(before.ne(0));
    const double largest_pruned = pruned.any().item<bool>() ? before.masked_select(pruned).max().item<double>() : 0.0;
    auto kept = after.ne(0);
    const double smallest_kept = kept.any().item<bool>() ? before.masked_select(kept).min().item<double>() : 0.0;
    spdlog::debug("layer {} {}: sparsity {:.4f}, largest |w| pruned {:.4g}, smallest |w| kept {:.4g}", o.layer,
                  kLinearNames[j], o.linear_sparsity(j), largest_pruned, smallest_kept);
  }
  // an MoE layer: each expert linear as the checkpoint names it ("block_sparse_moe.experts.3.w1")
  for (const auto& cl : o.checkpoint_linears)
    if (report_linear_key(cl.suffix).first >= 0)
      spdlog::debug("layer {} {}: sparsity {:.4f}", o.layer, cl.suffix,
                    static_cast<double>(cl.zeros) / static_cast<double>(std::max<int64_t>(cl.weights, 1)));
  const auto& s = o.seconds;
  const double achieved = static_cast<double>(o.zeros_total()) / static_cast<double>(std::max<int64_t>(o.weights_total(), 1));
  spdlog::debug("layer {}: target sparsity {:.4f}, achieved {:.4f}; seconds: load {:.3f}, statistics {:.3f}, "
                "pruning {:.3f}, writing {:.3f}, next inputs {:.3f}",
                o.layer, o.sparsity, achieved, s.at("load"), s.at("statistics"), s.at("pruning"), s.at("writing"),
                s.at("next inputs"));
}

}  // namespace enwanda
