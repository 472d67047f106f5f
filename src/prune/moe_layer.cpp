#include "enwanda/prune/moe_layer.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "enwanda/model/device_memory.h"
#include "enwanda/prune/input_gram.h"
#include "enwanda/prune/mask.h"
#include "enwanda/prune/routed_stats.h"
#include "enwanda/prune/stats_file.h"

namespace enwanda {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// An expert no calibration token reached: |W| alone, per row (per group of M for N:M).
void prune_by_magnitude_rows(torch::Tensor& W, double sparsity, const Structure& s) {
  auto score = W.detach().to(torch::kFloat32).abs();
  W.masked_fill_(s.nm() ? row_mask_n_m(score, s.n, s.m) : row_mask_unstructured(score, sparsity), 0.0);
}
}  // namespace

std::vector<torch::Tensor> pruned_linears(const LayerWeights& w) {
  std::vector<torch::Tensor> out(w.linears.begin(), w.linears.begin() + 4);
  if (!w.is_moe()) {
    out.insert(out.end(), w.linears.begin() + 4, w.linears.end());
    return out;
  }
  for (const auto& e : w.moe.experts) out.insert(out.end(), {e.gate, e.up, e.down});
  if (w.moe.shared_gate.defined()) out.insert(out.end(), {w.moe.shared.gate, w.moe.shared.up, w.moe.shared.down});
  return out;
}

void MoeLayerPruner::prune(LayerWeights& w, const torch::Tensor& hidden, LayerOutcome& outcome) const {
  torch::NoGradGuard no_grad;
  const LlamaConfig& c = model_.config();
  const int64_t layer = outcome.layer, num_experts = c.moe.num_experts;
  const DenseNeeds needs = method_.needs();
  const bool stats_needed = dense_pass_ && needs.channel_stats, grams_needed = dense_pass_ && needs.input_grams;
  const int64_t sequences = dense_pass_ ? hidden.size(0) : 0, tokens = dense_pass_ ? hidden.size(0) * hidden.size(1) : 0;

  // the dense pass: the attention's inputs, every expert's routed tokens and channel statistics,
  // and for SparseGPT the block's inputs [b, T, hidden] per micro-batch
  auto t = Clock::now();
  ActivationStats stats;
  InputGrams grams;
  RoutedStats routed(num_experts, stats_needed);
  std::vector<torch::Tensor> block_inputs;
  if (dense_pass_) {
    const InputObserver observe = [&](LinearInput which, const torch::Tensor& x) {
      if (which == LinearInput::mlp) {  // the block's input: the router's and the experts'
        if (grams_needed) block_inputs.push_back(x);
        return;
      }
      if (stats_needed) stats.add(which, x);
      if (grams_needed) grams.add(which, x);
    };
    const ExpertObserver observe_experts = routed.observer();
    model_.observe_layer(w, hidden, observe, &observe_experts);
    routed.set_calibration(sequences, tokens);
  }
  double statistics_seconds = seconds_since(t), pruning_seconds = 0.0;

  // attention: q, k, v, o as in a dense layer
  t = Clock::now();
  LayerEvidence evidence;
  evidence.layer = layer;
  evidence.grams = &grams;
  evidence.inputs = &hidden;
  evidence.model = &model_;
  LinearTargets attention{}, experts{};
  for (int j = 0; j < 7; ++j) {
    (j < 4 ? attention : experts)[static_cast<size_t>(j)] = outcome.targets[static_cast<size_t>(j)];
    if (j < 4 && stats_needed) evidence.stats[static_cast<size_t>(j)] = as_stored(stats.channel_stats(input_of_linear(j), norm_));
  }
  method_.prune_layer(w, evidence, attention);
  pruning_seconds += seconds_since(t);

  // experts one by one (then the shared expert), each from its routed statistics
  const bool shared = w.moe.shared_gate.defined();
  nlohmann::json token_counts = nlohmann::json::array(), without_tokens = nlohmann::json::array();
  int64_t scarce = 0;  // experts with fewer than 1% of the layer's tokens
  for (int64_t e = 0; e < num_experts + (shared ? 1 : 0); ++e) {
    const int64_t expert = e < num_experts ? e : kSharedExpert;
    ExpertWeights& ex = expert == kSharedExpert ? w.moe.shared : w.moe.experts[static_cast<size_t>(expert)];
    const int64_t got = dense_pass_ ? routed.tokens_of(expert) : 0;
    if (dense_pass_ && expert != kSharedExpert) {
      token_counts.push_back(got);
      if (got == 0) without_tokens.push_back(expert);
      if (static_cast<double>(got) < 0.01 * static_cast<double>(tokens)) ++scarce;
    }
    t = Clock::now();
    if (dense_pass_ && got == 0) {
      torch::Tensor* linears[3] = {&ex.gate, &ex.up, &ex.down};
      for (size_t j = 0; j < 3; ++j)
        if (experts[4 + j]) prune_by_magnitude_rows(*linears[j], *experts[4 + j], structure_);
      pruning_seconds += seconds_since(t);
      continue;
    }
    LayerEvidence ev = evidence;
    InputGrams expert_grams;
    if (stats_needed) {
      ev.stats[4] = ev.stats[5] = as_stored(routed.channel_stats(expert, /*down=*/false, norm_));
      ev.stats[6] = as_stored(routed.channel_stats(expert, /*down=*/true, norm_));
    }
    if (grams_needed) {  // this expert's Gram matrices, from the block inputs the dense pass kept
      RoutedStats one(num_experts, /*channel_stats=*/false, expert);
      const ExpertObserver add = one.observer();
      for (const auto& x : block_inputs) observe_expert(w.moe, x, c.moe, expert, add);
      one.set_calibration(sequences, tokens);
      expert_grams.set_hessian(LinearInput::mlp, one.hessian(expert, /*down=*/false));
      expert_grams.set_hessian(LinearInput::down_proj, one.hessian(expert, /*down=*/true));
      ev.grams = &expert_grams;
      statistics_seconds += seconds_since(t);
      t = Clock::now();
    }
    LayerWeights one;  // the expert in a dense layer's MLP slots
    one.linears[4] = ex.gate, one.linears[5] = ex.up, one.linears[6] = ex.down;
    method_.prune_layer(one, ev, experts);
    ex = {one.linears[4], one.linears[5], one.linears[6]};
    pruning_seconds += seconds_since(t);
  }
  outcome.seconds["statistics"] = statistics_seconds;
  outcome.seconds["pruning"] = pruning_seconds;
  if (!dense_pass_) return;

  if (scarce * 4 > num_experts)
    spdlog::warn("layer {}: {} of {} experts got fewer than 1% of the {} calibration tokens ({} got none): the "
                 "calibration set is too small for this model; give more --nsamples",
                 layer, scarce, num_experts, tokens, without_tokens.size());
  nlohmann::json report = {{"tokens_per_expert", token_counts}, {"experts_without_tokens", without_tokens},
                           {"calibration_tokens", tokens}};
  if (shared) report["shared_expert_tokens"] = routed.tokens_of(kSharedExpert);
  // the process's peak memory once this layer is pruned (a layer is what is resident)
  report["peak_rss_mib"] = peak_rss_mib();
  if (model_.runtime().cuda())
    report["peak_device_memory_mib"] = peak_device_memory(model_.runtime().device).allocated_bytes / 1048576.0;
  outcome.method_report = {{"experts", report}};
}

}  // namespace enwanda
