// Wanda++ and EN++ (Yang et al., ACL Findings 2025): the regional gradient G of
// regional_gradient.h added to the activation scale, S_ij = (γ·G_ij + A_j)·|W_ij|, masks as Wanda's;
// then rounds of regional optimisation (RMSprop on the block's reconstruction error against its
// dense outputs), each followed by pruning again with the new G, so the last round's masks hold.
#pragma once

#include "enwanda/prune/layer_method.h"

namespace enwanda {

class RegionalMethod : public LayerMethod {
 public:
  explicit RegionalMethod(const MethodOptions& opt) : opt_(opt) {}
  DenseNeeds needs() const override { return DenseNeeds{/*channel_stats=*/true, /*input_grams=*/false, /*dense_outputs=*/true}; }
  nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const override;

 private:
  MethodOptions opt_;
};

}  // namespace enwanda
