#include "enwanda/prune/pruner.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/eval/inspect.h"
#include "enwanda/io/background_writer.h"
#include "enwanda/io/checkpoint.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/io/layer_prefetcher.h"
#include "enwanda/io/output_directory.h"
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
  return {s.l1.to(torch::kFloat32).to(torch::kFloat64), s.l2sq.to(torch::kFloat32).to(torch::kFloat64)};
}

torch::Tensor make_mask(const PruneOptions& opt, const torch::Tensor& weight, const torch::Tensor& scores) {
  if (opt.method == Method::magnitude)
    return opt.structure.nm() ? row_mask_n_m(weight.detach().to(torch::kFloat32).abs(), opt.structure.n, opt.structure.m)
                              : matrix_mask_magnitude(weight, opt.sparsity);
  return opt.structure.nm() ? row_mask_n_m(scores, opt.structure.n, opt.structure.m)
                            : row_mask_unstructured(scores, opt.sparsity);
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
}

nlohmann::json prune(PruneOptions opt) {
  validate_prune_options(opt);
  const auto t_start = Clock::now();
  nlohmann::json phases = {{"load", 0.0}, {"calibration", 0.0}, {"statistics", 0.0}, {"scoring", 0.0},
                           {"regional", 0.0}, {"writing", 0.0}};

  // checkpoint
  auto t = Clock::now();
  auto ck = Checkpoint::open(opt.model_dir);
  require_free_space(opt.out_dir, ck->total_bytes());  // before calibration, which can take minutes
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
  const bool needs_activations = uses_activations(opt.method) && opt.load_stats.empty();
  if (needs_activations || (!opt.calib.tokens_path.empty() || !opt.calib.text_paths.empty())) {
    std::shared_ptr<Tokenizer> tok;
    if (opt.calib.tokens_path.empty()) tok = Tokenizer::load((fs::path(opt.model_dir) / "tokenizer.model").string());
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

  StatsKey stats_key{calib_sha, opt.stat_norm == StatNorm::sequences ? "sequences" : "tokens", cfg.num_hidden_layers,
                     cfg.hidden_size, model_weights_summary(*ck)};
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
  CheckpointWriter writer(ck, opt.out_dir, opt.overwrite, provenance);
  // Declared after the writer, so on an error or interrupt they stop before it removes the output.
  BackgroundWriter writes(writer, opt.overlap_io);
  LayerPrefetcher layers(model, opt.overlap_io);

  torch::Tensor hidden;  // [N, T, H] on the device: the current layer's inputs
  if (needs_activations) hidden = model.embed(tokens);
  const bool terminal = isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::info;
  nlohmann::json layers_report = nlohmann::json::array();
  int64_t pruned_total = 0, weights_total = 0;

  const auto t_layers = Clock::now();
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    check_interrupted();
    const auto t_layer = Clock::now();
    t = Clock::now();
    LayerWeights w = layers.take(i);
    phases["load"] = phases["load"].get<double>() + seconds_since(t);

    // dense pass: statistics of every linear input; the dense outputs are kept only where they
    // are needed: as Wanda++'s reconstruction targets, or as the next inputs without --sequential
    t = Clock::now();
    ActivationStats stats;
    torch::Tensor dense_out;
    if (needs_activations) {
      InputObserver observe = stats.observer();
      if (uses_regional_gradients(opt.method)) dense_out = model.forward_layer(w, hidden, &observe);
      else if (!opt.sequential) model.forward_layer_in_place(w, hidden, &observe);
      else model.observe_layer(w, hidden, observe);
    }
    phases["statistics"] = phases["statistics"].get<double>() + seconds_since(t);

    // activation scale A_j per linear
    std::array<torch::Tensor, 7> scale;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      if (!uses_activations(opt.method)) continue;
      ChannelStats cs = stats_in ? stats_in->get(i, kLinearNames[j])
                                 : rounded(stats.channel_stats(input_of_linear(static_cast<int>(j)), opt.stat_norm));
      if (!opt.save_stats.empty()) stats_out.add(i, kLinearNames[j], cs);
      scale[j] = activation_scale(opt.method, opt.geometry, opt.alpha, cs);
    }

    // scores and masks
    t = Clock::now();
    auto prune_with = [&](LayerWeights& target, const std::array<torch::Tensor, 7>* grad_rms) {
      torch::NoGradGuard no_grad;
      for (size_t j = 0; j < kLinearNames.size(); ++j) {
        auto& W = target.linears[j];
        torch::Tensor scores;
        if (opt.method != Method::magnitude)
          scores = score_elastic_net(W, scale[j], grad_rms ? (*grad_rms)[j] : torch::Tensor(), opt.regional.gamma);
        W.masked_fill_(make_mask(opt, W, scores), 0.0);
      }
    };
    nlohmann::json regional_report;
    if (uses_regional_gradients(opt.method)) {
      const auto t_reg = Clock::now();
      const int64_t n = hidden.size(0);
      const int64_t rgs_n = opt.regional.rgs_samples > 0 ? std::min(opt.regional.rgs_samples, n) : n;
      const auto& rope = model.rotary(hidden.size(1));
      Tf32Matmuls tf32(opt.regional.tf32);
      LayerWeights master = fp32_master(w);
      auto grad_rms = regional_gradient_rms(master, hidden, rgs_n, rope, cfg);
      prune_with(master, &grad_rms);
      regional_report["loss_before_ro"] = reconstruction_error(master, hidden, dense_out, rope, cfg);
      if (opt.regional.ro && opt.regional.ro_iters > 0) {
        std::vector<torch::Tensor> params(master.linears.begin(), master.linears.end());
        torch::optim::RMSprop rmsprop(params, torch::optim::RMSpropOptions(opt.regional.ro_lr));
        std::mt19937_64 rng(opt.calib.seed + static_cast<uint64_t>(i));
        for (int64_t it = 0; it < opt.regional.ro_iters; ++it) {
          std::vector<int64_t> order(static_cast<size_t>(n));
          std::iota(order.begin(), order.end(), 0);
          std::shuffle(order.begin(), order.end(), rng);
          order.resize(static_cast<size_t>(std::min(opt.regional.ro_samples, n)));
          regional_optimisation_round(master, rmsprop, hidden, dense_out, order, rope, cfg);
          grad_rms = regional_gradient_rms(master, hidden, rgs_n, rope, cfg);
          prune_with(master, &grad_rms);  // the last iteration's pruning makes the final sparsity exact
        }
        regional_report["loss_after_ro"] = reconstruction_error(master, hidden, dense_out, rope, cfg);
      }
      for (size_t j = 0; j < 7; ++j) w.linears[j] = master.linears[j].detach().to(rt.compute_dtype);
      phases["regional"] = phases["regional"].get<double>() + seconds_since(t_reg);
    } else {
      prune_with(w, nullptr);
    }
    phases["scoring"] = phases["scoring"].get<double>() + seconds_since(t);

    // write the pruned layer (on the writer's thread, once the previous layer is out)
    t = Clock::now();
    writes.wait();
    nlohmann::json lin = nlohmann::json::object();
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = layer_tensor_name(i, kLinearNames[j]);
      writes.put(name, w.linears[j]);
      const int64_t zeros = (w.linears[j] == 0).sum().item<int64_t>();
      lin[kLinearNames[j]] = static_cast<double>(zeros) / static_cast<double>(w.linears[j].numel());
      pruned_total += zeros;
      weights_total += w.linears[j].numel();
    }
    writes.copy(layer_tensor_name(i, "input_layernorm"));
    writes.copy(layer_tensor_name(i, "post_attention_layernorm"));
    phases["writing"] = phases["writing"].get<double>() + seconds_since(t);

    // next layer's inputs: through the pruned layer (sequential); without --sequential the dense
    // pass already left them in `hidden`
    t = Clock::now();
    if (needs_activations && opt.sequential) model.forward_layer_in_place(w, hidden);
    phases["statistics"] = phases["statistics"].get<double>() + seconds_since(t);

    nlohmann::json entry = {{"layer", i}, {"sparsity", lin}, {"seconds", seconds_since(t_layer)}};
    if (!regional_report.is_null()) entry["regional"] = regional_report;
    layers_report.push_back(entry);
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
  writes.wait();
  if (!opt.save_stats.empty()) stats_out.write(opt.save_stats, stats_key);

  nlohmann::json report = {
      {"enwanda_version", ENWANDA_VERSION},
      {"command_line", opt.command_line},
      {"settings",
       {{"model", opt.model_dir}, {"out", opt.out_dir}, {"method", method_name(opt.method)},
        {"geometry", geometry_name(opt.geometry)}, {"alpha", opt.alpha}, {"sparsity", opt.sparsity},
        {"structure", opt.structure.str()}, {"stat_norm", stats_key.stat_norm}, {"sequential", opt.sequential},
        {"nsamples", tokens.defined() ? tokens.size(0) : 0}, {"seqlen", tokens.defined() ? tokens.size(1) : 0},
        {"seed", opt.calib.seed}, {"calib_mult", opt.calib.calib_mult}, {"device", rt.device.str()},
        {"compute_dtype", std::string(c10::toString(rt.compute_dtype))}, {"batch_size", rt.batch_size},
        {"threads", rt.threads}, {"blas", blas_library()}, {"blas_kernels", blas_kernels()}, {"overlap_io", opt.overlap_io}, {"load_stats", opt.load_stats}, {"save_stats", opt.save_stats}}},
      {"calibration_sha256", calib_sha},
      {"achieved_sparsity", static_cast<double>(pruned_total) / std::max<int64_t>(weights_total, 1)},
      {"layers", layers_report},
  };
  if (uses_regional_gradients(opt.method))
    report["settings"]["regional"] = {{"rgs_scale", opt.regional.gamma}, {"rgs_samples", opt.regional.rgs_samples},
                                      {"ro", opt.regional.ro}, {"ro_iters", opt.regional.ro_iters},
                                      {"ro_samples", opt.regional.ro_samples}, {"ro_lr", opt.regional.ro_lr},
                                      {"tf32", opt.regional.tf32}};
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
