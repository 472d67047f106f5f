// ActivationStats: per input channel j of each distinct linear input of one layer,
//   L1_j   = Σ_t |x_tj| / N      L2sq_j = Σ_t x_tj² / N
// summed over every calibration token t, with N the number of sequences (locuslab/wanda's
// scaler_row normalisation) or, with StatNorm::tokens, the number of tokens. Accumulated in fp64.
// With moments (DSnoT's, zyxxmu/DSnoT lib/layerwrapper.py WrappedGPT.add_batch), also
//   mean_j = Σ_t x_tj / N_seq     (signed; a per-sequence sum averaged over sequences)
//   var_j  = Σ_s T_s·v_sj / Σ_s T_s, v_sj the population variance of sequence s over its T_s tokens
// (the reference's running merge var ← (var·n + v_s·T_s)/(n + T_s); it leaves out the spread of
// the sequences' means, and so does this).
#pragma once

#include <array>

#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"

namespace enwanda {

enum class StatNorm { sequences, tokens };

struct ChannelStats {
  torch::Tensor l1;    // [in_features] fp64
  torch::Tensor l2sq;  // [in_features] fp64
  torch::Tensor mean;  // [in_features] fp64, with moments only
  torch::Tensor var;   // [in_features] fp64, with moments only
};

class ActivationStats {
 public:
  explicit ActivationStats(bool moments = false) : moments_(moments) {}
  // Adds x [batch, seqlen, in_features].
  void add(LinearInput which, const torch::Tensor& x);
  InputObserver observer();  // feeds add()
  ChannelStats channel_stats(LinearInput which, StatNorm norm) const;
  bool has(LinearInput which) const { return sum_abs_[static_cast<int>(which)].defined(); }

 private:
  bool moments_;
  std::array<torch::Tensor, kNumLinearInputs> sum_abs_, sum_sq_, sum_, sum_var_;  // sum_var_: Σ_s T_s·v_s
  std::array<int64_t, kNumLinearInputs> sequences_{}, tokens_{};
};

}  // namespace enwanda
