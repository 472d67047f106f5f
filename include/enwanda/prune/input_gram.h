// InputGrams: the Gram matrix of each distinct linear input of one layer, as SparseGPT uses it,
//   H = (2/N) · Σ_t x_t x_tᵀ      [in_features, in_features]
// over every calibration token t, with N the number of sequences (IST-DASLab/sparsegpt's running
// average of 2·XᵀX/nsamples, summed here and scaled once). Accumulated in fp64 on the CPU and in
// fp32 on CUDA (as the reference does on its GPUs).
#pragma once

#include <array>

#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"

namespace enwanda {

class InputGrams {
 public:
  // Adds x [batch, seqlen, in_features].
  void add(LinearInput which, const torch::Tensor& x);
  // H of one input; a copy the caller may change.
  torch::Tensor hessian(LinearInput which) const;
  // H given whole (an expert's, from its routed tokens: routed_stats.h), in place of the sums.
  void set_hessian(LinearInput which, torch::Tensor h);
  bool has(LinearInput which) const { return sum_[static_cast<int>(which)].defined(); }

 private:
  std::array<torch::Tensor, kNumLinearInputs> sum_;  // Σ XᵀX
  std::array<int64_t, kNumLinearInputs> sequences_{};
  std::array<torch::Tensor, kNumLinearInputs> given_;  // set_hessian's
};

}  // namespace enwanda
