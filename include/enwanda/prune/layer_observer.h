// What the layer walk tells its observers (the report, the progress line, -v's per-linear cuts)
// after each layer: they watch the walk and do not change it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"
#include "enwanda/prune/layer_method.h"

namespace enwanda {

struct LayerOutcome {
  int64_t layer = 0;
  double sparsity = 0.0;                           // the layer's, as allocated
  std::optional<double> outlier_ratio;             // OWL's D_l of the layer
  LinearTargets targets;                           // what each linear was pruned to
  const LayerWeights* pruned = nullptr;            // the weights as written
  const std::array<torch::Tensor, 7>* dense = nullptr;  // the linears before pruning, when an observer wants them
  std::array<int64_t, 7> zeros{};                  // exact zeros per linear, as written
  std::array<int64_t, 7> weights{};                // numel per linear
  // every linear under its checkpoint name ("block_sparse_moe.experts.3.w1"), with its exact zeros
  // and numel as written: an MoE layer's experts one by one (zeros/weights sum them per kind)
  struct CheckpointLinear {
    std::string suffix;
    int64_t zeros = 0, weights = 0;
  };
  std::vector<CheckpointLinear> checkpoint_linears;
  nlohmann::json method_report;                    // what the method added (null for nothing)
  // seconds of this layer's stages: load, statistics, pruning, writing, next inputs
  std::map<std::string, double> seconds;
  double total_seconds = 0.0;  // since the layer began

  double linear_sparsity(size_t j) const { return static_cast<double>(zeros[j]) / static_cast<double>(weights[j]); }
  int64_t zeros_total() const { return std::accumulate(zeros.begin(), zeros.end(), int64_t{0}); }
  int64_t weights_total() const { return std::accumulate(weights.begin(), weights.end(), int64_t{0}); }
};

class LayerObserver {
 public:
  virtual ~LayerObserver() = default;
  // True when the observer needs the linears as they were before the method pruned them (a copy).
  virtual bool wants_dense_linears() const { return false; }
  virtual void walk_begins(int64_t layers) { (void)layers; }  // after the embedding, before layer 0
  virtual void layer_done(const LayerOutcome& outcome) = 0;
};

}  // namespace enwanda
