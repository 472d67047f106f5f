// LayerPrefetcher: hands out a model's decoder layers in order, reading layer i+1 from the
// mapped shards on a background thread while the caller computes with layer i. On CUDA the
// read goes through pinned host memory, so the upload is a DMA copy; on a cold page cache the
// disk read is the part worth hiding. Disabled, it reads each layer when asked.
#pragma once

#include <future>

#include "enwanda/llama_model.h"

namespace enwanda {

class LayerPrefetcher {
 public:
  LayerPrefetcher(const LlamaModel& model, bool enabled) : model_(model), enabled_(enabled) {}
  ~LayerPrefetcher();  // waits for a read still in flight (its result is dropped)
  LayerPrefetcher(const LayerPrefetcher&) = delete;
  LayerPrefetcher& operator=(const LayerPrefetcher&) = delete;

  // Layer i; starts reading layer i+1 when there is one. Rethrows a failed read.
  LayerWeights take(int64_t i);

 private:
  const LlamaModel& model_;
  bool enabled_;
  int64_t pending_index_ = -1;
  std::future<LayerWeights> pending_;
};

}  // namespace enwanda
