// ModelFamily: what a decoder family is, as data: its config fields, tensor names and features
// (biases, q/k norms, sliding windows, experts). LlamaConfig reads config.json through it and the
// layer forward branches on the features it sets, never on the family's name; a new family that
// only recombines these features is a new row of the table in model_family.cpp.
//
// Families as transformers defines them (models/<type>/modeling_<type>.py):
//   llama      attention_bias (q/k/v/o), mlp_bias (gate/up/down)
//   mistral    sliding_window on every layer
//   qwen2      q/k/v biases always; use_sliding_window + max_window_layers
//   qwen3      per-head q_norm/k_norm; attention_bias; windows as qwen2
//   mixtral    mistral's attention; every layer a block_sparse_moe of num_local_experts experts
//              (w1 gate, w3 up, w2 down), top-k always renormalised (MixtralSparseMoeBlock)
//   qwen2_moe  qwen2's attention (qkv_bias); MoE layers by decoder_sparse_step and mlp_only_layers,
//              experts of moe_intermediate_size, a shared expert gated by sigmoid(shared_expert_gate)
//              (Qwen2MoeSparseMoeBlock)
//   qwen3_moe  qwen3's attention; MoE layers as qwen2_moe, no shared expert (Qwen3MoeSparseMoeBlock)
//   olmoe      q_norm/k_norm over the whole q/k projection, clip_qkv; every layer an MoE of
//              intermediate_size experts (OlmoeAttention, OlmoeSparseMoeBlock)
//   gemma2     RMSNorm x̂·(1 + w), GeGLU (hidden_activation gelu_pytorch_tanh), four norms a layer
//              (the attention's and the MLP's outputs normed before their residual adds), embeddings
//              scaled by √hidden, scores scaled by query_pre_attn_scalar^-½ and tanh-capped, final
//              logits capped, a window on even layers, tied head (modeling_gemma2.py)
//   gemma3_text gemma2's layer with per-head (1 + w) q/k norms, softcaps off by default, a window on
//              all but every sliding_window_pattern-th layer, whose RoPE base is rope_local_base_freq
//              (modeling_gemma3.py: Gemma3Attention, Gemma3TextModel)
#pragma once

#include <array>
#include <string>

namespace enwanda {

// Which config fields say whether a linear has a bias.
enum class BiasRule {
  none,            // no biases at all
  attention_mlp,   // attention_bias for q/k/v/o, mlp_bias for gate/up/down (llama)
  attention,       // attention_bias for q/k/v/o (qwen3, qwen3_moe, olmoe)
  qkv_always,      // q/k/v always (qwen2)
  qkv_flag,        // q/k/v when qkv_bias (default true; qwen2_moe)
};
// Which layers attend through a sliding window of `sliding_window` tokens (layer_types, when
// given, overrides all of these).
enum class WindowRule {
  none,            // the field means nothing (llama, olmoe)
  every_layer,     // every layer (mistral, mixtral)
  qwen,            // with use_sliding_window, layers from max_window_layers on
  even_layers,     // layers 0, 2, 4, ... (gemma2: Gemma2Config's layer_types default)
  pattern,         // all but layers i with (i + 1) % sliding_window_pattern == 0 (gemma3, default pattern 6)
};
// How a norm weight applies: RMSNorm's w·x̂ (LLaMA: x̂ cast to the input dtype, then scaled), or
// Gemma's x̂·(1 + w) computed in fp32 and then cast (Gemma2RMSNorm.forward).
enum class NormKind { rms, rms_one_plus };
// q_norm/k_norm: RMSNorm of q and k before RoPE, over each head (weight [head_dim]) or over the
// whole projection before the head split (weight [heads * head_dim]).
enum class QkNorm { none, per_head, whole_projection };
// Which layers are mixtures of experts.
enum class MoeLayers {
  none,            // a dense model
  every_layer,     // mixtral, olmoe
  sparse_step,     // layer i iff i is not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0
};

struct ModelFamily {
  const char* model_type;
  const char* architecture;          // the HF class named in a fresh config.json
  BiasRule bias;
  WindowRule window;
  QkNorm qk_norm;
  bool clip_qkv;                     // reads clip_qkv: q, k, v clamped to ±clip_qkv after the norms
  MoeLayers moe_layers;
  // experts (unused when moe_layers is none); tensor names under model.layers.{i}.
  const char* num_experts_field;     // "num_local_experts" | "num_experts"
  const char* expert_size_field;     // "intermediate_size" | "moe_intermediate_size"
  const char* router;                // "block_sparse_moe.gate" | "mlp.gate"  [E, hidden]
  const char* experts;               // "block_sparse_moe.experts" | "mlp.experts"  (then ".{e}.<linear>")
  std::array<const char*, 3> expert_linears;  // gate, up, down
  bool always_norm_topk;             // top-k probabilities renormalised whatever norm_topk_prob says
  bool shared_expert;                // mlp.shared_expert.{gate,up,down}_proj and mlp.shared_expert_gate
  // Gemma's features (the defaults are LLaMA's)
  NormKind norm = NormKind::rms;
  const char* activation_field = "hidden_act";  // | "hidden_activation" (gemma)
  const char* activation_default = "silu";      // when the field is absent
  bool sandwich_norms = false;       // post_attention_layernorm on the attention output before the residual add,
                                     // pre_feedforward_layernorm before the MLP, post_feedforward_layernorm after it
  bool scaled_embeddings = false;    // embeddings times √hidden_size, in the activation dtype
  bool query_pre_attn_scalar = false;  // scores scaled by query_pre_attn_scalar^-½ (default 256), not head_dim^-½
  double attn_softcap_default = 0;   // attn_logit_softcapping when absent (0: off; null in the config: off)
  double final_softcap_default = 0;  // final_logit_softcapping when absent
  int64_t head_dim_default = 0;      // head_dim when absent; 0: hidden_size / num_attention_heads
  int64_t window_default = 0;        // sliding_window when absent
  bool tied_default = false;         // tie_word_embeddings when absent
  bool local_rope_base = false;      // sliding layers rotate with rope_local_base_freq (default 10000)
  double rope_theta_default = 10000.0;  // rope_theta when absent
};

// The family of `model_type`; throws InputError naming `where` and the supported types.
const ModelFamily& model_family(const std::string& model_type, const std::string& where);
std::string supported_model_types();  // "llama, mistral, ..."

}  // namespace enwanda
