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
};
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
};

// The family of `model_type`; throws InputError naming `where` and the supported types.
const ModelFamily& model_family(const std::string& model_type, const std::string& where);
std::string supported_model_types();  // "llama, mistral, ..."

}  // namespace enwanda
