#include "enwanda/prune/methods/activation_score.h"

namespace enwanda {

torch::Tensor wanda_family_mask(const torch::Tensor& scores, double sparsity, const Structure& structure) {
  return structure.nm() ? row_mask_n_m(scores, structure.n, structure.m) : row_mask_unstructured(scores, sparsity);
}

nlohmann::json ActivationScoreMethod::prune_layer(LayerWeights& w, const LayerEvidence& e,
                                                  const LinearTargets& targets) const {
  torch::NoGradGuard no_grad;
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j]) continue;
    const double sparsity = *targets[j];
    auto& W = w.linears[j];
    const auto scale = activation_scale(opt_.method, opt_.geometry, opt_.alpha, e.stats[j]);  // A_j [in]
    W.masked_fill_(wanda_family_mask(score_elastic_net(W, scale), sparsity, opt_.structure), 0.0);
  }
  return nullptr;
}

}  // namespace enwanda
