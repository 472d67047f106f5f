// Wanda and elastic-net Wanda: S_ij = |W_ij| · A_j with the activation scale A of score.h
// (Wanda: sqrt(L2sq_j); EN: α·L1_j + (1−α)·L2sq_j or α·L1_j + (1−α)·sqrt(L2sq_j)); in each row the
// floor(sparsity·in) lowest scores, or N:M per row.
#pragma once

#include "enwanda/prune/layer_method.h"

namespace enwanda {

// The row-wise (or N:M) mask of `scores` [out, in] that Wanda's family uses.
torch::Tensor wanda_family_mask(const torch::Tensor& scores, double sparsity, const Structure& structure);

class ActivationScoreMethod : public LayerMethod {
 public:
  explicit ActivationScoreMethod(const MethodOptions& opt) : opt_(opt) {}
  DenseNeeds needs() const override { return DenseNeeds{/*channel_stats=*/true, /*input_grams=*/false, /*dense_outputs=*/false}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
