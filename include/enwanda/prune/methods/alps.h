// ALPS (Meng et al., NeurIPS 2024), as mazumder-lab/ALPS's alps.py ALPS_prune.ALPS_admm solves
// each linear's layer-wise reconstruction min ‖X Wᵀ − X Ŵᵀ‖² over Ŵ with a sparsity constraint by
// ADMM, then refines the kept weights by conjugate gradients. Per linear, from H = XᵀX of its
// dense-pass inputs (input_gram.h; scale-free):
//   H += 0.01·mean(diag H)·I; d = sqrt(diag H) + 1e-8; Ĥ = D⁻¹HD⁻¹; B₀ = (W·diag(d))ᵀ; Y = Ĥ·B₀
//   keep count per matrix: k = round-half-even((1 − S)·numel); N:M keeps M − N of each group of M
//   consecutive inputs of an output row. P_k(Z) keeps the k largest Z² (ties: the earlier
//   position in W's row-major order is pruned first).
//   D = P_k(B₀), V = 0, ρ = --alps-rho; for t < --alps-iters:
//     B = (Ĥ + ρI)⁻¹(Y − V + ρD)   (one eigendecomposition of Ĥ, reused for every ρ)
//     D = P_k((V + ρB)/ρ);  V += ρ(B − D)
//     every third t: c = entries of D whose zero/non-zero status changed since the last check,
//     r = c/k; r > 0.1: ρ ×1.3 | r > 0.005: ρ ×1.2 | c ≥ 1: ρ ×1.1 once ρ has been raised, else
//     ρ /5 and B, D, V back to their start | c = 0: stop once ρ has been raised, else ρ /5;
//     ρ ← min(ρ, 1e6); from t = 30 on, stop once r < 3e-4
//   support = P_k(B); 10 conjugate-gradient steps on Ĥ X = Y from X₀ = P_k(B), the residual
//   restricted to the support, no preconditioner; Ŵ = Xᵀ·D⁻¹, zero off the support.
// Computed in H's dtype: fp64 on the CPU, fp32 on CUDA.
#pragma once

#include <string>

#include "enwanda/prune/layer_method.h"

namespace enwanda {

struct AlpsResult {
  torch::Tensor weight;    // [out, in] in the gram's dtype
  int64_t iterations = 0;  // ADMM iterations run
  double rho = 0.0;        // ρ at the end
};

// `gram`: [in, in] Σ x xᵀ (any positive scale), fp64 or fp32; weight [out, in].
AlpsResult alps_prune_linear(const torch::Tensor& weight, const torch::Tensor& gram, double sparsity,
                             const Structure& structure, const AlpsOptions& opt);

class AlpsMethod : public LayerMethod {
 public:
  explicit AlpsMethod(const MethodOptions& opt);
  DenseNeeds needs() const override { return DenseNeeds{/*channel_stats=*/false, /*input_grams=*/true, /*dense_outputs=*/false}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
