#include "enwanda/prune/prune_report.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "enwanda/model/device_memory.h"
#include "enwanda/model/tensor_names.h"
#include "enwanda/prune/reproduce.h"
#include "enwanda/prune/run_settings.h"

namespace enwanda {

PruneReport::PruneReport(bool regional)
    : start_(std::chrono::steady_clock::now()),
      regional_(regional),
      phases_({{"load", 0.0}, {"calibration", 0.0}, {"statistics", 0.0}, {"scoring", 0.0}, {"regional", 0.0},
               {"writing", 0.0}}) {}

void PruneReport::add_seconds(const std::string& phase, double seconds) {
  phases_[phase] = phases_.value(phase, 0.0) + seconds;
}

void PruneReport::layer_done(const LayerOutcome& o) {
  const auto& s = o.seconds;
  add_seconds("load", s.at("load"));
  add_seconds("statistics", s.at("statistics") + s.at("next inputs"));
  add_seconds("scoring", s.at("pruning"));
  if (regional_) add_seconds("regional", s.at("pruning"));  // Wanda++'s gradients and RO: all of its "scoring"
  add_seconds("writing", s.at("writing"));

  nlohmann::json per_linear = nlohmann::json::object(), linears = nlohmann::json::object();
  for (size_t j = 0; j < kLinearNames.size(); ++j) {
    per_linear[kLinearNames[j]] = o.linear_sparsity(j);
    // the target: null for a linear left as it is (--targets, --ignore)
    linears[kLinearNames[j]] = {{"target", o.targets[j] ? nlohmann::json(*o.targets[j]) : nlohmann::json(nullptr)},
                                {"achieved", o.linear_sparsity(j)}};
  }
  zeros_ += o.zeros_total();
  weights_ += o.weights_total();
  const double achieved = static_cast<double>(o.zeros_total()) / static_cast<double>(std::max<int64_t>(o.weights_total(), 1));
  nlohmann::json entry = {{"layer", o.layer}, {"sparsity", per_linear}, {"achieved_sparsity", achieved},
                          {"seconds", o.total_seconds}, {"linears", linears}};
  if (o.outlier_ratio) {
    entry["target_sparsity"] = o.sparsity;
    entry["outlier_ratio"] = *o.outlier_ratio;
  }
  if (o.method_report.is_object()) entry.update(o.method_report);
  layers_.push_back(entry);
}

nlohmann::json PruneReport::finish(const PruneOptions& opt, const StatsKey& stats_key, const CalibrationSet& calib,
                                   const Runtime& rt, double writer_busy_seconds, uint64_t bytes_written) const {
  nlohmann::json report = {
      {"enwanda_version", ENWANDA_VERSION},
      {"command_line", opt.command_line},
      {"reproduce", reproducing_command(opt)},
      {"settings", run_settings(opt, stats_key, calib.tokens, rt)},
      {"calibration_sha256", calib.sha256},
      {"achieved_sparsity", static_cast<double>(zeros_) / std::max<int64_t>(weights_, 1)},
      {"layers", layers_},
  };
  report["seconds"] = phases_;
  report["seconds"]["total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  report["seconds"]["writer_thread_busy"] = writer_busy_seconds;
  report["peak_rss_mib"] = peak_rss_mib();
  if (rt.cuda()) {
    const PeakMemory peak = peak_device_memory(rt.device);
    report["peak_device_memory_mib"] = {{"allocated", peak.allocated_bytes / 1048576.0},
                                        {"reserved", peak.reserved_bytes / 1048576.0}};
  }
  report["bytes_written"] = bytes_written;
  return report;
}

void log_prune_summary(const PruneOptions& opt, const nlohmann::json& report, const LlamaConfig& c) {
  // every linear of the checkpoint (an MoE layer's experts one by one), and those with a target
  // (--targets, --ignore leave the others as they are)
  int64_t all = 0, pruned = 0;
  for (const auto& layer : report["layers"]) {
    const auto names = layer_linears(c, layer["layer"].get<int64_t>());
    for (size_t k = 0; k < names.size(); ++k) {
      const size_t j = k < 4 ? k : 4 + (k - 4) % 3;  // an expert's gate, up, down as the layer's (layer_walk)
      pruned += !layer["linears"][kLinearNames[j]]["target"].is_null();
    }
    all += static_cast<int64_t>(names.size());
  }
  const std::string left = pruned == all ? "" : ", " + std::to_string(pruned) + " of them pruned";
  spdlog::info("pruned {} -> {}: {:.4f} sparsity over {} linears{}, {:.1f} s, peak RSS {:.0f} MiB", opt.model_dir,
               opt.out_dir, report["achieved_sparsity"].get<double>(), all, left,
               report["seconds"]["total"].get<double>(), report["peak_rss_mib"].get<double>());
}

}  // namespace enwanda
