#include "enwanda/prune/pruner.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/eval/inspect.h"
#include "enwanda/prune/reproduce.h"
#include "enwanda/prune/run_settings.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/io/background_writer.h"
#include "enwanda/io/checkpoint.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/io/layer_prefetcher.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/io/stats_file.h"
#include "enwanda/model/blas_kernels.h"
#include "enwanda/model/device_memory.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/progress_log.h"
#include "enwanda/text/tokenizer.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Statistics are rounded to fp32 before use so a run that loads them from a --save-stats file
// (stored as fp32) gives exactly the masks of the run that gathered them.
ChannelStats rounded(const ChannelStats& s) {
  return {s.l1.to(torch::kFloat32).to(torch::kFloat64), s.l2sq.to(torch::kFloat32).to(torch::kFloat64), s.mean, s.var};
}

std::string model_weights_summary(const Checkpoint& ck) {
  return std::to_string(ck.tensor_names().size()) + " tensors, " + std::to_string(ck.total_bytes()) + " bytes, " +
         dtype_name(ck.weight_dtype());
}

// ", about 20 min left" after `done` of `total` layers in `elapsed` seconds (the layers left at the
// mean time of those done); "" after the last.
std::string time_left(double elapsed, int64_t done, int64_t total) {
  if (done >= total) return "";
  return ", about " + format_duration(elapsed / static_cast<double>(done) * static_cast<double>(total - done)) + " left";
}

// `elapsed`: seconds since the first layer began. "\033[K" clears what a longer previous line left.
void draw_progress(int64_t done, int64_t total, double elapsed) {
  const int width = 30;
  int filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
  const std::string left = time_left(elapsed, done, total);
  std::fprintf(stderr, "\r[%s%s] %lld/%lld layers, %s%s\033[K", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), static_cast<long long>(done), static_cast<long long>(total),
               format_duration(elapsed).c_str(), left.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}


// OWL's first pass: the dense model layer by layer (each layer's inputs are the dense outputs of
// the one before), and each layer's outlier ratio D_l from its Wanda scores |W_ij|·sqrt(L2sq_j).
// With --load-stats the statistics come from the file and nothing runs through the model.
std::vector<double> owl_outlier_ratios(const LlamaModel& model, const torch::Tensor& tokens, const PruneOptions& opt,
                                       StatsFileReader* stats_in) {
  const int64_t layers = model.config().num_hidden_layers;
  torch::Tensor hidden;  // [N, T, H]
  if (!stats_in) hidden = model.embed(tokens);
  std::vector<double> ratios;
  for (int64_t i = 0; i < layers; ++i) {
    check_interrupted();
    const LayerWeights w = model.layer(i);
    ActivationStats stats;
    if (!stats_in) {
      const InputObserver observe = stats.observer();
      model.forward_layer_in_place(w, hidden, &observe);
    }
    std::vector<torch::Tensor> scores;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const ChannelStats cs = stats_in ? stats_in->get(i, kLinearNames[j])
                                       : rounded(stats.channel_stats(input_of_linear(static_cast<int>(j)), opt.stat_norm));
      scores.push_back(score_elastic_net(w.linears[j], activation_scale(Method::wanda, Geometry::modified, 0.0, cs)));
    }
    ratios.push_back(outlier_ratio(scores, opt.owl.m));
    spdlog::info("OWL pass [{:4}/{:4}] layer {}: outlier ratio {:.4f}%", i + 1, layers, i, ratios.back());
  }
  return ratios;
}
}  // namespace

