// Wanda++ (Yang et al., ACL Findings 2025): gradients taken inside one decoder block.
//   Regional loss      ℓ_n = ‖f_l(X_n)‖₂ (Frobenius norm of the dense block's output on sample n)
//   Gradient RMS       G_ij = sqrt( (1/N) Σ_n (∂ℓ_n/∂W_ij)² ), fp32, for each of the seven linears
//   Regional optimisation (RO): RMSprop steps on the seven linear weights minimising
//                      Σ (f_l^dense(X_n) − f_l(X_n))² one sample at a time.
#pragma once

#include <array>
#include <vector>

#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"

namespace enwanda {

struct RegionalOptions {
  double gamma = 100.0;       // --rgs-scale
  int64_t rgs_samples = 0;    // --rgs-samples; 0 = all calibration samples
  bool ro = true;             // --no-ro turns it off
  int64_t ro_iters = 5;       // --ro-iters
  int64_t ro_samples = 32;    // --ro-samples
  double ro_lr = 3e-7;        // --ro-lr
  bool tf32 = false;          // --regional-tf32: TF32 tensor cores for RGS/RO matmuls (CUDA only)
};

// While alive, lets cuBLAS run fp32 matmuls on TF32 tensor cores (10-bit mantissa products,
// fp32 accumulation and storage) when `enable`; restores the previous setting on destruction.
// RGS and RO are ~2.3 PFLOP per llama2-7b block at 128x2048 samples: fp32 without tensor cores
// cannot finish 32 blocks in the paper's 10 minutes on an H100.
class Tf32Matmuls {
 public:
  explicit Tf32Matmuls(bool enable);
  ~Tf32Matmuls();
  Tf32Matmuls(const Tf32Matmuls&) = delete;
  Tf32Matmuls& operator=(const Tf32Matmuls&) = delete;

 private:
  bool previous_;
  bool enabled_;
};

// fp32 copy of `w` whose seven linears require grad (master weights for RGS and RO).
LayerWeights fp32_master(const LayerWeights& w);

// G for each linear, [out, in] fp32, from samples inputs[0..count) ([N, T, H]).
std::array<torch::Tensor, 7> regional_gradient_rms(const LayerWeights& w, const torch::Tensor& inputs, int64_t count,
                                                   const RotaryTables& rope, const LlamaConfig& c);

// Mean over `inputs` of Σ (target − f(x))², the block's reconstruction error.
double reconstruction_error(const LayerWeights& w, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const RotaryTables& rope, const LlamaConfig& c);

// One RO round: an RMSprop step per sample index in `order` on master.linears (modified in place).
void regional_optimisation_round(LayerWeights& master, torch::optim::RMSprop& opt, const torch::Tensor& inputs,
                                 const torch::Tensor& targets, const std::vector<int64_t>& order,
                                 const RotaryTables& rope, const LlamaConfig& c);

}  // namespace enwanda
