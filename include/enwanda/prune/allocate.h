// Allocate, prune()'s third stage: each layer's sparsity, uniform or OWL's from a first dense pass
// over every layer (layer_sparsity.h has the formulas), and from it what each linear of a layer is
// pruned to:
//   not selected (--targets, --ignore)   left as it is
//   uniform                              --sparsity-of of its type, else --sparsity
//   OWL                                  --sparsity-of of its type · s_l / --sparsity, else s_l
// so OWL scales the per-type targets by the layer's share (s_l the layer's OWL sparsity). OWL's
// outlier ratio D_l is a property of the layer: all seven linears, as luuyin/OWL scores them.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "enwanda/model/llama_model.h"
#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/prune/stats_file.h"

namespace enwanda {

struct LayerAllocation {
  std::vector<double> sparsities;      // [num_hidden_layers]
  std::vector<double> outlier_ratios;  // OWL's D_l per layer; empty when uniform
  double mean_sparsity = 0.0;          // --sparsity
  std::array<std::optional<double>, 7> type_sparsity;  // --sparsity-of, kLinearNames order
  PrunedLinears pruned;
  LinearTargets targets_of(int64_t layer) const;
};

// `tokens`: the calibration set (OWL's pass runs it through the dense model unless `stats_in`
// gives the statistics).
// Throws UsageError when OWL takes a linear's target to 1 or beyond.
LayerAllocation allocate(const LlamaModel& model, const torch::Tensor& tokens, const PruneOptions& opt,
                         const StatsFileReader* stats_in, const PrunedLinears& pruned);

}  // namespace enwanda