void validate_prune_options(PruneOptions& opt) {
  if (!(opt.alpha >= 0.0 && opt.alpha <= 1.0)) throw UsageError("--alpha must lie in [0, 1], got " + std::to_string(opt.alpha));
  if (opt.structure.nm()) opt.sparsity = static_cast<double>(opt.structure.n) / static_cast<double>(opt.structure.m);
  if (!(opt.sparsity >= 0.0 && opt.sparsity < 1.0))
    throw UsageError("--sparsity must lie in [0, 1), got " + std::to_string(opt.sparsity));
  if (opt.model_dir.empty()) throw UsageError("--model is required");
  if (opt.out_dir.empty()) throw UsageError("--out is required");
  const bool has_text = !opt.calib.text_paths.empty(), has_tokens = !opt.calib.tokens_path.empty();
  if (has_text && has_tokens) throw UsageError("give either --calib or --calib-tokens, not both");
  if (opt.calib.sampling != "windows" && opt.calib.sampling != "documents")
    throw UsageError("--calib-sampling must be windows or documents, got " + opt.calib.sampling);
  if (has_tokens && opt.calib.sampling != "windows")
    throw UsageError("--calib-sampling applies to --calib text; --calib-tokens windows are used as they are");
  if (uses_activations(opt.method) && !has_text && !has_tokens && opt.load_stats.empty())
    throw UsageError("--method " + method_name(opt.method) + " needs calibration data: --calib PATH or --calib-tokens FILE.npy");
  if ((!opt.save_stats.empty() || !opt.load_stats.empty()) && opt.sequential)
    throw UsageError("--save-stats/--load-stats need --no-sequential (sequential statistics depend on the pruning)");
  if (!opt.load_stats.empty() && uses_regional_gradients(opt.method))
    throw UsageError("--load-stats cannot be combined with --method " + method_name(opt.method) + " (it needs the calibration activations)");
  if (uses_regional_gradients(opt.method) && !opt.sequential)
    throw UsageError("--method " + method_name(opt.method) + " is sequential by definition; drop --no-sequential");
  if (opt.regional.ro_iters < 0 || opt.regional.ro_samples <= 0 || opt.regional.rgs_samples < 0 || !(opt.regional.ro_lr > 0))
    throw UsageError("--ro-iters must be >= 0, --ro-samples and --ro-lr positive, --rgs-samples >= 0");
  if (opt.regional.tf32 && !uses_regional_gradients(opt.method))
    throw UsageError("--regional-tf32 applies to --method wanda++ and en++ only");
  if (opt.method == Method::sparsegpt) {
    if (!(opt.sparsegpt.damp > 0.0 && std::isfinite(opt.sparsegpt.damp)))
      throw UsageError("--sparsegpt-damp must be positive, got " + std::to_string(opt.sparsegpt.damp));
    if (opt.sparsegpt.block <= 0) throw UsageError("--sparsegpt-block must be positive");
    if (opt.structure.nm() && opt.sparsegpt.block % opt.structure.m != 0)
      throw UsageError("--sparsegpt-block " + std::to_string(opt.sparsegpt.block) + " must be a multiple of M=" +
                       std::to_string(opt.structure.m) + " of --structure " + opt.structure.str());
    if (!opt.save_stats.empty() || !opt.load_stats.empty())
      throw UsageError("--save-stats/--load-stats hold per-channel statistics; --method sparsegpt needs each input's XᵀX");
  }
  if ((opt.method == Method::dsnot || opt.method == Method::alps) && (!opt.save_stats.empty() || !opt.load_stats.empty()))
    throw UsageError("--save-stats/--load-stats hold L1 and L2² per channel; --method " + method_name(opt.method) +
                     (opt.method == Method::alps ? " needs each input's XᵀX" : " needs each channel's signed sum and variance too"));
  if (opt.method == Method::ria && !std::isfinite(opt.ria.power)) throw UsageError("--ria-power must be a finite number");
  if (opt.allocation == Allocation::owl) {
    if (opt.structure.nm())
      throw UsageError("--allocation owl with --structure " + opt.structure.str() +
                       " is not supported (OWL's N:M variant changes N per layer)");
    if (!(opt.owl.m > 0.0) || !(opt.owl.lambda >= 0.0) || !std::isfinite(opt.owl.m) || !std::isfinite(opt.owl.lambda))
      throw UsageError("--owl-m must be positive and --owl-lambda >= 0");
    if (opt.calib.text_paths.empty() && opt.calib.tokens_path.empty() && opt.load_stats.empty())
      throw UsageError("--allocation owl needs calibration data (its outlier ratios come from Wanda scores): --calib PATH or --calib-tokens FILE.npy");
  }
}

