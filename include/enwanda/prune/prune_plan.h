// Plan and check, prune()'s first stage: the options checked against each other, the checkpoint
// opened and checked against them, what the outputs may replace and the free space checked
// before calibration (which can take minutes), and the runtime resolved.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "enwanda/model/checkpoint.h"
#include "enwanda/model/runtime.h"
#include "enwanda/prune/linear_selection.h"
#include "enwanda/prune/pruner.h"

namespace enwanda {

struct PrunePlan {
  std::shared_ptr<Checkpoint> checkpoint;
  std::vector<std::string> inputs;  // every input of the run, which no output may replace
  Runtime runtime;
  PrunedLinears pruned;  // --targets and --ignore resolved against the checkpoint
};

// `opt` must have passed validate_prune_options.
PrunePlan plan_prune(const PruneOptions& opt);

}  // namespace enwanda
