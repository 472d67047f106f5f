// The layer walk, prune()'s per-layer stages. For each decoder layer:
//   load     its weights (the next layer's read ahead: model/layer_prefetcher.h)
//   observe  the dense pass over its calibration inputs, gathering what the method needs
//            (layer_method.h: DenseNeeds), or the statistics from --load-stats
//   prune    the method prunes the linears to their targets (allocate.h)
//   write    the layer's tensors go to the output, on the writer's thread (a linear without a
//            target byte for byte from the input)
//   advance  the next layer's inputs: through the pruned layer (sequential), or the dense
//            outputs the observe stage left (--no-sequential)
// then each observer (layer_observer.h) sees the layer. The walk does not know which method runs.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "enwanda/io/background_writer.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/prune/allocate.h"
#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/layer_observer.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/prune/stats_file.h"

namespace enwanda {

// Whether the walk runs a dense pass over each layer's calibration inputs: unless the method
// needs nothing from one or its statistics come from --load-stats.
bool needs_dense_pass(const DenseNeeds& needs, const PruneOptions& opt);

class LayerWalk {
 public:
  LayerWalk(const LlamaModel& model, const LayerMethod& method, const PruneOptions& opt, const LayerAllocation& allocation,
            StatisticsFiles& stats, BackgroundWriter& writes, const UnusedLayerTensors& unused);
  void add_observer(LayerObserver& observer) { observers_.push_back(&observer); }
  // Walks every layer; `tokens` [N, T]: the calibration set (undefined without a dense pass).
  void run(const torch::Tensor& tokens);

 private:
  // What the observe stage gathered over one layer; `evidence` points into it.
  struct Observation {
    ActivationStats stats;
    InputGrams grams;
    torch::Tensor dense_out;  // [N, T, H] when the method needs the dense outputs
    LayerEvidence evidence;
  };
  void observe(int64_t i, const LayerWeights& w, torch::Tensor& hidden, Observation& seen);
  void write(int64_t i, const LayerWeights& w, LayerOutcome& outcome);
  void advance(const LayerWeights& w, torch::Tensor& hidden);

  const LlamaModel& model_;
  const LayerMethod& method_;
  const PruneOptions& opt_;
  const LayerAllocation& allocation_;
  StatisticsFiles& stats_;
  BackgroundWriter& writes_;
  const UnusedLayerTensors& unused_;
  const DenseNeeds needs_;
  const bool dense_pass_;
  std::vector<LayerObserver*> observers_;
};

}  // namespace enwanda
