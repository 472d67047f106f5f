#include "enwanda/model/layer_prefetcher.h"

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
  const int64_t next = i + 1;
  if (!enabled_ || next >= model_.config().num_hidden_layers) return w;
  if (model_.runtime().cuda()) {
    pending_index_ = next;
    pending_ = std::async(std::launch::async, [this, next] { return model_.layer(next); });
  } else {
    const Checkpoint& ck = model_.checkpoint();
    for (const auto& linear : layer_linears(model_.config(), next)) ck.prefetch(layer_tensor_name(next, linear.suffix));
    for (const auto& name : layer_parameter_names(model_.config(), next)) ck.prefetch(name);
  }
  return w;
}

}  // namespace enwanda
