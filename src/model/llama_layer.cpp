#include "enwanda/model/llama_layer.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "enwanda/errors.h"

namespace enwanda {

LinearInput input_of_linear(int linear_index) {
  static const LinearInput map[7] = {LinearInput::attn, LinearInput::attn, LinearInput::attn, LinearInput::o_proj,
                                     LinearInput::mlp,  LinearInput::mlp,  LinearInput::down_proj};
  return map[linear_index];
}

void require_finite(const torch::Tensor& t, const std::string& name, const std::string& where) {
  if (!t.is_floating_point() || t.numel() == 0) return;
  // max and min propagate NaN and show ±inf: two reductions, where isfinite(t).all() wrote a bool
  // per element first (a 14336x4096 fp32 matrix on 2 cores: 0.21 s against 0.015 s for aminmax,
  // which 1.13 lacks for fp16 on the CPU)
  if (std::isfinite(t.max().item<double>()) && std::isfinite(t.min().item<double>())) return;
  throw InputError(where + ": tensor " + name + " holds " + std::to_string((~torch::isfinite(t)).sum().item<int64_t>()) +
                   " NaN or infinite values; the checkpoint is damaged (or was written from a diverged run)");
}

LayerWeights load_layer(const Checkpoint& ck, int64_t i, const Runtime& rt) {
  auto to_device = [&](const std::string& name) {
    auto mapped = ck.tensor(name);
    torch::Tensor t;
    if (rt.cuda()) {
      // through pinned host memory: the upload is a DMA copy that does not stall the host
      auto staged = torch::empty(mapped.sizes(), mapped.options().pinned_memory(true));
      staged.copy_(mapped);
      t = staged.to(rt.device, rt.compute_dtype);
    } else {
      t = mapped.to(rt.device, rt.compute_dtype, /*non_blocking=*/false, /*copy=*/true);
    }
    ck.release(name);  // the copy is ours: let the mapped pages go
    require_finite(t, name, ck.dir());
    return t;
  };
  const LlamaConfig& c = ck.config();
  LayerWeights w;
  w.input_norm = to_device(layer_tensor_name(i, "input_layernorm"));
  if (c.sandwich_norms) {
    w.attn_out_norm = to_device(layer_tensor_name(i, "post_attention_layernorm"));
    w.post_norm = to_device(layer_tensor_name(i, "pre_feedforward_layernorm"));
    w.mlp_out_norm = to_device(layer_tensor_name(i, "post_feedforward_layernorm"));
  } else {
    w.post_norm = to_device(layer_tensor_name(i, "post_attention_layernorm"));
  }
  const bool moe = c.is_moe_layer(i);
  for (size_t j = 0; j < kLinearNames.size(); ++j) {
    if (moe && j >= 4) break;  // the experts below
    w.linears[j] = to_device(layer_tensor_name(i, kLinearNames[j]));
    if (c.linear_bias[j]) w.biases[j] = to_device(layer_bias_name(i, kLinearNames[j]));
  }
  if (moe) {
    w.moe.router = to_device(layer_tensor_name(i, router_module(c)));
    for (int64_t e = 0; e < c.moe.num_experts; ++e)
      w.moe.experts.push_back({to_device(layer_tensor_name(i, expert_linear(c, e, 0))),
                               to_device(layer_tensor_name(i, expert_linear(c, e, 1))),
                               to_device(layer_tensor_name(i, expert_linear(c, e, 2)))});
    if (c.moe.shared_expert_intermediate_size > 0) {
      w.moe.shared = {to_device(layer_tensor_name(i, kSharedExpertLinears[0])),
                      to_device(layer_tensor_name(i, kSharedExpertLinears[1])),
                      to_device(layer_tensor_name(i, kSharedExpertLinears[2]))};
      w.moe.shared_gate = to_device(layer_tensor_name(i, kSharedExpertGate));
    }
  }
  if (c.qk_norm != QkNorm::none) {
    w.q_norm = to_device(layer_tensor_name(i, "self_attn.q_norm"));
    w.k_norm = to_device(layer_tensor_name(i, "self_attn.k_norm"));
  }
  w.window = c.window_of(i);
  w.local_rope = c.local_rope(i);
  return w;
}

namespace {
// YaRN (transformers' _compute_yarn_parameters): frequencies blended between interpolated
// (divided by the factor) and original along a ramp over the dimensions, and a factor that
// scales cos and sin. With original_max_position_embeddings given, the factor is
// max_position_embeddings / original_max_position_embeddings, whatever "factor" says.
torch::Tensor yarn_frequencies(const LlamaConfig& c, double* attention_factor) {
  const auto& rs = c.rope_scaling;
  const double dim = static_cast<double>(c.head_dim), base = c.rope_theta;
  const double factor = rs.has_original_max
                            ? static_cast<double>(c.max_position_embeddings) / rs.original_max_position_embeddings
                            : rs.factor;
  auto mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
  *attention_factor = rs.attention_factor != 0.0 ? rs.attention_factor
                      : (rs.mscale != 0.0 && rs.mscale_all_dim != 0.0)
                          ? mscale(factor, rs.mscale) / mscale(factor, rs.mscale_all_dim)
                          : mscale(factor, 1.0);
  const double beta_fast = rs.beta_fast != 0.0 ? rs.beta_fast : 32.0, beta_slow = rs.beta_slow != 0.0 ? rs.beta_slow : 1.0;
  const double original = static_cast<double>(rs.original_max_position_embeddings);
  auto correction_dim = [&](double rotations) {
    return dim * std::log(original / (rotations * 2 * M_PI)) / (2 * std::log(base));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (rs.truncate) low = std::floor(low), high = std::ceil(high);
  low = std::max(low, 0.0), high = std::min(high, dim - 1);
  if (low == high) high += 0.001;
  auto exponents = torch::arange(0, c.head_dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(dim);
  auto pos_freqs = torch::pow(torch::tensor(static_cast<float>(base)), exponents);
  auto extrapolation = 1.0 / pos_freqs, interpolation = 1.0 / (static_cast<float>(factor) * pos_freqs);
  auto ramp = ((torch::arange(c.head_dim / 2, torch::kInt64).to(torch::kFloat32) - static_cast<float>(low)) /
               static_cast<float>(high - low)).clamp(0, 1);
  auto keep = 1 - ramp;  // the share of the original frequency
  return interpolation * (1 - keep) + extrapolation * keep;
}

// inv_freq as transformers computes it, including rope_scaling linear / dynamic / llama3 / yarn.
torch::Tensor inverse_frequencies(const LlamaConfig& c, int64_t seqlen, double* position_scale, double* attention_factor) {
  const int64_t dim = c.head_dim;
  double base = c.rope_theta;
  const auto& rs = c.rope_scaling;
  *position_scale = 1.0;
  *attention_factor = 1.0;
  if (rs.type == "yarn") return yarn_frequencies(c, attention_factor);
  if (rs.type == "dynamic" && seqlen > c.max_position_embeddings)
    base *= std::pow(rs.factor * seqlen / c.max_position_embeddings - (rs.factor - 1), double(dim) / (dim - 2));
  auto exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(dim);
  auto inv_freq = 1.0 / torch::pow(torch::tensor(static_cast<float>(base)), exponents);
  if (rs.type == "linear") *position_scale = 1.0 / rs.factor;
  if (rs.type == "llama3") {
    const double old_len = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wavelen = old_len / rs.low_freq_factor, high_wavelen = old_len / rs.high_freq_factor;
    auto wavelen = 2 * M_PI / inv_freq;
    auto scaled = torch::where(wavelen > low_wavelen, inv_freq / rs.factor, inv_freq);
    auto smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
    auto smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
    auto medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv_freq = torch::where(medium, smoothed, scaled);
  }
  return inv_freq;
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

torch::Tensor repeat_kv(const torch::Tensor& x, int64_t n_rep) {  // [B, kvh, T, d] -> [B, kvh*n_rep, T, d]
  if (n_rep == 1) return x;
  auto s = x.sizes();
  return x.unsqueeze(2).expand({s[0], s[1], n_rep, s[2], s[3]}).reshape({s[0], s[1] * n_rep, s[2], s[3]});
}
}  // namespace

RotaryTables make_rotary_tables(const LlamaConfig& c, int64_t seqlen, const Runtime& rt) {
  auto tables = [&](const LlamaConfig& cfg) {
    double position_scale = 1.0, attention_factor = 1.0;
    auto inv_freq = inverse_frequencies(cfg, seqlen, &position_scale, &attention_factor);
    auto positions = torch::arange(seqlen, torch::kInt64).to(torch::kFloat32) * static_cast<float>(position_scale);
    auto freqs = torch::outer(positions, inv_freq);  // [T, d/2], fp32
    auto emb = torch::cat({freqs, freqs}, -1);       // [T, d]
    auto cos = emb.cos(), sin = emb.sin();
    if (attention_factor != 1.0) cos = cos * attention_factor, sin = sin * attention_factor;
    return std::make_pair(cos.to(rt.device, rt.compute_dtype), sin.to(rt.device, rt.compute_dtype));
  };
  RotaryTables t;
  std::tie(t.cos, t.sin) = tables(c);
  if (c.rope_local_theta > 0) {  // Gemma3TextModel's rotary_emb_local: rope_local_base_freq, default rope type
    LlamaConfig local = c;
    local.rope_theta = c.rope_local_theta;
    local.rope_scaling = RopeScaling{};
    std::tie(t.local_cos, t.local_sin) = tables(local);
  }
  return t;
}

namespace {
// fp32 for half inputs (as transformers does); fp64 stays fp64 so gradient checks can run in fp64.
torch::ScalarType at_least_fp32(torch::ScalarType t) { return t == torch::kFloat64 ? t : torch::kFloat32; }
}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto h = x.to(at_least_fp32(x.scalar_type()));
  auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

torch::Tensor apply_norm(const torch::Tensor& x, const torch::Tensor& weight, const LlamaConfig& c) {
  if (c.norm == NormKind::rms) return rms_norm(x, weight, c.rms_norm_eps);
  // Gemma2RMSNorm.forward: x̂ in fp32 times (1 + w) in fp32, then cast
  auto h = x.to(at_least_fp32(x.scalar_type()));
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + c.rms_norm_eps);
  return (h * (1 + weight.to(h.scalar_type()))).to(x.scalar_type());
}

torch::Tensor soft_cap(const torch::Tensor& x, double softcap) { return torch::tanh(x / softcap) * softcap; }

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t window,
                               int64_t query_block, double scale, double softcap) {
  const int64_t seqlen = q.size(2);
  const double root_d = std::sqrt(static_cast<double>(q.size(3)));
  std::vector<torch::Tensor> blocks;
  for (int64_t q0 = 0; q0 < seqlen; q0 += query_block) {
    check_interrupted();  // a block of 4096 queries can take minutes on the CPU
    const int64_t q1 = std::min(seqlen, q0 + query_block);
    auto keys = k.slice(2, 0, q1);
    auto scores = torch::matmul(q.slice(2, q0, q1), keys.transpose(2, 3));  // [B, h, q1-q0, q1]
    scores = scale > 0 ? scores * scale : scores / root_d;
    if (softcap > 0) scores = soft_cap(scores, softcap);
    // query q0+i may not see key j > q0+i: j - i >= q0 + 1
    auto ones = torch::ones({q1 - q0, q1}, torch::TensorOptions().dtype(torch::kBool).device(q.device()));
    auto hidden_keys = ones.triu(q0 + 1);
    // with a sliding window, query q0+i sees key j only if q0+i - window < j: j - i <= q0 - window hidden
    if (window > 0 && q1 > window) hidden_keys = hidden_keys.logical_or(ones.tril(q0 - window));
    scores = scores.masked_fill(hidden_keys, -std::numeric_limits<float>::infinity());
    auto probs = torch::softmax(scores, -1, at_least_fp32(scores.scalar_type())).to(q.scalar_type());
    blocks.push_back(torch::matmul(probs, v.slice(2, 0, q1)));
  }
  return blocks.size() == 1 ? blocks[0] : torch::cat(blocks, 2);
}

torch::Tensor layer_forward(const LayerWeights& w, const torch::Tensor& x, const RotaryTables& rope,
                            const LlamaConfig& c, const InputObserver* observe, bool compute_output,
                            const ExpertObserver* observe_experts) {
  const int64_t batch = x.size(0), seqlen = x.size(1);
  const int64_t n_heads = c.num_attention_heads, n_kv = c.num_key_value_heads, head_dim = c.head_dim;
  const int64_t kv_mul = n_heads / n_kv;
  auto notify = [&](LinearInput which, const torch::Tensor& t) {
    if (observe) (*observe)(which, t);
  };

  // attention norm
  auto linear = [&](const torch::Tensor& in, int j) {
    auto out = torch::matmul(in, w.linears[j].t());
    return w.biases[j].defined() ? out + w.biases[j] : out;
  };
  auto h = apply_norm(x, w.input_norm, c);
  notify(LinearInput::attn, h);
  // q, k, v projections (q/k normed over the whole projection, then clamped, where the family does so)
  auto q = linear(h, 0), k = linear(h, 1), v = linear(h, 2);
  if (c.qk_norm == QkNorm::whole_projection) q = apply_norm(q, w.q_norm, c), k = apply_norm(k, w.k_norm, c);
  if (c.clip_qkv > 0) q = q.clamp(-c.clip_qkv, c.clip_qkv), k = k.clamp(-c.clip_qkv, c.clip_qkv), v = v.clamp(-c.clip_qkv, c.clip_qkv);
  // [B, T, heads*d] -> [B, T, heads, d] (q/k normed per head where the family does so) -> [B, heads, T, d]
  q = q.view({batch, seqlen, n_heads, head_dim});
  k = k.view({batch, seqlen, n_kv, head_dim});
  v = v.view({batch, seqlen, n_kv, head_dim}).transpose(1, 2);
  if (c.qk_norm == QkNorm::per_head) q = apply_norm(q, w.q_norm, c), k = apply_norm(k, w.k_norm, c);
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  // RoPE (rotate_half), with the local base on a sliding layer that has one
  auto cos = (w.local_rope ? rope.local_cos : rope.cos).slice(0, 0, seqlen);
  auto sin = (w.local_rope ? rope.local_sin : rope.sin).slice(0, 0, seqlen);
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  // GQA: repeat each k/v head for its group of query heads
  k = repeat_kv(k, kv_mul);
  v = repeat_kv(v, kv_mul);
  // causal attention (scaled, capped where the family does so), softmax in fp32
  torch::Tensor attn;
  const double scale = c.query_pre_attn_scalar > 0 ? 1.0 / std::sqrt(c.query_pre_attn_scalar) : 0.0;
#if TORCH_VERSION_MAJOR >= 2
  if (x.is_cuda() && x.scalar_type() != torch::kFloat32 && (w.window == 0 || w.window >= seqlen) && scale == 0.0 &&
      c.attn_softcap == 0.0)
    attn = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
  else
#endif
    attn = causal_attention(q, k, v, w.window < seqlen ? w.window : 0, kAttentionQueryBlock, scale, c.attn_softcap);
  attn = attn.transpose(1, 2).reshape({batch, seqlen, n_heads * head_dim});
  notify(LinearInput::o_proj, attn);
  // output projection (normed where the family has sandwich norms) and residual
  auto o = linear(attn, 3);
  auto hidden = x + (w.attn_out_norm.defined() ? apply_norm(o, w.attn_out_norm, c) : o);

  // ffn norm
  auto m = apply_norm(hidden, w.post_norm, c);
  notify(LinearInput::mlp, m);
  // mixture of experts (router, top-k experts, shared expert) and residual
  if (w.is_moe()) {
    auto block = moe_forward(w.moe, m, c.moe, observe_experts, compute_output);
    return compute_output ? hidden + block : torch::Tensor();
  }
  // SwiGLU down(silu(gate(m)) * up(m)), or GeGLU with GELU in its place
  auto gate = linear(m, 4);
  gate = c.activation == Activation::silu ? torch::silu(gate)
         : c.activation == Activation::gelu_tanh ? torch::gelu(gate, "tanh") : torch::gelu(gate);
  auto act = gate * linear(m, 5);
  notify(LinearInput::down_proj, act);
  if (!compute_output) return {};  // an observer-only pass needs nothing past down_proj's input
  // residual (the MLP's output normed first where the family has sandwich norms)
  auto down = linear(act, 6);
  return hidden + (w.mlp_out_norm.defined() ? apply_norm(down, w.mlp_out_norm, c) : down);
}

}  // namespace enwanda
