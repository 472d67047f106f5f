// prune(): the pipeline, as one straight walk of stages, each in the file of its concept:
//   plan and check   prune_plan.h   the options, the checkpoint, the outputs' guards, the runtime
//   calibrate        calibrate.h    the calibration tokens
//   allocate         allocate.h     each layer's sparsity (uniform, OWL) and each linear's target
//   for each layer   layer_walk.h   load, observe (the dense pass), prune (the method), write,
//                                   advance (the next layer's inputs)
//   report           prune_report.h an observer of the walk, beside the progress line (layer_log.h)
// then the embeddings, final norm and lm_head are copied byte for byte and the output committed.
// A method (layer_method.h) says what it needs from the dense pass and prunes one layer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/layer_sparsity.h"
#include "enwanda/prune/linear_selection.h"
#include "enwanda/text/calibration.h"

namespace enwanda {

// The method's options (method, geometry, alpha, structure, ...) and the run's.
struct PruneOptions : MethodOptions {
  std::string model_dir;
  std::string out_dir;
  CalibrationOptions calib;
  double sparsity = 0.5;  // the mean over layers; each layer's with --allocation owl
  Allocation allocation = Allocation::uniform;
  OwlOptions owl;
  LinearSelection linears;  // --targets, --ignore, --sparsity-of: which linears, at which sparsity
  StatNorm stat_norm = StatNorm::sequences;
  bool sequential = true;
  std::string device = "auto";
  std::string dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
  bool overwrite = false;
  bool overlap_io = true;  // read layer i+1 and write layer i-1 on background threads while layer i computes
  std::string save_stats;
  std::string load_stats;
  std::string command_line;  // recorded in the report
  std::vector<std::string> calibration_ignored;  // calibration flags given to a method that reads none
};

// Checks values that need no file: α, sparsity, structure vs sparsity, flag combinations.
void validate_prune_options(PruneOptions& opt);

// Runs the pruning and returns the report (also written as enwanda_report.json in the output).
nlohmann::json prune(PruneOptions opt);

}  // namespace enwanda
