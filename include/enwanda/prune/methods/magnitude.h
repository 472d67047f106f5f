// Magnitude pruning: S_ij = |W_ij|; one threshold per matrix (every |W| at or below the k-th
// smallest, k = floor(sparsity·numel)), or N:M per row by |W|. Needs no calibration.
#pragma once

#include "enwanda/prune/layer_method.h"

namespace enwanda {

class MagnitudeMethod : public LayerMethod {
 public:
  explicit MagnitudeMethod(const MethodOptions& opt) : opt_(opt) {}
  DenseNeeds needs() const override { return {}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
