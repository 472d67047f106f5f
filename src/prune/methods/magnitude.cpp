#include "enwanda/prune/methods/magnitude.h"

namespace enwanda {

nlohmann::json MagnitudeMethod::prune_layer(LayerWeights& w, const LayerEvidence&, double sparsity) const {
  torch::NoGradGuard no_grad;
  const Structure& st = opt_.structure;
  for (auto& W : w.linears) {
    auto mask = st.nm() ? row_mask_n_m(W.detach().to(torch::kFloat32).abs(), st.n, st.m) : matrix_mask_magnitude(W, sparsity);
    W.masked_fill_(mask, 0.0);
  }
  return nullptr;
}

}  // namespace enwanda
