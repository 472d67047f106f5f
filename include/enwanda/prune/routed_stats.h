// RoutedStats: what the dense pass over a mixture-of-experts layer gathers for each expert, from
// the tokens routed to it only (a token counts once for each expert among its top-k; routing
// weights are not applied): for gate/up those tokens' hidden states, for down the expert's
// silu(gate x) ⊙ (up x) on them; the shared expert sees every token.
//   L1_j = Σ |x_tj| / N      L2sq_j = Σ x_tj² / N      H = (2/N) · Σ x_t x_tᵀ
// with N the number of calibration sequences, all of them, including those that sent the expert
// no token (StatNorm::tokens: the number of calibration tokens), so an expert's statistics are on
// the same scale as a dense linear's. Sums in fp64 (Gram matrices in fp32 on CUDA, as InputGrams).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "enwanda/model/moe_block.h"
#include "enwanda/prune/activation_stats.h"

namespace enwanda {

class RoutedStats {
 public:
  // `grams_of`: the one expert whose Gram matrices are gathered (kSharedExpert for the shared
  // expert; kNoExpert for none): SparseGPT holds one expert's at a time.
  static constexpr int64_t kNoExpert = -2;
  RoutedStats(int64_t num_experts, bool channel_stats, int64_t grams_of = kNoExpert);

  void add(const ExpertInputs& in);
  ExpertObserver observer();  // feeds add()
  // The divisor N: sequences (and their tokens) the dense pass ran over, whichever experts they reached.
  void set_calibration(int64_t sequences, int64_t tokens) { sequences_ = sequences, tokens_ = tokens; }

  int64_t tokens_of(int64_t expert) const { return slot(expert).tokens; }
  // gate/up (down false) or down (down true) of an expert
  ChannelStats channel_stats(int64_t expert, bool down, StatNorm norm) const;
  torch::Tensor hessian(int64_t expert, bool down) const;  // H, a copy the caller may change

 private:
  struct Sums {
    int64_t tokens = 0;
    torch::Tensor abs[2], sq[2], gram[2];  // [0] gate/up input, [1] down input
  };
  const Sums& slot(int64_t expert) const { return sums_[static_cast<size_t>(expert + 1)]; }
  std::vector<Sums> sums_;  // [0] the shared expert, then expert e at e + 1
  bool channel_stats_;
  int64_t grams_of_;
  int64_t sequences_ = 0, tokens_ = 0;
};

}  // namespace enwanda
