// The report, prune()'s last stage and an observer of the walk: per layer the sparsity of each
// linear as written ("sparsity"), each linear's target beside it ("linears": target, null for a
// linear left as it is, and achieved), the layer's sparsity, its seconds (and OWL's target and outlier ratio, and what the
// method adds); for the run the reproducing command, the settings, the seconds of each phase,
// peak memory and bytes written. Linears are named as the checkpoint names them: an MoE layer lists
// "block_sparse_moe.experts.*.w1" (Mixtral; each family's names) over all its experts, each expert's
// sparsity in "per_expert" and their min/median/max in "expert_sparsity". Written as
// enwanda_report.json beside the pruned checkpoint.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "enwanda/model/llama_config.h"
#include "enwanda/model/runtime.h"
#include "enwanda/prune/calibrate.h"
#include "enwanda/prune/layer_observer.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/prune/stats_file.h"

namespace enwanda {

class PruneReport : public LayerObserver {
 public:
  // Starts the run's clock. `regional`: the method's pruning time also counts as "regional".
  explicit PruneReport(bool regional);

  void add_seconds(const std::string& phase, double seconds);  // load, calibration, allocation, writing, ...
  void layer_done(const LayerOutcome& outcome) override;

  // The report of the whole run, once every tensor is written.
  nlohmann::json finish(const PruneOptions& opt, const StatsKey& stats_key, const CalibrationSet& calib, const Runtime& rt,
                        double writer_busy_seconds, uint64_t bytes_written) const;

 private:
  std::chrono::steady_clock::time_point start_;
  bool regional_;
  nlohmann::json phases_;
  nlohmann::json layers_ = nlohmann::json::array();
  int64_t zeros_ = 0, weights_ = 0;
};

// README.md of the pruned output, a model card that says what was done: the base card's YAML front
// matter kept as it is (its `license:` and the hub's other metadata), then the base model, method,
// sparsity, structure, allocation, calibration, enwanda version and the reproducing command, from
// `report`. The base card's prose describes the dense model and is not copied. `base_card`: the
// base's README.md ("" when it has none).
std::string pruned_model_card(const std::string& base_card, const nlohmann::json& report);
// The first 64 KiB of MODEL_DIR/README.md (what the front matter can be in), "" without one.
std::string read_model_card(const std::string& model_dir);

// A linear's key in the report's "linears": its checkpoint name with an expert's number as "*"
// ("block_sparse_moe.experts.*.w1"), and that number (-1 for a linear of no expert).
std::pair<int64_t, std::string> report_linear_key(const std::string& suffix);

// The closing line: sparsity, linears, seconds, peak RSS.
void log_prune_summary(const PruneOptions& opt, const nlohmann::json& report, const LlamaConfig& c);

}  // namespace enwanda
