// One LLaMA-family decoder layer with transformers' semantics: RMSNorm in fp32, rotate_half RoPE,
// GQA by repeating k/v heads, causal softmax in fp32, SiLU-gated MLP; the family's biases, per-head
// q/k norms and sliding window where its config has them (llama_config.h), and Gemma's features:
// (1 + w) norms, the extra norms on the attention's and the MLP's outputs, GeGLU, a query scale,
// tanh-capped scores and a local RoPE base for the sliding layers.
#pragma once

#include <array>
#include <functional>

#include <torch/torch.h>

#include "enwanda/model/checkpoint.h"
#include "enwanda/model/llama_config.h"
#include "enwanda/model/moe_block.h"
#include "enwanda/model/runtime.h"

namespace enwanda {

// The inputs of the seven linears: q/k/v share one, gate/up share one.
enum class LinearInput { attn = 0, o_proj = 1, mlp = 2, down_proj = 3 };
constexpr int kNumLinearInputs = 4;
LinearInput input_of_linear(int linear_index);  // index into kLinearNames

struct LayerWeights {
  torch::Tensor input_norm;                  // [hidden] input_layernorm
  torch::Tensor post_norm;                   // [hidden] the MLP's input norm: post_attention_layernorm, or
                                             // with sandwich norms pre_feedforward_layernorm
  torch::Tensor attn_out_norm, mlp_out_norm; // [hidden] sandwich norms: post_attention_layernorm on the
                                             // attention output, post_feedforward_layernorm; else undefined
  std::array<torch::Tensor, 7> linears;      // kLinearNames order, each [out_features, in_features];
                                             // gate/up/down undefined in an MoE layer
  std::array<torch::Tensor, 7> biases;       // [out_features], undefined where the linear has none
  torch::Tensor q_norm, k_norm;              // [head_dim] (per head) or [q_dim]/[kv_dim] (whole), else undefined
  MoeWeights moe;                            // an MoE layer's router and experts; router undefined otherwise
  int64_t window = 0;                        // sliding-window attention length; 0: full causal
  bool local_rope = false;                   // rotates with RotaryTables' local tables (gemma3's sliding layers)
  bool is_moe() const { return moe.router.defined(); }
  const torch::Tensor& q() const { return linears[0]; }
  const torch::Tensor& k() const { return linears[1]; }
  const torch::Tensor& v() const { return linears[2]; }
  const torch::Tensor& o() const { return linears[3]; }
  const torch::Tensor& gate() const { return linears[4]; }
  const torch::Tensor& up() const { return linears[5]; }
  const torch::Tensor& down() const { return linears[6]; }
};

// Throws InputError naming `name` (in `where`) when the floating-point `t` holds a NaN or an infinity:
// masks chosen from NaN activations, or "ppl nan", would otherwise pass as results.
void require_finite(const torch::Tensor& t, const std::string& name, const std::string& where);

// Copies layer `i` from the (memory-mapped) checkpoint to the runtime's device and dtype; every
// tensor is checked finite as it is loaded.
LayerWeights load_layer(const Checkpoint& ck, int64_t i, const Runtime& rt);

struct RotaryTables {
  torch::Tensor cos;  // [seqlen, head_dim], compute dtype
  torch::Tensor sin;  // [seqlen, head_dim]
  torch::Tensor local_cos, local_sin;  // the same with rope_local_theta (and no scaling); undefined without one
};
RotaryTables make_rotary_tables(const LlamaConfig& c, int64_t seqlen, const Runtime& rt);

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);
// The config's norm: rms_norm, or Gemma's x̂·(1 + w) in fp32 cast back to x's dtype.
torch::Tensor apply_norm(const torch::Tensor& x, const torch::Tensor& weight, const LlamaConfig& c);
// softcap·tanh(x / softcap) (Gemma's attention scores and final logits).
torch::Tensor soft_cap(const torch::Tensor& x, double softcap);

// Causal softmax attention, softmax in fp32 (fp64 stays fp64): q, k, v [B, heads, T, d] ->
// [B, heads, T, d]. With window > 0 query q sees key k only if q - window < k <= q (transformers'
// sliding-window mask). Queries go in blocks of `query_block`; a block's scores cover only the keys
// up to its last query, so the [B, heads, T, T] scores never exist whole and the masked upper
// triangle is mostly not computed. Scores are q·k times `scale` (0: d^-½), then capped by
// soft_cap where softcap > 0, before the mask (Gemma2's eager_attention_forward). Differentiable.
constexpr int64_t kAttentionQueryBlock = 256;
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t window = 0,
                               int64_t query_block = kAttentionQueryBlock, double scale = 0.0, double softcap = 0.0);

// Called with each distinct linear input, [batch, seqlen, in_features], before the matmul.
using InputObserver = std::function<void(LinearInput, const torch::Tensor&)>;

// x: [batch, seqlen, hidden] -> [batch, seqlen, hidden]. Differentiable in the weights.
// With compute_output false the walk stops once down_proj's input has been observed (down_proj's
// product and the residual are skipped: a fifth of a LLaMA layer's matmul work) and returns an
// undefined tensor. In an MoE layer `observe` sees the attention's inputs and the block's input
// (LinearInput::mlp), and `observe_experts` each expert's routed inputs (moe_block.h).
torch::Tensor layer_forward(const LayerWeights& w, const torch::Tensor& x, const RotaryTables& rope,
                            const LlamaConfig& c, const InputObserver* observe = nullptr, bool compute_output = true,
                            const ExpertObserver* observe_experts = nullptr);

}  // namespace enwanda
