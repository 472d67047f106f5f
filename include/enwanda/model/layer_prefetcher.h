// LayerPrefetcher: hands out a model's decoder layers in order and gets layer i+1 coming while
// the caller computes with layer i.
//   CUDA: a background thread reads layer i+1 from the mapped shards through pinned host memory
//         and uploads it, so the disk read and the copy both overlap the GPU's work.
//   CPU:  the kernel is asked to read layer i+1's pages ahead (MADV_WILLNEED) and the copy
//         happens when the layer is taken. (A reading thread on the CPU made peak RSS creep up
//         layer by layer: its libtorch copies ran in OpenMP teams with heaps of their own.)
// Disabled, each layer is read when asked.
#pragma once

#include <future>

#include "enwanda/model/llama_model.h"

namespace enwanda {

class LayerPrefetcher {
 public:
  LayerPrefetcher(const LlamaModel& model, bool enabled) : model_(model), enabled_(enabled) {}
  ~LayerPrefetcher();  // waits for a read still in flight (its result is dropped)
  LayerPrefetcher(const LayerPrefetcher&) = delete;
  LayerPrefetcher& operator=(const LayerPrefetcher&) = delete;

  // Layer i; starts getting layer i+1 when there is one. Rethrows a failed read.
  LayerWeights take(int64_t i);

 private:
  const LlamaModel& model_;
  bool enabled_;
  int64_t pending_index_ = -1;
  std::future<LayerWeights> pending_;  // CUDA only
};

}  // namespace enwanda
