// Calibrate, prune()'s second stage: the calibration tokens, when anything needs them (the dense
// pass of the method, OWL's first pass, or given anyway so the report records them), and the
// CUDA micro-batch sized to them.
#pragma once

#include <string>

#include <torch/torch.h>

#include "enwanda/model/checkpoint.h"
#include "enwanda/model/runtime.h"
#include "enwanda/prune/pruner.h"

namespace enwanda {

struct CalibrationSet {
  torch::Tensor tokens;  // [N, T] int64; undefined when nothing needs them
  std::string sha256;    // of the tokens; "" without them
};

// `dense_pass`: the walk runs the method's dense pass over every layer's calibration inputs.
// Sets rt.batch_size on CUDA unless --batch-size gave it.
CalibrationSet calibrate(const PruneOptions& opt, bool dense_pass, const Checkpoint& ck, Runtime& rt);

}  // namespace enwanda
