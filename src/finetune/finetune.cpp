#include "enwanda/finetune/finetune.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/finetune/training_state.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/io/json_text.h"
#include "enwanda/io/npy.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/model/tensor_names.h"
#include "enwanda/progress_log.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string without_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Everything checked before any work: flags, windows, outputs.
struct FinetunePlan {
  std::shared_ptr<Checkpoint> checkpoint;
  torch::Tensor windows;  // int64 [N, T]
  int64_t steps = 0;
  std::string state_path;
  std::vector<std::string> inputs;
};

FinetunePlan plan_finetune(const FinetuneOptions& opt) {
  if (opt.windows_path.empty() == opt.data_paths.empty())
    throw UsageError("finetune needs one of --data FILE... (text, cut into --seqlen windows) and --windows W.npy (token windows)");
  if (!opt.data_paths.empty() && opt.seqlen < 2) throw UsageError("--data needs --seqlen of at least 2");
  if (!opt.windows_path.empty() && opt.seqlen > 0) throw UsageError("--seqlen goes with --data; --windows have their own length");
  if (opt.out_dir.empty()) throw UsageError("finetune needs --out ADAPTER");
  if (opt.batch < 1) throw UsageError("--batch must be at least 1");
  if (opt.micro_batch < 1 || opt.micro_batch > opt.batch) throw UsageError("--micro-batch must lie in [1, --batch]");
  if (opt.steps < 0 || opt.samples < 0) throw UsageError("--steps and --samples must not be negative");
  if ((opt.steps > 0) == (opt.samples > 0)) throw UsageError("give one of --steps N and --samples S");
  if (opt.warmup < 0) throw UsageError("--warmup must not be negative");
  if (!(opt.lr >= 0) || !std::isfinite(opt.lr)) throw UsageError("--lr must be a finite number >= 0");
  if (!(opt.max_grad_norm >= 0)) throw UsageError("--max-grad-norm must be >= 0 (0: no clipping)");
  if (opt.lora.dropout != 0)
    throw UsageError("--lora-dropout other than 0 is not implemented yet (the LoRA branch is trained through W_eff)");
  if (opt.save_every < 0) throw UsageError("--save-every must not be negative");
  if (!opt.merge_dir.empty() && opt.lora.mask == MaskMode::none && !opt.merge_dense)
    throw UsageError("--merge with --mask none makes every merged linear dense (B·A has no zeros); "
                     "add --merge-dense to merge anyway, or train with --mask keep");
  FinetunePlan plan;
  plan.inputs = {opt.model_dir};
  if (!opt.windows_path.empty()) plan.inputs.push_back(opt.windows_path);
  plan.inputs.insert(plan.inputs.end(), opt.data_paths.begin(), opt.data_paths.end());
  if (!opt.adapter_init.empty()) plan.inputs.push_back(opt.adapter_init);
  const std::string out = without_trailing_slashes(opt.out_dir);
  plan.state_path = state_path_for(out);
  check_output_directory("--out", out, opt.overwrite, plan.inputs);
  if (!opt.merge_dir.empty()) {
    if (path_is_within(opt.merge_dir, out) || path_is_within(out, opt.merge_dir))
      throw UsageError("--merge and --out must be different directories");
    check_output_directory("--merge", opt.merge_dir, opt.overwrite, plan.inputs);
  }
  if (opt.resume && !fs::exists(plan.state_path))
    throw UsageError("--resume: no saved state " + plan.state_path + " (write one with --save-every K)");
  if (!opt.resume && (opt.save_every > 0) && fs::exists(plan.state_path) && !written_by_enwanda(plan.state_path))
    throw UsageError(plan.state_path + " exists and enwanda did not write it; remove it or choose another --out");

  plan.checkpoint = Checkpoint::open(opt.model_dir);
  const LlamaConfig& cfg = plan.checkpoint->config();
  const std::string what = opt.windows_path.empty() ? "--seqlen" : opt.windows_path;
  const int64_t T = opt.windows_path.empty() ? opt.seqlen : read_token_npy_header(opt.windows_path).cols;
  if (!cfg.trained_for(T))
    throw InputError(what + ": windows of " + std::to_string(T) + " tokens exceed the model's max_position_embeddings " +
                     std::to_string(cfg.max_position_embeddings));
  if (opt.windows_path.empty()) {
    auto tok = Tokenizer::load_for_model(opt.model_dir);
    plan.windows = text_windows(opt.data_paths, opt.text, *tok, opt.seqlen);
    if (plan.windows.max().item<int64_t>() >= cfg.vocab_size)
      throw InputError("--data: the tokenizer gives ids beyond the model's vocab_size " + std::to_string(cfg.vocab_size));
    spdlog::info("--data: {} windows of {} tokens", plan.windows.size(0), T);
  } else {
    plan.windows = read_token_npy(opt.windows_path, cfg.vocab_size);
    if (plan.windows.size(0) < 1 || plan.windows.size(1) < 2)
      throw InputError(opt.windows_path + ": needs at least one window of at least 2 tokens");
  }
  plan.steps = opt.steps > 0 ? opt.steps : (opt.samples + opt.batch - 1) / opt.batch;
  return plan;
}

