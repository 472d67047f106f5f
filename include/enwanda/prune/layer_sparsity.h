// Per-layer sparsity: every layer at the target (uniform), or OWL's allocation (Yin et al.,
// ICML 2024, as luuyin/OWL's lib/prune_all.py computes it):
//   D_l = 100 · #{Wanda scores |W_ij|·sqrt(L2sq_j) of layer l's seven linears > M · their mean} / #scores
//   r   = (D − min D) / (max D − min D) · 2λ;   r ← r − mean(r) + (1 − S)
//   layer l's sparsity = 1 − r_l, and 0.01 where that is ≤ 0 (as the OWL code clamps)
// with M = --owl-m (default 5, the paper's; OWL's argument parser defaults to 3) and
// λ = --owl-lambda (default 0.08). The mean over layers is S. When every D_l is equal there is
// nothing to spread and every layer gets S. The mean of the scores is taken in fp64.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

namespace enwanda {

enum class Allocation { uniform, owl };
Allocation parse_allocation(const std::string& s);  // uniform|owl; throws UsageError
std::string allocation_name(Allocation a);

struct OwlOptions {
  double m = 5.0;        // --owl-m: outlier threshold, in multiples of the layer's mean score
  double lambda = 0.08;  // --owl-lambda: the sparsities spread over [S − λ, S + λ]
};

// D_l in percent, from the scores of one layer's linears (any shapes).
double outlier_ratio(const std::vector<torch::Tensor>& scores, double m);

// Each layer's sparsity from the layers' outlier ratios.
std::vector<double> owl_sparsities(const std::vector<double>& outlier_ratios, double target, double lambda);

}  // namespace enwanda
