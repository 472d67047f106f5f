// Pruning one mixture-of-experts layer: the layer walk's observe and prune stages for a layer whose
// MLP is an MoE block (layer_walk.h). The method (layer_method.h) is the one that prunes dense
// layers, applied linear group by linear group:
//   attention  q, k, v, o from the layer's inputs, as in a dense layer
//   experts    each expert's gate, up, down from the tokens routed to it (routed_stats.h): gate and
//              up share their statistics (and SparseGPT's H); an expert that no calibration token
//              reached is pruned by |W| alone (per row, ties to the lower column; per group of M for
//              N:M); qwen2_moe's shared expert from every token
// Never pruned: the router and shared_expert_gate (the write stage copies them byte for byte).
// One dense pass over the layer gathers the attention's statistics and every expert's channel
// statistics; SparseGPT's Gram matrices are then gathered one expert at a time from the block's
// inputs kept from that pass, so one expert's H is resident at a time, not E of them. The report
// gives each layer's tokens per expert and the peak memory after it; a warning says when more
// than a quarter of a layer's experts got fewer than 1% of its tokens.
#pragma once

#include <torch/torch.h>

#include "enwanda/model/llama_model.h"
#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/layer_observer.h"
#include "enwanda/prune/pruner.h"

namespace enwanda {

class MoeLayerPruner {
 public:
  // `dense_pass`: whether the method's statistics come from a dense pass (false for magnitude).
  MoeLayerPruner(const LlamaModel& model, const LayerMethod& method, const PruneOptions& opt, bool dense_pass)
      : model_(model), method_(method), structure_(opt.structure), norm_(opt.stat_norm), dense_pass_(dense_pass) {}
  // Prunes layer outcome.layer's linears in `w` to outcome.targets (q, k, v, o; gate, up, down
  // for every expert's) from its calibration inputs `hidden` [N, T, hidden]; fills the outcome's
  // method_report (tokens per expert) and its statistics and pruning seconds.
  void prune(LayerWeights& w, const torch::Tensor& hidden, LayerOutcome& outcome) const;

 private:
  const LlamaModel& model_;
  const LayerMethod& method_;
  Structure structure_;
  StatNorm norm_;
  bool dense_pass_;
};

// The pruned linears of a layer in layer_linears() order (tensor_names.h): q, k, v, o, then the
// MLP's gate, up, down, or each expert's and the shared expert's. Handles to the same tensors.
std::vector<torch::Tensor> pruned_linears(const LayerWeights& w);

}  // namespace enwanda
