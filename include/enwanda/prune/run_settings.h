// The report's "settings": the run's (absolute paths, every calibration file with its size and
// sha256, runtime), and of the method's only those it uses; "input_report": the input model's own
// enwanda_report.json when it is enwanda's output (the chain of runs that made it).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/prune/stats_file.h"
#include "enwanda/model/runtime.h"
#include "enwanda/prune/pruner.h"

namespace enwanda {

nlohmann::json run_settings(const PruneOptions& opt, const StatsKey& key, const torch::Tensor& tokens, const Runtime& rt);

}  // namespace enwanda
