#include "enwanda/prune/methods/regional.h"

#include <numeric>
#include <random>

#include "enwanda/model/llama_model.h"
#include "enwanda/prune/methods/activation_score.h"

namespace enwanda {

nlohmann::json RegionalMethod::prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const {
  const torch::Tensor& hidden = *e.inputs;         // [N, T, H] the block's inputs
  const torch::Tensor& dense_out = *e.dense_outputs;  // [N, T, H] its dense outputs: RO's targets
  const LlamaConfig& cfg = e.model->config();
  const RegionalOptions& ro = opt_.regional;
  const int64_t n = hidden.size(0);
  const int64_t rgs_n = ro.rgs_samples > 0 ? std::min(ro.rgs_samples, n) : n;
  const auto& rope = e.model->rotary(hidden.size(1));

  std::array<torch::Tensor, 7> scale;  // A_j per linear
  for (size_t j = 0; j < scale.size(); ++j) scale[j] = activation_scale(opt_.method, opt_.geometry, opt_.alpha, e.stats[j]);
  auto prune_with = [&](LayerWeights& target, const std::array<torch::Tensor, 7>& grad_rms) {
    torch::NoGradGuard no_grad;
    for (size_t j = 0; j < target.linears.size(); ++j) {
      if (!targets[j]) continue;
      auto& W = target.linears[j];
      W.masked_fill_(wanda_family_mask(score_elastic_net(W, scale[j], grad_rms[j], ro.gamma), *targets[j], opt_.structure), 0.0);
    }
  };

  // regional gradient scores, then RO rounds each followed by pruning again
  nlohmann::json report;
  Tf32Matmuls tf32(ro.tf32);
  LayerWeights master = fp32_master(w);
  auto grad_rms = regional_gradient_rms(master, hidden, rgs_n, rope, cfg);
  prune_with(master, grad_rms);
  report["loss_before_ro"] = reconstruction_error(master, hidden, dense_out, rope, cfg);
  if (ro.ro && ro.ro_iters > 0) {
    std::vector<torch::Tensor> params;  // the linears being pruned; the others stay as they are
    for (size_t j = 0; j < master.linears.size(); ++j)
      if (targets[j]) params.push_back(master.linears[j]);
    torch::optim::RMSprop rmsprop(params, torch::optim::RMSpropOptions(ro.ro_lr));
    std::mt19937_64 rng(e.seed + static_cast<uint64_t>(e.layer));
    for (int64_t it = 0; it < ro.ro_iters; ++it) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      order.resize(static_cast<size_t>(std::min(ro.ro_samples, n)));
      regional_optimisation_round(master, rmsprop, hidden, dense_out, order, rope, cfg);
      grad_rms = regional_gradient_rms(master, hidden, rgs_n, rope, cfg);
      prune_with(master, grad_rms);  // the last round's pruning makes the final sparsity exact
    }
    report["loss_after_ro"] = reconstruction_error(master, hidden, dense_out, rope, cfg);
  }
  for (size_t j = 0; j < w.linears.size(); ++j)
    if (targets[j]) w.linears[j] = master.linears[j].detach().to(w.linears[j].scalar_type());
  return {{"regional", report}};
}

}  // namespace enwanda
