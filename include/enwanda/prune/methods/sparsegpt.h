// SparseGPT (Frantar & Alistarh, ICML 2023), as IST-DASLab/sparsegpt's fasterprune does it, per
// linear, from H = (2/N)·Σ XᵀX of its dense-pass inputs (input_gram.h):
//   dead columns (H_jj = 0): H_jj := 1, W[:, j] := 0
//   H += λ·mean(diag H)·I; Hinv = the upper Cholesky factor of H⁻¹   (λ = --sparsegpt-damp)
//   columns in blocks of B (--sparsegpt-block); at the start of a block (unstructured) the mask is
//   every W²/diag(Hinv_block)² of the whole block at or below the value at index
//   floor(S·numel(block)) of its ascending sort; N:M: when column i starts a group of M, per row
//   the N smallest W²/diag(Hinv)² of the group, from the weights as updated so far.
//   column by column: q = w with masked entries zeroed; err = (w − q)/Hinv_ii;
//   the block's later columns −= err·Hinv[i, i:]; after the block the remaining columns
//   −= Err·Hinv[block, rest].
// A failed Cholesky is retried with 10× the dampening, at most 3 times. Weights are updated in fp32.
#pragma once

#include <string>

#include "enwanda/prune/layer_method.h"

namespace enwanda {

// The pruned and updated weight, fp32 [out, in]. `hessian`: [in, in] (fp64 or fp32).
// `what` names the linear in errors and logs.
torch::Tensor sparsegpt_prune_linear(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity,
                                     const Structure& structure, const SparseGptOptions& opt, const std::string& what);

class SparseGptMethod : public LayerMethod {
 public:
  explicit SparseGptMethod(const MethodOptions& opt) : opt_(opt) {}
  DenseNeeds needs() const override { return DenseNeeds{/*channel_stats=*/false, /*input_grams=*/true, /*dense_outputs=*/false}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
