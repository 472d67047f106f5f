#include "enwanda/prune/methods/ria.h"

#include <cmath>

namespace enwanda {

torch::Tensor ria_scores(const torch::Tensor& weight, const torch::Tensor& sqrt_l2sq, double power) {
  const auto a = weight.detach().to(torch::kFloat32).abs();  // [out, in]
  // share of its column (Σ over the rows k) + share of its row (Σ over the columns k)
  auto relative = a / a.sum(0, /*keepdim=*/true) + a / a.sum(1, /*keepdim=*/true);
  return relative * sqrt_l2sq.to(a.device(), torch::kFloat32).pow(power).unsqueeze(0);
}

nlohmann::json RiaMethod::prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const {
  torch::NoGradGuard no_grad;
  const Structure& st = opt_.structure;
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j] || (!st.nm() && *targets[j] <= 0.0)) continue;
    const double sparsity = *targets[j];
    auto& W = w.linears[j];
    const auto scores = ria_scores(W, e.stats[j].l2sq.sqrt().to(torch::kFloat32), opt_.ria.power);
    const auto index = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(scores.numel())));
    W.masked_fill_(st.nm() ? row_mask_n_m(scores, st.n, st.m) : matrix_mask_at_or_below(scores, index), 0.0);
  }
  return nullptr;
}

}  // namespace enwanda
