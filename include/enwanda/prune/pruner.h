// prune(): the pipeline, as one straight walk.
//   checkpoint -> calibration tokens -> embed -> (OWL: a dense pass over every layer for the
//   per-layer sparsities) -> for each decoder layer:
//     dense pass gathering what the method needs (layer_method.h) -> the method prunes the layer
//     -> write the layer -> pruned pass producing the next layer's inputs (sequential)
//   -> copy embeddings, norms, lm_head byte for byte -> commit the output directory.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/layer_sparsity.h"
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
};

// Checks values that need no file: α, sparsity, structure vs sparsity, flag combinations.
void validate_prune_options(PruneOptions& opt);

// Runs the pruning and returns the report (also written as enwanda_report.json in the output).
nlohmann::json prune(PruneOptions opt);

}  // namespace enwanda
