#include "enwanda/prune/methods/magnitude.h"

namespace enwanda {

nlohmann::json MagnitudeMethod::prune_layer(LayerWeights& w, const LayerEvidence&, const LinearTargets& targets) const {
  torch::NoGradGuard no_grad;
  const Structure& st = opt_.structure;
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j]) continue;
    auto& W = w.linears[j];
    auto mask = st.nm() ? row_mask_n_m(W.detach().to(torch::kFloat32).abs(), st.n, st.m) : matrix_mask_magnitude(W, *targets[j]);
    W.masked_fill_(mask, 0.0);
  }
  return nullptr;
}

}  // namespace enwanda
