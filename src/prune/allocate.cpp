#include "enwanda/prune/allocate.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

namespace enwanda {

namespace {
// OWL's first pass: the dense model layer by layer (each layer's inputs are the dense outputs of
// the one before), and each layer's outlier ratio D_l from its Wanda scores |W_ij|·sqrt(L2sq_j).
// With --load-stats the statistics come from the file and nothing runs through the model.
std::vector<double> owl_outlier_ratios(const LlamaModel& model, const torch::Tensor& tokens, const PruneOptions& opt,
                                       const StatsFileReader* stats_in) {
  const int64_t layers = model.config().num_hidden_layers;
  torch::Tensor hidden;  // [N, T, H]
  if (!stats_in) hidden = model.embed(tokens);
  std::vector<double> ratios;
  for (int64_t i = 0; i < layers; ++i) {
    check_interrupted();
    const LayerWeights w = model.layer(i);
    ActivationStats stats;
    if (!stats_in) {
      const InputObserver observe = stats.observer();
      model.forward_layer_in_place(w, hidden, &observe);
    }
    std::vector<torch::Tensor> scores;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const ChannelStats cs = stats_in ? stats_in->get(i, kLinearNames[j])
                                       : as_stored(stats.channel_stats(input_of_linear(static_cast<int>(j)), opt.stat_norm));
      scores.push_back(score_elastic_net(w.linears[j], activation_scale(Method::wanda, Geometry::modified, 0.0, cs)));
    }
    ratios.push_back(outlier_ratio(scores, opt.owl.m));
    spdlog::info("OWL pass [{:4}/{:4}] layer {}: outlier ratio {:.4f}%", i + 1, layers, i, ratios.back());
  }
  return ratios;
}
}  // namespace

LinearTargets LayerAllocation::targets_of(int64_t layer) const {
  const double layer_sparsity = sparsities[static_cast<size_t>(layer)];
  LinearTargets targets;
  for (size_t j = 0; j < targets.size(); ++j) {
    if (!pruned.pruned(layer, j)) continue;
    if (!type_sparsity[j]) targets[j] = layer_sparsity;
    else if (outlier_ratios.empty()) targets[j] = *type_sparsity[j];
    else targets[j] = *type_sparsity[j] * layer_sparsity / mean_sparsity;
  }
  return targets;
}

LayerAllocation allocate(const LlamaModel& model, const torch::Tensor& tokens, const PruneOptions& opt,
                         const StatsFileReader* stats_in, const PrunedLinears& pruned) {
  LayerAllocation a;
  a.sparsities.assign(static_cast<size_t>(model.config().num_hidden_layers), opt.sparsity);
  a.mean_sparsity = opt.sparsity;
  a.pruned = pruned;
  for (size_t j = 0; j < kLinearTypes.size(); ++j)
    if (auto it = opt.linears.sparsity_of.find(kLinearTypes[j]); it != opt.linears.sparsity_of.end())
      a.type_sparsity[j] = it->second;
  if (opt.allocation != Allocation::owl) return a;
  const auto t = std::chrono::steady_clock::now();
  a.outlier_ratios = owl_outlier_ratios(model, tokens, opt, stats_in);
  a.sparsities = owl_sparsities(a.outlier_ratios, opt.sparsity, opt.owl.lambda);
  for (size_t l = 0; l < a.sparsities.size(); ++l)
    if (a.sparsities[l] >= 1.0)
      throw UsageError("OWL gives layer " + std::to_string(l) + " sparsity " + std::to_string(a.sparsities[l]) +
                       " (>= 1); lower --owl-lambda or --sparsity");
  for (int64_t l = 0; l < static_cast<int64_t>(a.sparsities.size()); ++l) {
    const LinearTargets targets = a.targets_of(l);
    for (size_t j = 0; j < targets.size(); ++j)
      if (targets[j] && *targets[j] >= 1.0)
        throw UsageError("OWL scales --sparsity-of " + kLinearTypes[j] + " to " + std::to_string(*targets[j]) +
                         " (>= 1) in layer " + std::to_string(l) + "; lower --owl-lambda or that sparsity");
  }
  const auto [lo, hi] = std::minmax_element(a.sparsities.begin(), a.sparsities.end());
  spdlog::info("OWL: layer sparsities from {:.4f} to {:.4f} (mean {:.4f}), {:.1f} s", *lo, *hi, opt.sparsity,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  return a;
}

}  // namespace enwanda