// What a resumed run must share with the saved one.
nlohmann::json run_settings(const FinetuneOptions& opt, const FinetunePlan& plan) {
  nlohmann::json targets = opt.lora.targets;
  return {{"model_linear_digest", plan.checkpoint->linear_weights_digest()},
          {"windows_sha256", tokens_sha256(plan.windows)},
          {"steps", plan.steps},
          {"shuffle", opt.shuffle_seed ? nlohmann::json(*opt.shuffle_seed) : nlohmann::json(nullptr)},
          {"batch", opt.batch},
          {"lr", opt.lr},
          {"warmup", opt.warmup},
          {"schedule", opt.schedule == Schedule::linear ? "linear" : "constant"},
          {"max_grad_norm", opt.max_grad_norm},
          {"betas", {opt.adam.beta1, opt.adam.beta2}},
          {"eps", opt.adam.eps},
          {"weight_decay", opt.adam.weight_decay},
          {"lora_r", opt.lora.r},
          {"lora_alpha", opt.lora.alpha},
          {"lora_dropout", opt.lora.dropout},
          {"lora_targets", targets},
          {"mask", mask_mode_name(opt.lora.mask)},
          {"init", opt.adapter_init.empty() ? "kaiming seed " + std::to_string(opt.seed) : "adapter " + file_sha256(opt.adapter_init)}};
}

// Sum over the rows' next-token positions of -log p, through every layer with W_eff.
torch::Tensor summed_nll(const LlamaModel& model, const std::vector<LayerWeights>& base, const LoraAdapter& adapter,
                         const torch::Tensor& tokens) {
  const LlamaConfig& cfg = model.config();
  const int64_t T = tokens.size(1);
  auto hidden = model.embed(tokens);
  const auto& rope = model.rotary(T);
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i)
    hidden = layer_forward(adapter.effective(base[static_cast<size_t>(i)], i), hidden, rope, cfg);
  // transformers' CausalLM loss with labels = input_ids: position t predicts token t + 1
  auto lp = model.target_log_probs(hidden.slice(1, 0, T - 1), tokens.slice(1, 1, T));
  return -lp.sum();
}

// Per linear: zeros / weights of the base and of the merged weight (--merge's report).
nlohmann::json merge_checkpoint(const FinetuneOptions& opt, const FinetunePlan& plan, const LoraAdapter& adapter,
                                const nlohmann::json& report) {
  const Checkpoint& ck = *plan.checkpoint;
  std::map<std::string, std::string> provenance = {{"enwanda.version", ENWANDA_VERSION},
                                                   {"enwanda.finetune", "merged LoRA adapter"},
                                                   {"enwanda.mask", mask_mode_name(opt.lora.mask)}};
  CheckpointWriter writer(plan.checkpoint, opt.merge_dir, opt.overwrite, provenance, plan.inputs);
  std::map<std::string, const LoraTarget*> merged;
  for (const auto& t : adapter.targets()) merged[t.name + ".weight"] = &t;
  nlohmann::json sparsity = nlohmann::json::object();
  for (const auto& name : ck.tensor_names()) {
    check_interrupted();
    auto it = merged.find(name);
    if (it == merged.end()) {
      writer.copy(name);
      continue;
    }
    auto base = ck.tensor(name);
    auto stored = writer.as_stored(name, adapter.merged_weight(*it->second, base));
    const double n = static_cast<double>(base.numel());
    sparsity[it->second->name] = {{"before", 1.0 - static_cast<double>(torch::count_nonzero(base).item<int64_t>()) / n},
                                  {"after", 1.0 - static_cast<double>(torch::count_nonzero(stored).item<int64_t>()) / n}};
    writer.put(name, stored);
  }
  nlohmann::json merge_report = report;
  merge_report["merge_sparsity"] = sparsity;
  writer.commit({{kReportFile, merge_report}});
  return sparsity;
}

}  // namespace