nlohmann::json prune(PruneOptions opt) {
  validate_prune_options(opt);
  const auto t_start = Clock::now();
  nlohmann::json phases = {{"load", 0.0}, {"calibration", 0.0}, {"statistics", 0.0}, {"scoring", 0.0},
                           {"regional", 0.0}, {"writing", 0.0}};

  // checkpoint
  auto t = Clock::now();
  auto ck = Checkpoint::open(opt.model_dir);
  // what the outputs may replace, and the free space, before calibration, which can take minutes
  std::vector<std::string> inputs = opt.calib.text_paths;
  inputs.insert(inputs.end(), {opt.model_dir, opt.calib.tokens_path, opt.load_stats});
  check_output_directory("--out", opt.out_dir, opt.overwrite, inputs);
  if (!opt.save_stats.empty()) check_output_file("--save-stats", opt.save_stats, opt.overwrite, inputs);
  require_free_space(opt.out_dir, ck->total_bytes());
  // pruning enwanda's own output again is legal (a second pass at a higher sparsity), but more
  // often a --model pointing at the wrong directory
  if (const auto first_run = pruned_by(opt.model_dir); !first_run.empty())
    spdlog::warn("--model {} is the output of {} (enwanda_report.json); pruning it prunes an already pruned model",
                 opt.model_dir, first_run);
  const LlamaConfig& cfg = ck->config();
  Runtime rt = make_runtime(opt.device, opt.dtype, ck->weight_dtype(), opt.threads, opt.batch_size);
  rt.overlap_io = opt.overlap_io;
  if (opt.regional.tf32 && !rt.cuda())
    throw UsageError("--regional-tf32 needs --device cuda (on the CPU the regional matmuls are plain fp32)");
  reset_peak_device_memory(rt.device);
  if (opt.structure.nm())
    for (int64_t in : {cfg.hidden_size, cfg.q_dim(), cfg.intermediate_size})
      if (in % opt.structure.m != 0)
        throw UsageError("--structure " + opt.structure.str() + ": M=" + std::to_string(opt.structure.m) +
                         " does not divide in_features=" + std::to_string(in));
  phases["load"] = seconds_since(t);

  // calibration tokens
  t = Clock::now();
  torch::Tensor tokens;
  std::string calib_sha;
  const auto method = make_layer_method(opt);
  const DenseNeeds needs = method->needs();
  // a dense pass over each layer's calibration inputs, unless the method needs nothing from one
  // or its statistics come from --load-stats
  const bool dense_pass = (needs.channel_stats || needs.input_grams || needs.dense_outputs) && opt.load_stats.empty();
  if (dense_pass || opt.allocation == Allocation::owl || !opt.calib.tokens_path.empty() || !opt.calib.text_paths.empty()) {
    std::shared_ptr<Tokenizer> tok;
    if (opt.calib.tokens_path.empty()) tok = Tokenizer::load_for_model(opt.model_dir);
    tokens = load_calibration(opt.calib, tok.get(), cfg.vocab_size);
    calib_sha = tokens_sha256(tokens);
    spdlog::info("calibration: {} sequences x {} tokens, sha256 {}", tokens.size(0), tokens.size(1), calib_sha.substr(0, 16));
    cfg.warn_if_untrained(tokens.size(1), "calibration sequences");
    // micro-batches sized to the free device memory unless --batch-size says otherwise
    if (rt.cuda() && opt.batch_size <= 0) rt.batch_size = default_cuda_micro_batch(rt, cfg, tokens.size(1), tokens.size(0));
  }
  phases["calibration"] = seconds_since(t);

  t = Clock::now();
  LlamaModel model(ck, rt);
  spdlog::info("model {}: {} layers, hidden {}, {} heads ({} kv), {}; running on {}", opt.model_dir, cfg.num_hidden_layers,
               cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, dtype_name(ck->weight_dtype()), rt.describe());
  phases["load"] = phases["load"].get<double>() + seconds_since(t);

  // the statistics' key names the weights they were gathered on (a digest of every linear's bytes,
  // read only when statistics are saved or loaded)
  const bool stats_file = !opt.save_stats.empty() || !opt.load_stats.empty();
  StatsKey stats_key{calib_sha, opt.stat_norm == StatNorm::sequences ? "sequences" : "tokens", cfg.num_hidden_layers,
                     cfg.hidden_size,
                     model_weights_summary(*ck) + (stats_file ? ", linears digest " + ck->linear_weights_digest() : "")};
  std::unique_ptr<StatsFileReader> stats_in;
  if (!opt.load_stats.empty()) {
    if (calib_sha.empty())
      throw UsageError("--load-stats needs the calibration set it was gathered with (--calib or --calib-tokens) to check it");
    stats_in = std::make_unique<StatsFileReader>(opt.load_stats, stats_key);
  }
  StatsFileWriter stats_out;

  std::map<std::string, std::string> provenance = {{"enwanda.version", ENWANDA_VERSION},
                                                   {"enwanda.method", method_name(opt.method)},
                                                   {"enwanda.sparsity", std::to_string(opt.sparsity)}};
  CheckpointWriter writer(ck, opt.out_dir, opt.overwrite, provenance, inputs);
  // Declared after the writer, so on an error or interrupt they stop before it removes the output.
  BackgroundWriter writes(writer, opt.overlap_io);

  // each layer's sparsity: uniform, or OWL's from a first dense pass over every layer
  std::vector<double> outlier_ratios, sparsities(static_cast<size_t>(cfg.num_hidden_layers), opt.sparsity);
  if (opt.allocation == Allocation::owl) {
    t = Clock::now();
    outlier_ratios = owl_outlier_ratios(model, tokens, opt, stats_in.get());
    sparsities = owl_sparsities(outlier_ratios, opt.sparsity, opt.owl.lambda);
    for (size_t l = 0; l < sparsities.size(); ++l)
      if (sparsities[l] >= 1.0)
        throw UsageError("OWL gives layer " + std::to_string(l) + " sparsity " + std::to_string(sparsities[l]) +
                         " (>= 1); lower --owl-lambda or --sparsity");
    const auto [lo, hi] = std::minmax_element(sparsities.begin(), sparsities.end());
    spdlog::info("OWL: layer sparsities from {:.4f} to {:.4f} (mean {:.4f}), {:.1f} s", *lo, *hi, opt.sparsity, seconds_since(t));
    phases["allocation"] = seconds_since(t);
  }

  LayerPrefetcher layers(model, opt.overlap_io);

  // tensors of the layers that the pipeline does not use (older saves' rotary_emb.inv_freq, say):
  // copied byte for byte beside their layer, with one warning naming them
  std::set<std::string> used;
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    for (const auto& name : layer_parameter_names(cfg, i)) used.insert(name);
    for (const auto& lin : kLinearNames) used.insert(layer_tensor_name(i, lin));
  }
  std::vector<std::vector<std::string>> unused_of_layer(static_cast<size_t>(cfg.num_hidden_layers));
  std::vector<std::string> unused;
  for (const auto& name : ck->tensor_names()) {
    if (name.rfind("model.layers.", 0) != 0 || used.count(name)) continue;
    unused.push_back(name);
    const int64_t i = std::atoll(name.c_str() + std::string("model.layers.").size());
    if (i >= 0 && i < cfg.num_hidden_layers) unused_of_layer[static_cast<size_t>(i)].push_back(name);
  }
  if (!unused.empty())
    spdlog::warn("{} tensor(s) that enwanda does not use are copied to the output byte for byte: {}{}", unused.size(),
                 unused.front(), unused.size() > 1 ? " ... " + unused.back() : "");

  torch::Tensor hidden;  // [N, T, H] on the device: the current layer's inputs
  if (dense_pass) hidden = model.embed(tokens);
  const bool terminal = isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
  nlohmann::json layers_report = nlohmann::json::array();
  int64_t pruned_total = 0, weights_total = 0;

  const auto t_layers = Clock::now();
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    check_interrupted();
    const auto t_layer = Clock::now();
    std::map<std::string, double> layer_seconds;  // this layer's phases (-v)
    t = Clock::now();
    LayerWeights w = layers.take(i);
    layer_seconds["load"] = seconds_since(t);
    phases["load"] = phases["load"].get<double>() + seconds_since(t);

    // dense pass: what the method needs of every linear input; the dense outputs are kept only
    // where they are needed: as Wanda++'s reconstruction targets, or as the next inputs without
    // --sequential
    t = Clock::now();
    ActivationStats stats(needs.channel_moments);
    InputGrams grams;
    torch::Tensor dense_out;
    if (dense_pass) {
      const InputObserver observe = [&](LinearInput which, const torch::Tensor& x) {
        if (needs.channel_stats) stats.add(which, x);
        if (needs.input_grams) grams.add(which, x);
      };
      if (needs.dense_outputs) dense_out = model.forward_layer(w, hidden, &observe);
      else if (!opt.sequential) model.forward_layer_in_place(w, hidden, &observe);
      else model.observe_layer(w, hidden, observe);
    }
    LayerEvidence evidence;
    evidence.layer = i;
    evidence.grams = &grams;
    evidence.inputs = &hidden;
    evidence.dense_outputs = &dense_out;
    evidence.model = &model;
    evidence.seed = opt.calib.seed;
    if (needs.channel_stats)
      for (size_t j = 0; j < kLinearNames.size(); ++j) {
        evidence.stats[j] = stats_in ? stats_in->get(i, kLinearNames[j])
                                     : rounded(stats.channel_stats(input_of_linear(static_cast<int>(j)), opt.stat_norm));
        if (!opt.save_stats.empty()) stats_out.add(i, kLinearNames[j], evidence.stats[j]);
      }
    layer_seconds["statistics"] = seconds_since(t);
    phases["statistics"] = phases["statistics"].get<double>() + seconds_since(t);

    // the method prunes the layer
    t = Clock::now();
    const double layer_sparsity = sparsities[static_cast<size_t>(i)];
    const bool verbose = spdlog::should_log(spdlog::level::debug);
    std::array<torch::Tensor, 7> dense_linears;  // -v: what the method started from
    if (verbose)
      for (size_t j = 0; j < kLinearNames.size(); ++j) dense_linears[j] = w.linears[j].clone();
    const nlohmann::json method_report = method->prune_layer(w, evidence, layer_sparsity);
    const double pruning_seconds = seconds_since(t);
    layer_seconds["pruning"] = pruning_seconds;
    phases["scoring"] = phases["scoring"].get<double>() + pruning_seconds;
    if (uses_regional_gradients(opt.method))  // Wanda++'s gradients and RO: all of its "scoring"
      phases["regional"] = phases["regional"].get<double>() + pruning_seconds;

    // write the pruned layer (on the writer's thread, once the previous layer is out)
    t = Clock::now();
    writes.wait();
    nlohmann::json lin = nlohmann::json::object();
    int64_t layer_zeros = 0, layer_weights = 0;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = layer_tensor_name(i, kLinearNames[j]);
      writes.put(name, w.linears[j]);
      const int64_t zeros = (w.linears[j] == 0).sum().item<int64_t>();
      lin[kLinearNames[j]] = static_cast<double>(zeros) / static_cast<double>(w.linears[j].numel());
      layer_zeros += zeros;
      layer_weights += w.linears[j].numel();
    }
    pruned_total += layer_zeros;
    weights_total += layer_weights;
    for (const auto& name : layer_parameter_names(cfg, i)) writes.copy(name);  // norms and biases, unpruned
    for (const auto& name : unused_of_layer[static_cast<size_t>(i)]) writes.copy(name);
    layer_seconds["writing"] = seconds_since(t);
    phases["writing"] = phases["writing"].get<double>() + seconds_since(t);

    // next layer's inputs: through the pruned layer (sequential); without --sequential the dense
    // pass already left them in `hidden`
    t = Clock::now();
    if (dense_pass && opt.sequential) model.forward_layer_in_place(w, hidden);
    layer_seconds["next inputs"] = seconds_since(t);
    phases["statistics"] = phases["statistics"].get<double>() + seconds_since(t);

    const double layer_achieved = static_cast<double>(layer_zeros) / static_cast<double>(std::max<int64_t>(layer_weights, 1));
    nlohmann::json entry = {{"layer", i}, {"sparsity", lin}, {"achieved_sparsity", layer_achieved},
                            {"seconds", seconds_since(t_layer)}};
    if (opt.allocation == Allocation::owl) {
      entry["target_sparsity"] = layer_sparsity;
      entry["outlier_ratio"] = outlier_ratios[static_cast<size_t>(i)];
    }
    if (method_report.is_object()) entry.update(method_report);
    layers_report.push_back(entry);
    if (verbose) {
      for (size_t j = 0; j < kLinearNames.size(); ++j) {
        // the cut in magnitude: the largest |w| pruned and the smallest |w| kept (methods score by
        // more than magnitude, so the two overlap except for magnitude pruning)
        auto before = dense_linears[j].abs().to(torch::kFloat32);
        auto pruned = w.linears[j].eq(0).logical_and(before.ne(0));
        const double largest_pruned = pruned.any().item<bool>() ? before.masked_select(pruned).max().item<double>() : 0.0;
        auto kept = w.linears[j].ne(0);
        const double smallest_kept = kept.any().item<bool>() ? before.masked_select(kept).min().item<double>() : 0.0;
        spdlog::debug("layer {} {}: sparsity {:.4f}, largest |w| pruned {:.4g}, smallest |w| kept {:.4g}", i, kLinearNames[j],
                      lin[kLinearNames[j]].get<double>(), largest_pruned, smallest_kept);
      }
      spdlog::debug("layer {}: target sparsity {:.4f}, achieved {:.4f}; seconds: load {:.3f}, statistics {:.3f}, "
                    "pruning {:.3f}, writing {:.3f}, next inputs {:.3f}",
                    i, layer_sparsity, layer_achieved, layer_seconds["load"], layer_seconds["statistics"],
                    layer_seconds["pruning"], layer_seconds["writing"], layer_seconds["next inputs"]);
    }
    if (terminal) {
      draw_progress(i + 1, cfg.num_hidden_layers, seconds_since(t_layers));
    } else {
      spdlog::info("[{:4}/{:4}] layer {}: {:.4f} sparsity, {:.2f} s{}", i + 1, cfg.num_hidden_layers, i,
                   static_cast<double>(pruned_total) / std::max<int64_t>(weights_total, 1), seconds_since(t_layer),
                   time_left(seconds_since(t_layers), i + 1, cfg.num_hidden_layers));
    }
  }

  // embeddings, final norm, lm_head: byte for byte
  t = Clock::now();
  for (const auto& name : ck->tensor_names())
    if (name.rfind("model.layers.", 0) != 0) writes.copy(name);
  for (const auto& name : unused) {  // a layer past num_hidden_layers
    const int64_t i = std::atoll(name.c_str() + std::string("model.layers.").size());
    if (i < 0 || i >= cfg.num_hidden_layers) writes.copy(name);
  }
  writes.wait();
  if (!opt.save_stats.empty()) stats_out.write(opt.save_stats, stats_key);

  nlohmann::json report = {
      {"enwanda_version", ENWANDA_VERSION},
      {"command_line", opt.command_line},
      {"reproduce", reproducing_command(opt)},
      {"settings", run_settings(opt, stats_key, tokens, rt)},
      {"calibration_sha256", calib_sha},
      {"achieved_sparsity", static_cast<double>(pruned_total) / std::max<int64_t>(weights_total, 1)},
      {"layers", layers_report},
  };
  phases["writing"] = phases["writing"].get<double>() + seconds_since(t);
  report["seconds"] = phases;
  report["seconds"]["total"] = seconds_since(t_start);
  report["seconds"]["writer_thread_busy"] = writes.busy_seconds();
  report["peak_rss_mib"] = peak_rss_mib();
  if (rt.cuda()) {
    const PeakMemory peak = peak_device_memory(rt.device);
    report["peak_device_memory_mib"] = {{"allocated", peak.allocated_bytes / 1048576.0},
                                        {"reserved", peak.reserved_bytes / 1048576.0}};
  }
  report["bytes_written"] = writer.bytes_written();
  check_interrupted();
  writer.commit({{"enwanda_report.json", report}});
  spdlog::info("pruned {} -> {}: {:.4f} sparsity over {} linears, {:.1f} s, peak RSS {:.0f} MiB", opt.model_dir,
               opt.out_dir, report["achieved_sparsity"].get<double>(), 7 * cfg.num_hidden_layers,
               report["seconds"]["total"].get<double>(), report["peak_rss_mib"].get<double>());
  return report;
}

}  // namespace enwanda
