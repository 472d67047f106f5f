// RIA, Relative Importance and Activations (Zhang et al., ICLR 2024, "Plug-and-Play"):
//   S_ij = (|W_ij| / Σ_k |W_kj| + |W_ij| / Σ_k |W_ik|) · (sqrt(L2sq_j))^a
// the weight's share of its input column plus its share of its output row, times the input
// channel's activation norm to the power a (--ria-power, default 0.5). Unstructured: one threshold
// per matrix, every score at or below the value at index floor(sparsity·numel) of the ascending
// sort (the authors' lib/prune.py, prune_ria, without --per_outneuron); N:M per row as Wanda's.
// A column or row of zeros gives 0/0 = NaN scores, which count as the largest (kept).
#pragma once

#include "enwanda/prune/layer_method.h"

namespace enwanda {

// S [out, in] fp32 of weight [out, in] and sqrt_l2sq [in] (fp32).
torch::Tensor ria_scores(const torch::Tensor& weight, const torch::Tensor& sqrt_l2sq, double power);

class RiaMethod : public LayerMethod {
 public:
  explicit RiaMethod(const MethodOptions& opt) : opt_(opt) {}
  DenseNeeds needs() const override { return DenseNeeds{/*channel_stats=*/true, /*input_grams=*/false, /*dense_outputs=*/false}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
