#include "enwanda/layer_prefetcher.h"

namespace enwanda {

LayerPrefetcher::~LayerPrefetcher() {
  if (pending_.valid()) pending_.wait();
}

LayerWeights LayerPrefetcher::take(int64_t i) {
  LayerWeights w;
  if (pending_.valid() && pending_index_ == i) {
    w = pending_.get();
  } else {
    if (pending_.valid()) pending_.wait();  // asked out of order: drop the guess
    pending_ = {};
    w = model_.layer(i);
  }
  if (enabled_ && i + 1 < model_.config().num_hidden_layers) {
    pending_index_ = i + 1;
    pending_ = std::async(std::launch::async, [this, next = i + 1] { return model_.layer(next); });
  }
  return w;
}

}  // namespace enwanda
