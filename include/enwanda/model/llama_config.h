// LlamaConfig: the hyper-parameters of a HuggingFace LLaMA checkpoint, read from config.json
// in this one place. Each field says what it means and its default when config.json omits it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/model/model_family.h"

namespace enwanda {

struct RopeScaling {
  std::string type = "none";  // none | linear | dynamic | llama3 | yarn
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;  // yarn: max_position_embeddings when absent
  bool has_original_max = false;                     // given in the config (yarn derives factor from it)
  // yarn (0: absent, derived as transformers derives it)
  double attention_factor = 0.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  bool truncate = true;
};

// Mixture-of-experts layers: each token goes to top_k of num_experts SiLU-gated experts, chosen by
// the router (model_family.h says which families, layers and tensor names).
struct MoeConfig {
  int64_t num_experts = 0;                      // E (num_local_experts | num_experts); 0: a dense model
  int64_t top_k = 0;                            // num_experts_per_tok
  int64_t expert_intermediate_size = 0;         // moe_intermediate_size (qwen*_moe), else intermediate_size
  bool norm_topk_prob = false;                  // top-k probabilities renormalised to sum 1 (mixtral: always)
  int64_t shared_expert_intermediate_size = 0;  // qwen2_moe's shared expert; 0: none
  int64_t decoder_sparse_step = 1;              // qwen*_moe: layer i is MoE iff (i + 1) % step == 0 ...
  std::vector<int64_t> mlp_only_layers;         // ... and i is not listed here
};

// The MLP's gate activation (hidden_act, or Gemma's hidden_activation): SiLU (SwiGLU), or GELU in
// transformers' gelu_pytorch_tanh (tanh approximation) or gelu (erf) form (GeGLU).
enum class Activation { silu, gelu_tanh, gelu };

// The decoder families enwanda runs share LLaMA's layer (RMSNorm, RoPE, GQA attention, SiLU-gated
// MLP) and differ in the features model_family.h lists; the fields below hold them for one checkpoint.
// transformers 5 writes rope_parameters in place of rope_theta/rope_scaling; both are read.
struct LlamaConfig {
  std::string model_type = "llama";     // a row of model_family.cpp's table
  int64_t hidden_size = 0;              // required
  int64_t intermediate_size = 0;        // required
  int64_t num_hidden_layers = 0;        // required
  int64_t num_attention_heads = 0;      // required
  int64_t num_key_value_heads = 0;      // GQA; null/absent -> num_attention_heads
  int64_t head_dim = 0;                 // null/absent -> hidden_size / num_attention_heads
  int64_t vocab_size = 0;               // required
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";  // the checkpoint's storage dtype
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  std::array<bool, 7> linear_bias{};    // per linear (kLinearNames order): whether it has a .bias
  QkNorm qk_norm = QkNorm::none;        // RMSNorm of q and k before RoPE, per head (qwen3) or whole (olmoe)
  double clip_qkv = 0.0;                // olmoe: q, k, v clamped to [-clip_qkv, clip_qkv]; 0: not clamped
  MoeConfig moe;                        // experts; num_experts 0 for a dense model
  // Gemma's features (model_family.h): off for the LLaMA-shaped families
  NormKind norm = NormKind::rms;        // every RMSNorm of the model: w·x̂ or x̂·(1 + w)
  Activation activation = Activation::silu;
  bool sandwich_norms = false;          // the attention's and the MLP's outputs normed before the residual adds
  bool scaled_embeddings = false;       // embeddings times √hidden_size
  double query_pre_attn_scalar = 0.0;   // scores scaled by its ^-½; 0: by head_dim^-½
  double attn_softcap = 0.0;            // attn_logit_softcapping: scores = cap·tanh(scores/cap); 0: off
  double final_softcap = 0.0;           // final_logit_softcapping, on the logits; 0: off
  double rope_local_theta = 0.0;        // rope_local_base_freq of the sliding layers (gemma3); 0: rope_theta everywhere
  std::vector<int64_t> layer_window;    // per layer: sliding-window length, 0 for full causal attention
  nlohmann::json raw;                   // the file as read, written back unchanged

  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t window_of(int64_t layer) const {
    return layer < static_cast<int64_t>(layer_window.size()) ? layer_window[static_cast<size_t>(layer)] : 0;
  }
  // Whether layer's RoPE uses rope_local_theta (a sliding layer of a family with a local base).
  bool local_rope(int64_t layer) const { return rope_local_theta > 0 && window_of(layer) > 0; }
  const ModelFamily& family() const { return model_family(model_type, "config"); }
  bool is_moe() const { return moe.num_experts > 0; }
  bool is_moe_layer(int64_t layer) const;  // whether layer's MLP is a mixture of experts
  int64_t q_norm_size() const { return qk_norm == QkNorm::whole_projection ? q_dim() : head_dim; }
  int64_t k_norm_size() const { return qk_norm == QkNorm::whole_projection ? kv_dim() : head_dim; }
  bool has_bias() const;                // any linear with a bias
  std::string bias_flag(int linear) const;  // the config field that says whether linear has a bias
  // Whether windows of `seqlen` tokens stay within the positions the model was trained on
  // (dynamic RoPE scaling stretches the rotary base to fit longer windows, so any length is).
  bool trained_for(int64_t seqlen) const { return seqlen <= max_position_embeddings || rope_scaling.type == "dynamic"; }
  // Logs a warning when it is not: transformers runs such windows too, but the model has never
  // seen those positions, so statistics and perplexity from them mean little.
  void warn_if_untrained(int64_t seqlen, const std::string& what) const;

  // Parses and validates; `where` names the file in errors (InputError).
  static LlamaConfig from_json(const nlohmann::json& j, const std::string& where);
  static LlamaConfig from_file(const std::string& path);
  // config.json for a synthetic checkpoint: `raw` with the fields enwanda sets (sizes, dtype,
  // token ids) written over it, or a fresh one of the family when raw is empty.
  nlohmann::json to_json() const;
};

}  // namespace enwanda
