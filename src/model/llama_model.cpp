#include "enwanda/model/llama_model.h"

#include <cmath>

#include "enwanda/errors.h"
#include "enwanda/model/layer_prefetcher.h"

namespace enwanda {

LlamaModel::LlamaModel(std::shared_ptr<const Checkpoint> ck, Runtime rt) : ck_(std::move(ck)), rt_(rt) {
  norm_ = ck_->tensor("model.norm.weight").to(rt_.device, rt_.compute_dtype);
  const char* head = config().tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  head_ = ck_->tensor(head).to(rt_.device, rt_.compute_dtype);
  require_finite(norm_, "model.norm.weight", ck_->dir());
  require_finite(head_, head, ck_->dir());
  if (!config().tie_word_embeddings) require_finite(ck_->tensor("model.embed_tokens.weight"), "model.embed_tokens.weight", ck_->dir());
}

torch::Tensor LlamaModel::embed(const torch::Tensor& tokens) const {
  // Gather rows from the mapped embedding without copying the whole table.
  auto table = ck_->tensor("model.embed_tokens.weight");
  auto rows = torch::index_select(table, 0, tokens.to(torch::kCPU).reshape({-1}));
  auto hidden = rows.view({tokens.size(0), tokens.size(1), -1}).to(rt_.device, rt_.compute_dtype);
  // Gemma2Model.forward's normalizer: √hidden_size rounded to the activation dtype first
  if (config().scaled_embeddings)
    hidden = hidden * torch::tensor(std::sqrt(static_cast<double>(config().hidden_size)), hidden.options());
  return hidden;
}

torch::Tensor LlamaModel::target_log_probs(const torch::Tensor& hidden, const torch::Tensor& targets,
                                           torch::Tensor* greedy) const {
  const int64_t rows = hidden.size(0) * hidden.size(1);
  auto flat = hidden.reshape({rows, hidden.size(2)});
  auto flat_targets = targets.to(hidden.device()).reshape({rows});
  auto asked = torch::nonzero(flat_targets >= 0).reshape({-1});
  auto out = torch::zeros({rows}, hidden.options().dtype(torch::kFloat32));
  torch::Tensor is_max;
  if (greedy) is_max = torch::zeros({rows}, hidden.options().dtype(torch::kBool));
  // per position: the fp32 logits and logsumexp's temporary of the same size
  const int64_t chunk = std::max<int64_t>(1, rt_.logits_budget_bytes / (head_.size(0) * 4 * 2));
  for (int64_t p = 0; p < asked.size(0); p += chunk) {
    auto at = asked.slice(0, p, std::min(asked.size(0), p + chunk));
    auto h = apply_norm(flat.index_select(0, at), norm_, config());
    auto logits = torch::matmul(h, head_.t());  // [chunk, vocab]
    if (config().final_softcap > 0) logits = soft_cap(logits, config().final_softcap);  // Gemma2ForCausalLM.forward
    logits = logits.to(torch::kFloat32);
    auto target_logit = logits.gather(-1, flat_targets.index_select(0, at).unsqueeze(-1)).squeeze(-1);
    out.index_copy_(0, at, target_logit - torch::logsumexp(logits, -1));
    // lm-eval's is_greedy (HFLM._loglikelihood_tokens: greedy_tokens = logits.argmax(dim=-1))
    if (greedy) is_max.index_copy_(0, at, logits.argmax(-1) == flat_targets.index_select(0, at));
  }
  if (greedy) *greedy = is_max.view({hidden.size(0), hidden.size(1)});
  return out.view({hidden.size(0), hidden.size(1)});
}

const RotaryTables& LlamaModel::rotary(int64_t seqlen) const {
  auto it = rotary_.find(seqlen);
  if (it == rotary_.end()) it = rotary_.emplace(seqlen, make_rotary_tables(config(), seqlen, rt_)).first;
  return it->second;
}

namespace {
// Calls fn(rows) with each micro-batch of `size` sequences of `hidden` [N, T, H] (views, in order).
template <class Fn>
void for_each_micro_batch(const torch::Tensor& hidden, int64_t size, Fn fn) {
  for (int64_t b = 0; b < hidden.size(0); b += size) {
    check_interrupted();  // the walk's advance and dense pass: a signal is honoured between micro-batches
    fn(hidden.slice(0, b, std::min(hidden.size(0), b + size)));
  }
}
}  // namespace

torch::Tensor LlamaModel::forward_layer(const LayerWeights& w, const torch::Tensor& hidden,
                                        const InputObserver* observe) const {
  auto out = hidden.clone();
  forward_layer_in_place(w, out, observe);
  return out;
}

void LlamaModel::forward_layer_in_place(const LayerWeights& w, torch::Tensor& hidden, const InputObserver* observe,
                                        const std::function<void(double)>& on_rows) const {
  torch::NoGradGuard no_grad;
  const auto& rope = rotary(hidden.size(1));
  int64_t done = 0;
  for_each_micro_batch(hidden, rt_.batch_size, [&](torch::Tensor rows) {
    rows.copy_(layer_forward(w, rows, rope, config(), observe));  // a new tensor: rows are read before the copy
    done += rows.size(0);
    if (on_rows) on_rows(static_cast<double>(done) / static_cast<double>(hidden.size(0)));
  });
}

void LlamaModel::observe_layer(const LayerWeights& w, const torch::Tensor& hidden, const InputObserver& observe,
                               const ExpertObserver* observe_experts) const {
  torch::NoGradGuard no_grad;
  const auto& rope = rotary(hidden.size(1));
  for_each_micro_batch(hidden, rt_.batch_size, [&](const torch::Tensor& rows) {
    layer_forward(w, rows, rope, config(), &observe, /*compute_output=*/false, observe_experts);
  });
}

void LlamaModel::for_each_target_log_probs(const torch::Tensor& tokens, const torch::Tensor& targets,
                                           const std::function<void(int64_t, const torch::Tensor&)>& consume,
                                           const std::function<void(double)>& on_progress) const {
  for_each_scores(tokens, targets, false, [&](int64_t first, const torch::Tensor& lp, const torch::Tensor&) { consume(first, lp); },
                  on_progress);
}

void LlamaModel::for_each_target_scores(const torch::Tensor& tokens, const torch::Tensor& targets,
                                        const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& consume,
                                        const std::function<void(double)>& on_progress) const {
  for_each_scores(tokens, targets, true, consume, on_progress);
}

void LlamaModel::for_each_scores(const torch::Tensor& tokens, const torch::Tensor& targets, bool with_greedy,
                                 const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& consume,
                                 const std::function<void(double)>& on_progress) const {
  torch::NoGradGuard no_grad;
  if (targets.sizes() != tokens.sizes()) throw Error(ExitCode::internal, "targets and tokens differ in shape");
  const int64_t rows = tokens.size(0), len = tokens.size(1);
  const int64_t row_bytes = len * config().hidden_size * static_cast<int64_t>(c10::elementSize(rt_.compute_dtype));
  const int64_t group = std::max<int64_t>(rt_.batch_size, rt_.activation_budget_bytes / std::max<int64_t>(row_bytes, 1));
  const int64_t layers = config().num_hidden_layers;
  for (int64_t g = 0; g < rows; g += group) {
    const int64_t ge = std::min(rows, g + group);
    auto hidden = forward_layers(embed(tokens.slice(0, g, ge)), [&](double layers_done) {
      // rows before this group, plus this group's share of the layers done
      if (on_progress) on_progress((static_cast<double>(g) + static_cast<double>(ge - g) * layers_done / layers) / rows);
    });
    for (int64_t b = 0; b < hidden.size(0); b += rt_.batch_size) {
      const int64_t be = std::min(hidden.size(0), b + rt_.batch_size);
      torch::Tensor greedy;
      auto lp = target_log_probs(hidden.slice(0, b, be), targets.slice(0, g + b, g + be), with_greedy ? &greedy : nullptr);
      consume(g + b, lp, greedy);
    }
  }
}

torch::Tensor LlamaModel::forward_layers(torch::Tensor hidden, const std::function<void(double)>& on_progress) const {
  LayerPrefetcher layers(*this, rt_.overlap_io);
  for (int64_t i = 0; i < config().num_hidden_layers; ++i) {
    check_interrupted();
    forward_layer_in_place(layers.take(i), hidden, nullptr, [&](double rows_done) {
      check_interrupted();
      if (on_progress) on_progress(static_cast<double>(i) + rows_done);
    });
  }
  return hidden;
}

}  // namespace enwanda
