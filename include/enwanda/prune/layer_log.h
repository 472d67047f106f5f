// What the walk logs per layer, as observers: a progress bar on a terminal (else one info line a
// layer, with the sparsity so far and the time left), and with -v each linear's cut in magnitude
// and the layer's stage times.
#pragma once

#include <chrono>

#include "enwanda/prune/layer_observer.h"

namespace enwanda {

class LayerProgress : public LayerObserver {
 public:
  void walk_begins(int64_t layers) override;
  void layer_done(const LayerOutcome& outcome) override;

 private:
  int64_t layers_ = 0;
  bool terminal_ = false;
  std::chrono::steady_clock::time_point start_;
  int64_t zeros_ = 0, weights_ = 0;
};

// -v (debug): per linear the largest |w| pruned and the smallest |w| kept, per layer the seconds
// of each stage.
class LayerCutsLog : public LayerObserver {
 public:
  bool wants_dense_linears() const override;
  void layer_done(const LayerOutcome& outcome) override;
};

}  // namespace enwanda
