// Allocate, prune()'s third stage: each layer's sparsity, uniform or OWL's from a first dense pass
// over every layer (layer_sparsity.h has the formulas), and from it what each linear of a layer is
// pruned to.
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
  LinearTargets targets_of(int64_t layer) const;
};

// `tokens`: the calibration set (OWL's pass runs it through the dense model unless `stats_in`
// gives the statistics).
LayerAllocation allocate(const LlamaModel& model, const torch::Tensor& tokens, const PruneOptions& opt,
                         const StatsFileReader* stats_in);

}  // namespace enwanda
