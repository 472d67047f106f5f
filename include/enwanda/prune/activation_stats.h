// ActivationStats: per input channel j of each distinct linear input of one layer,
//   L1_j   = Σ_t |x_tj| / N      L2sq_j = Σ_t x_tj² / N
// summed over every calibration token t, with N the number of sequences (locuslab/wanda's
// scaler_row normalisation) or, with StatNorm::tokens, the number of tokens. Accumulated in fp64.
#pragma once

#include <array>

#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"

namespace enwanda {

enum class StatNorm { sequences, tokens };

struct ChannelStats {
  torch::Tensor l1;    // [in_features] fp64
  torch::Tensor l2sq;  // [in_features] fp64
};

class ActivationStats {
 public:
  // Adds x [batch, seqlen, in_features].
  void add(LinearInput which, const torch::Tensor& x);
  InputObserver observer();  // feeds add()
  ChannelStats channel_stats(LinearInput which, StatNorm norm) const;
  bool has(LinearInput which) const { return sum_abs_[static_cast<int>(which)].defined(); }

 private:
  std::array<torch::Tensor, kNumLinearInputs> sum_abs_, sum_sq_;
  std::array<int64_t, kNumLinearInputs> sequences_{}, tokens_{};
};

}  // namespace enwanda
