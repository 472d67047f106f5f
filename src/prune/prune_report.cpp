#include "enwanda/prune/prune_report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "enwanda/model/device_memory.h"
#include "enwanda/model/tensor_names.h"
#include "enwanda/prune/reproduce.h"
#include "enwanda/prune/run_settings.h"

namespace enwanda {

std::pair<int64_t, std::string> report_linear_key(const std::string& suffix) {
  // "block_sparse_moe.experts.3.w1" -> {3, "block_sparse_moe.experts.*.w1"}: the first all-digit component
  size_t begin = 0;
  while (begin < suffix.size()) {
    size_t end = suffix.find('.', begin);
    if (end == std::string::npos) end = suffix.size();
    if (end > begin && end < suffix.size() && end - begin <= 9 &&
        std::all_of(suffix.begin() + static_cast<std::ptrdiff_t>(begin), suffix.begin() + static_cast<std::ptrdiff_t>(end),
                    [](char c) { return c >= '0' && c <= '9'; }))
      return {std::stoll(suffix.substr(begin, end - begin)), suffix.substr(0, begin) + "*" + suffix.substr(end)};
    begin = end + 1;
  }
  return {-1, suffix};
}

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
  nlohmann::json experts = nlohmann::json::array();
  if (o.checkpoint_linears.empty()) {  // no names from the walk: the layer's seven kinds
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      per_linear[kLinearNames[j]] = o.linear_sparsity(j);
      linears[kLinearNames[j]] = {{"target", o.targets[j] ? nlohmann::json(*o.targets[j]) : nlohmann::json(nullptr)},
                                  {"achieved", o.linear_sparsity(j)}};
    }
  } else {
    // each kind under the checkpoint's name (an MoE layer's "block_sparse_moe.experts.*.w1" over
    // all experts); the target: null for a linear left as it is (--targets, --ignore)
    std::vector<std::string> keys;
    std::map<std::string, std::array<int64_t, 3>> kinds;  // key -> zeros, weights, kind j
    std::map<int64_t, nlohmann::json> by_expert;
    std::map<int64_t, std::array<int64_t, 2>> expert_counts;
    for (size_t k = 0; k < o.checkpoint_linears.size(); ++k) {
      const auto& cl = o.checkpoint_linears[k];
      const auto j = static_cast<int64_t>(k < 4 ? k : 4 + (k - 4) % 3);  // an expert's gate, up, down (layer_walk)
      const auto [expert, key] = report_linear_key(cl.suffix);
      auto [it, fresh] = kinds.try_emplace(key, std::array<int64_t, 3>{0, 0, j});
      if (fresh) keys.push_back(key);
      it->second[0] += cl.zeros, it->second[1] += cl.weights;
      if (expert >= 0) {
        by_expert[expert][key.substr(key.rfind('.') + 1)] = static_cast<double>(cl.zeros) / static_cast<double>(std::max<int64_t>(cl.weights, 1));
        expert_counts[expert][0] += cl.zeros, expert_counts[expert][1] += cl.weights;
      }
    }
    for (const auto& key : keys) {
      const auto& [zeros, weights, j] = kinds[key];
      const double achieved = static_cast<double>(zeros) / static_cast<double>(std::max<int64_t>(weights, 1));
      const auto& target = o.targets[static_cast<size_t>(j)];
      per_linear[key] = achieved;
      linears[key] = {{"target", target ? nlohmann::json(*target) : nlohmann::json(nullptr)}, {"achieved", achieved}};
    }
    for (const auto& [e, lin] : by_expert)
      experts.push_back({{"expert", e},
                         {"sparsity", static_cast<double>(expert_counts[e][0]) / static_cast<double>(std::max<int64_t>(expert_counts[e][1], 1))},
                         {"linears", lin}});
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
  if (!experts.empty()) {  // per expert over its three linears, and the layer's summary of them
    std::vector<double> v;
    for (const auto& e : experts) v.push_back(e["sparsity"].get<double>());
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    entry["expert_sparsity"] = {{"min", v.front()}, {"median", n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2}, {"max", v.back()}};
    entry["per_expert"] = experts;  // ("experts" holds the routing: tokens per expert)
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

namespace {
// The YAML front matter of a model card: "---\n...\n---\n" at its start, or "".
std::string front_matter(const std::string& card) {
  if (card.rfind("---\n", 0) != 0 && card.rfind("---\r\n", 0) != 0) return "";
  const size_t first = card.find('\n') + 1;
  for (size_t line = first; line < card.size();) {
    const size_t end = card.find('\n', line);
    const std::string text = card.substr(line, (end == std::string::npos ? card.size() : end) - line);
    if (text == "---" || text == "---\r") return card.substr(0, end == std::string::npos ? card.size() : end + 1);
    if (end == std::string::npos) break;
    line = end + 1;
  }
  return "";  // never closed: not front matter
}
}  // namespace

std::string read_model_card(const std::string& model_dir) {
  const auto path = std::filesystem::path(model_dir) / "README.md";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "";
  std::ifstream in(path, std::ios::binary);
  std::string text(64 * 1024, '\0');
  in.read(&text[0], static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string pruned_model_card(const std::string& base_card, const nlohmann::json& report) {
  const nlohmann::json& s = report.at("settings");
  auto text = [&](const char* key) { return s.contains(key) && s[key].is_string() ? s[key].get<std::string>() : std::string(); };
  const std::string model = text("model"), out = text("out");
  std::string method = text("method");
  if (s.contains("geometry")) method += " (" + s["geometry"].get<std::string>() + " geometry, α " + s["alpha"].dump() + ")";
  char achieved[32];
  std::snprintf(achieved, sizeof(achieved), "%.4f", report.value("achieved_sparsity", 0.0));
  std::string calibration = "none (the method reads no calibration data)";
  if (s.value("nsamples", 0) > 0) {
    calibration = s["nsamples"].dump() + " × " + s["seqlen"].dump() + " tokens";
    const auto& c = s.value("calibration", nlohmann::json::object());
    for (const auto& f : c.value("files", nlohmann::json::array()))
      calibration += ", " + f.value("path", std::string()) + " (sha256 " + f.value("sha256", std::string()) + ")";
    if (c.contains("loader")) calibration += ", " + c["loader"].get<std::string>() + " loader, seed " + c["seed"].dump();
  }
  std::ostringstream card;
  const std::string front = front_matter(base_card);
  card << front << (front.empty() ? "" : "\n");
  card << "# " << std::filesystem::path(out).filename().string() << "\n\n"
       << "A pruned copy of `" << std::filesystem::path(model).filename().string() << "`, written by enwanda "
       << report.value("enwanda_version", std::string("?")) << ". Its weights are the base model's with "
       << achieved << " of the pruned linears' weights set to zero; the rest of the checkpoint is the base's"
       << (front.empty() ? "." : ", and so is its licence (the metadata above is the base card's).") << "\n\n"
       << "- base model: " << model << "\n"
       << "- method: " << method << "\n"
       << "- sparsity: " << s.value("sparsity", 0.0) << " asked, " << achieved << " achieved; structure "
       << text("structure") << ", allocation " << text("allocation") << "\n"
       << "- calibration: " << calibration << "\n"
       << "- enwanda version: " << report.value("enwanda_version", std::string("?")) << "\n\n"
       << "Reproduce:\n\n```\n" << report.value("reproduce", std::string()) << "\n```\n\n"
       << "enwanda_report.json beside this card holds every setting, each layer's sparsity and the timings.\n";
  return card.str();
}

void log_prune_summary(const PruneOptions& opt, const nlohmann::json& report, const LlamaConfig& c) {
  // every linear of the checkpoint (an MoE layer's experts one by one), and those with a target
  // (--targets, --ignore leave the others as they are)
  int64_t all = 0, pruned = 0;
  for (const auto& layer : report["layers"]) {
    const auto names = layer_linears(c, layer["layer"].get<int64_t>());
    for (const auto& name : names) {
      const auto& entry = layer["linears"].value(report_linear_key(name.suffix).second, nlohmann::json());
      pruned += entry.is_object() && !entry["target"].is_null();
    }
    all += static_cast<int64_t>(names.size());
  }
  const std::string left = pruned == all ? "" : ", " + std::to_string(pruned) + " of them pruned";
  spdlog::info("pruned {} -> {}: {:.4f} sparsity over {} linears{}, {:.1f} s, peak RSS {:.0f} MiB", opt.model_dir,
               opt.out_dir, report["achieved_sparsity"].get<double>(), all, left,
               report["seconds"]["total"].get<double>(), report["peak_rss_mib"].get<double>());
}

}  // namespace enwanda
