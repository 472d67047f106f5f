// A LoRA adapter over a checkpoint's linears, as PEFT defines it (huggingface/peft
// src/peft/tuners/lora/layer.py): per target linear W [out, in] a pair A [r, in] ("lora_A") and
// B [out, r] ("lora_B"), scaling s = lora_alpha / r, and the effective weight
//     W_eff = W + s·(B·A)⊙M
// with M = (W ≠ 0) under MaskMode::keep (IntelLabs SQFT's sparsity-preserving delta: a pruned weight
// stays zero, merged or not) and M = 1 under MaskMode::none (PEFT's plain LoRA). The base weights
// stay frozen; A and B are the only trained parameters. Saved and loaded in PEFT's layout
// (adapter_model.safetensors: base_model.model.<linear>.lora_A.weight / .lora_B.weight, fp32).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/model/llama_config.h"
#include "enwanda/model/llama_layer.h"

namespace enwanda {

enum class MaskMode { keep, none };
MaskMode parse_mask_mode(const std::string& s);  // "keep" | "none"; UsageError otherwise
const char* mask_mode_name(MaskMode m);

struct LoraSettings {
  int64_t r = 8;
  double alpha = 16;
  double dropout = 0;
  // PEFT's target_modules: short names matched as the last component of a linear's name
  // ("q_proj"), or "re:REGEX" matched against the whole name as prune --targets matches
  std::vector<std::string> targets{"q_proj", "v_proj"};
  MaskMode mask = MaskMode::keep;
  double scaling() const { return alpha / static_cast<double>(r); }
};

// One adapted linear of the checkpoint.
struct LoraTarget {
  std::string name;  // model.layers.{i}.self_attn.q_proj
  int64_t layer = 0;
  int linear = 0;        // index into kLinearNames
  torch::Tensor A;       // [r, in_features], fp32, requires grad
  torch::Tensor B;       // [out_features, r], fp32, requires grad
  torch::Tensor mask;    // [out_features, in_features] fp32 0/1 under MaskMode::keep; undefined under none
};

class LoraAdapter {
 public:
  // The targets among the dense linears of `layers` (base weights, for their shapes and zeros),
  // in layer then kLinearNames order, with A = B = 0. Throws UsageError naming a target pattern
  // that matches no linear, or r < 1.
  LoraAdapter(const LoraSettings& settings, const LlamaConfig& config, const std::vector<LayerWeights>& layers);

  const LoraSettings& settings() const { return settings_; }
  std::vector<LoraTarget>& targets() { return targets_; }
  const std::vector<LoraTarget>& targets() const { return targets_; }
  std::vector<torch::Tensor> parameters() const;  // A, B of every target, in order

  // PEFT's reset_lora_parameters (init_lora_weights=True): A ~ kaiming_uniform_(a = √5), that is
  // U(-1/√in, 1/√in), drawn target by target from one CPU generator seeded with `seed`; B = 0.
  void init_kaiming(uint64_t seed);
  // A and B from an adapter_model.safetensors in PEFT's layout; throws InputError naming the file
  // and key when a target is missing, a shape differs (an adapter of another model) or the file holds
  // a linear this adapter does not target.
  void load(const std::string& safetensors_path);
  // PEFT's tensor names and fp32 contiguous copies of A and B.
  std::vector<std::pair<std::string, torch::Tensor>> peft_tensors() const;
  // Writes adapter_model.safetensors (PEFT's keys, metadata format=pt) at `path`.
  void save_safetensors(const std::string& path) const;
  // adapter_config.json as PEFT's LoraConfig saves it, with enwanda's own settings under "enwanda".
  nlohmann::json peft_config(const std::string& base_model, const nlohmann::json& enwanda_keys) const;

  // The layer's weights with W_eff in place of each target's W: a differentiable function of A and
  // B (autograd reaches them through W_eff), the base weights untouched.
  LayerWeights effective(const LayerWeights& base, int64_t layer) const;
  // W_eff of one target, detached, fp32.
  torch::Tensor merged_weight(const LoraTarget& t, const torch::Tensor& base) const;

 private:
  LoraSettings settings_;
  std::vector<LoraTarget> targets_;
};

std::string peft_key(const std::string& linear, const char* which);  // base_model.model.<linear>.lora_A.weight

}  // namespace enwanda
