// DSnoT, Dynamic Sparse No Training (Zhang et al., ICLR 2024), as zyxxmu/DSnoT's lib/prune.py
// prune_DSnoT refines a Wanda mask with its initial_method "wanda": within each output row,
// swap a pruned weight back in for a kept one so that the row's expected output error shrinks.
//   base mask  Wanda's: |W_ij|·sqrt(L2sq_j), per row the floor(in·S) lowest (stable order), or
//              the N lowest of each M consecutive inputs
//   d_ij = W_ij·mean_j (mean_j: the signed sum of input j over the calibration tokens / sequences)
//   e_i  = Σ over the row's pruned j of d_ij
//   regrow list: the row's pruned columns ascending by d_ij / var_j^p (p = --dsnot-pow-var)
//   prune list (unstructured): the row's kept columns in ascending Wanda order, those with d < 0
//              in that order, then those with d = 0, then those with d > 0 in reverse order
//   up to --dsnot-cycles passes; in each, every active row with |e| <= --dsnot-threshold stops for
//   good; e > 0 regrows from the top of the regrow list and prunes from the front of the prune
//   list, e < 0 from the bottom and the back; e += d_pruned − d_regrown; a row whose list runs out
//   stops. N:M: the weight pruned is the one kept from the start with the lowest Wanda score in
//   the regrown weight's group of M, and a swap happens only if sign(e after) = sign(e at the
//   start); otherwise the row stops. Counts per row and per group stay exact.
// Stopped rows stay frozen; the published loop keeps advancing their pointers and writing their
// masks, and its regrow list holds the kept weights too (with d = 0, between the signs), which on
// narrow rows can regrow a kept weight and break the row's count (docs/methods.md).
#pragma once

#include "enwanda/prune/layer_method.h"

namespace enwanda {

struct DsnotMask {
  torch::Tensor mask;  // [out, in] bool, true = prune
  int64_t swaps = 0;   // pruned/regrown pairs over all rows
};

// The mask of weight [out, in] from its input's statistics (l2sq; mean and var when refining).
// refine = false (or opt.cycles = 0): Wanda's mask.
DsnotMask dsnot_mask(const torch::Tensor& weight, const ChannelStats& stats, double sparsity, const Structure& structure,
                     const DsnotOptions& opt, bool refine = true);

class DsnotMethod : public LayerMethod {
 public:
  explicit DsnotMethod(const MethodOptions& opt);
  DenseNeeds needs() const override {
    DenseNeeds n;
    n.channel_stats = true;
    n.channel_moments = true;
    return n;
  }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
