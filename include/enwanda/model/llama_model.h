// LlamaModel: the whole network over a checkpoint, streamed a decoder layer at a time.
// Only the embedding/head and one layer's weights are on the device at once, so memory does
// not grow with the number of layers; all sequences of a group pass through layer i before
// layer i+1 is loaded.
#pragma once

#include <functional>
#include <memory>

#include <torch/torch.h>

#include "enwanda/model/checkpoint.h"
#include "enwanda/model/llama_layer.h"
#include "enwanda/model/runtime.h"

namespace enwanda {

class LlamaModel {
 public:
  LlamaModel(std::shared_ptr<const Checkpoint> ck, Runtime rt);

  const LlamaConfig& config() const { return ck_->config(); }
  const Runtime& runtime() const { return rt_; }
  const Checkpoint& checkpoint() const { return *ck_; }

  // tokens: int64 [B, T] (any device) -> hidden [B, T, hidden] on the device, compute dtype.
  torch::Tensor embed(const torch::Tensor& tokens) const;
  // Final norm and lm_head where they are asked for: hidden [B, T, hidden] and targets [B, T]
  // (int64; negative: not asked) -> fp32 [B, T] with log p(targets[b, t] | position t), 0 where
  // not asked. The head runs over chunks of the asked positions whose fp32 logits fit
  // rt.logits_budget_bytes, so [B, T, vocab] never exists whole. With `greedy`, also bool [B, T]:
  // true where asked and the target is the argmax of the fp32 logits (ties: the first index, as torch's argmax).
  torch::Tensor target_log_probs(const torch::Tensor& hidden, const torch::Tensor& targets,
                                 torch::Tensor* greedy = nullptr) const;
  LayerWeights layer(int64_t i) const { return load_layer(*ck_, i, rt_); }
  const RotaryTables& rotary(int64_t seqlen) const;

  // Runs `hidden` [N, T, H] through `w` in micro-batches of rt.batch_size sequences.
  torch::Tensor forward_layer(const LayerWeights& w, const torch::Tensor& hidden,
                              const InputObserver* observe = nullptr) const;
  // The same, writing each micro-batch's output over its input: no second [N, T, H] tensor.
  // `on_rows(fraction)`, when given, is called after each micro-batch with the share of rows done.
  void forward_layer_in_place(const LayerWeights& w, torch::Tensor& hidden, const InputObserver* observe = nullptr,
                              const std::function<void(double)>& on_rows = {}) const;
  // Only the observer's view of the dense pass: the walk stops at down_proj's input, nothing is kept.
  // In an MoE layer `observe_experts`, when given, sees each expert's routed inputs.
  void observe_layer(const LayerWeights& w, const torch::Tensor& hidden, const InputObserver& observe,
                     const ExpertObserver* observe_experts = nullptr) const;
  // Token rows [N, L] through the whole network: rows are taken in groups whose activations fit
  // the runtime's budget; each group passes layer by layer; then `consume(first_row, lp)`
  // receives target_log_probs [b, L] of `targets` [N, L] micro-batch by micro-batch.
  // `on_progress(fraction)` is called after every layer of every group.
  void for_each_target_log_probs(const torch::Tensor& tokens, const torch::Tensor& targets,
                                 const std::function<void(int64_t, const torch::Tensor&)>& consume,
                                 const std::function<void(double)>& on_progress = {}) const;
  // The same, with target_log_probs' `greedy` [b, L] beside each lp (lm-eval's is_greedy).
  void for_each_target_scores(const torch::Tensor& tokens, const torch::Tensor& targets,
                              const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& consume,
                              const std::function<void(double)>& on_progress = {}) const;
  // All layers, streamed (layer i+1 read while layer i runs when rt.overlap_io); `on_layer(i)`
  // is called after each (progress, interruption).
  // `on_progress(layers_done)`: layers done so far, fractional within a layer (after each micro-batch).
  torch::Tensor forward_layers(torch::Tensor hidden, const std::function<void(double)>& on_progress = {}) const;

 private:
  std::shared_ptr<const Checkpoint> ck_;
  Runtime rt_;
  torch::Tensor norm_;  // [hidden]
  torch::Tensor head_;  // [vocab, hidden] (embedding when tied)
  mutable std::map<int64_t, RotaryTables> rotary_;
  void for_each_scores(const torch::Tensor& tokens, const torch::Tensor& targets, bool with_greedy,
                       const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& consume,
                       const std::function<void(double)>& on_progress) const;
};

}  // namespace enwanda