std::string state_path_for(const std::string& out_dir) { return without_trailing_slashes(out_dir) + ".state.safetensors"; }

nlohmann::json run_finetune(const FinetuneOptions& opt) {
  const auto started = Clock::now();
  // plan and check
  FinetunePlan plan = plan_finetune(opt);
  const LlamaConfig& cfg = plan.checkpoint->config();
  const nlohmann::json settings = run_settings(opt, plan);
  const int64_t N = plan.windows.size(0), T = plan.windows.size(1);

  // load: every layer held in fp32 on the CPU, frozen
  Runtime rt;
  LlamaModel model(plan.checkpoint, rt);
  std::vector<LayerWeights> base;
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) base.push_back(model.layer(i));

  LoraAdapter adapter(opt.lora, cfg, base);
  if (opt.adapter_init.empty())
    adapter.init_kaiming(opt.seed);
  else
    adapter.load(opt.adapter_init);
  auto params = adapter.parameters();
  std::vector<AdamWMoments> moments;
  for (const auto& p : params) moments.push_back({torch::zeros_like(p).detach(), torch::zeros_like(p).detach()});
  TrainingState state;
  state.settings = settings;
  if (opt.resume) {
    state = load_training_state(plan.state_path, adapter, moments, settings);
    spdlog::info("resumed from {}: {} of {} steps done", plan.state_path, state.steps_done, plan.steps);
  }
  int64_t trainable = 0;
  for (const auto& p : params) trainable += p.numel();
  spdlog::info("finetune {}: {} target linears, r {}, alpha {}, mask {}, {} trainable parameters; {} steps of {} x {} tokens",
               opt.model_dir, adapter.targets().size(), opt.lora.r, opt.lora.alpha, mask_mode_name(opt.lora.mask), trainable,
               plan.steps, opt.batch, T);

  // train
  const double positions = static_cast<double>(opt.batch * (T - 1));
  const auto train_start = Clock::now();
  double smoothed = NAN;
  const int64_t first_step = state.steps_done;
  for (int64_t k = state.steps_done; k < plan.steps; ++k) {
    check_interrupted();  // a step boundary: the last saved state stands
    const auto step_start = Clock::now();
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    const auto rows = step_rows(k, opt.batch, N, opt.shuffle_seed);
    double loss_sum = 0;
    for (int64_t b = 0; b < opt.batch; b += opt.micro_batch) {
      std::vector<int64_t> mb(rows.begin() + b, rows.begin() + std::min(opt.batch, b + opt.micro_batch));
      auto tokens = plan.windows.index_select(0, torch::tensor(mb, torch::kInt64));
      auto nll = summed_nll(model, base, adapter, tokens);
      loss_sum += nll.item<double>();
      (nll / positions).backward();
    }
    const double loss = loss_sum / positions;
    std::vector<torch::Tensor> grads;
    for (auto& p : params) grads.push_back(p.grad());
    const double grad_norm = clip_grad_norm(grads, opt.max_grad_norm);
    if (!std::isfinite(loss) || !std::isfinite(grad_norm))
      throw InputError("step " + std::to_string(k) + ": the loss is " + std::to_string(loss) + " and the gradient norm " +
                       std::to_string(grad_norm) + "; the adapter is not updated" +
                       (opt.save_every > 0 ? " (the last saved state, " + plan.state_path + ", stands)" : ""));
    const double lr = opt.lr * lr_lambda(opt.schedule, k, plan.steps, opt.warmup);
    for (size_t i = 0; i < params.size(); ++i) adamw_step(params[i], grads[i], moments[i], k + 1, lr, opt.adam);
    state.steps_done = k + 1;
    const double dt = seconds_since(step_start);
    state.log.push_back({{"step", k}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm}, {"seconds", dt}});
    smoothed = std::isnan(smoothed) ? loss : 0.9 * smoothed + 0.1 * loss;
    const double per_step = seconds_since(train_start) / static_cast<double>(k + 1 - first_step);
    spdlog::info("step {}/{}: loss {:.4f} (smoothed {:.4f}), lr {:.3g}, grad norm {:.3g}, {:.2f} s, {:.0f} tokens/s, ETA {}",
                 k + 1, plan.steps, loss, smoothed, lr, grad_norm, dt, static_cast<double>(opt.batch * T) / dt,
                 format_duration(per_step * static_cast<double>(plan.steps - k - 1)));
    if (opt.save_every > 0 && (k + 1) % opt.save_every == 0 && k + 1 < plan.steps)
      save_training_state(plan.state_path, adapter, moments, state);
  }
  const double train_seconds = seconds_since(train_start);

  // report
  nlohmann::json settings_out = settings;
  settings_out["model"] = opt.model_dir;
  if (!opt.windows_path.empty()) settings_out["windows"] = opt.windows_path;
  if (!opt.data_paths.empty()) settings_out["data"] = opt.data_paths;
  settings_out["micro_batch"] = opt.micro_batch;
  settings_out["seqlen"] = T;
  settings_out["windows_count"] = N;
  nlohmann::json report = {{"enwanda_version", ENWANDA_VERSION},
                           {"command", opt.command_line},
                           {"settings", settings_out},
                           {"targets", nlohmann::json::array()},
                           {"trainable_parameters", trainable},
                           {"steps", state.log},
                           {"train_seconds_this_run", train_seconds},
                           {"peak_rss_mib", peak_rss_mib()}};
  for (const auto& t : adapter.targets()) report["targets"].push_back(t.name);
  double step_seconds = 0;
  for (const auto& s : state.log) step_seconds += s.at("seconds").get<double>();
  if (!state.log.empty()) {
    report["seconds_per_step"] = step_seconds / static_cast<double>(state.log.size());
    report["tokens_per_second"] = static_cast<double>(opt.batch * T) * static_cast<double>(state.log.size()) / step_seconds;
  }

  // write: the adapter in PEFT's layout, then the merged checkpoint
  check_interrupted();
  if (!opt.merge_dir.empty()) report["merge_sparsity"] = merge_checkpoint(opt, plan, adapter, report);
  report["seconds"] = seconds_since(started);
  const std::string out = without_trailing_slashes(opt.out_dir);
  OutputDirectory dir(out, opt.overwrite, plan.inputs);
  nlohmann::json enwanda_keys = {{"mask", mask_mode_name(opt.lora.mask)},
                                 {"scaling", opt.lora.scaling()},
                                 {"report", "enwanda_finetune.json"}};
  write_text_file(dir.path() + "/adapter_config.json", dump_json(adapter.peft_config(opt.model_dir, enwanda_keys)) + "\n");
  adapter.save_safetensors(dir.path() + "/adapter_model.safetensors");
  write_text_file(dir.path() + "/enwanda_finetune.json", dump_json(report) + "\n");
  // what a later --overwrite may replace (replace_guard.h)
  nlohmann::json listing = {{"enwanda_version", ENWANDA_VERSION},
                            {"files", {"adapter_config.json", "adapter_model.safetensors", "enwanda_finetune.json", kReportFile}}};
  write_text_file(dir.path() + "/" + kReportFile, dump_json(listing) + "\n");
  dir.commit();
  spdlog::info("wrote {}: {} steps, final loss {:.4f}, {:.2f} s/step, peak RSS {:.0f} MiB", out, state.log.size(),
               state.log.empty() ? NAN : state.log.back().at("loss").get<double>(),
               report.value("seconds_per_step", 0.0), peak_rss_mib());
  return report;
}

}  // namespace enwanda
