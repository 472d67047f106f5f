#include "enwanda/model/llama_config.h"

#include <cmath>
#include <fstream>
#include <map>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/model/model_family.h"

namespace enwanda {

namespace {
int64_t required_int(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null())
    throw InputError(where + ": required field \"" + key + "\" is missing");
  // Parsed text stores 0 and positive integers as unsigned, C++-built JSON as signed: check either form.
  const auto& v = j[key];
  constexpr uint64_t kMax = uint64_t(1) << 40;
  const bool ok = v.is_number_unsigned() ? (v.get<uint64_t>() > 0 && v.get<uint64_t>() <= kMax)
                  : v.is_number_integer() ? (v.get<int64_t>() > 0 && static_cast<uint64_t>(v.get<int64_t>()) <= kMax)
                                          : false;
  if (!ok)
    throw InputError(where + ": field \"" + key + "\" must be a positive integer, got " + j[key].dump());
  return j[key].get<int64_t>();
}
// An integer JSON number that fits int64 (a float, or an unsigned above INT64_MAX, is refused:
// converting those is undefined behaviour, found by fuzzing).
int64_t checked_int(const nlohmann::json& v, const char* key, const std::string& where) {
  if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) return v.get<int64_t>();
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  throw InputError(where + ": field \"" + key + "\" must be an integer, got " + v.dump());
}
template <typename T>
T optional(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if constexpr (std::is_same_v<T, int64_t>) {
    return checked_int(j[key], key, where);
  } else {
    try {
      return j[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      throw InputError(where + ": field \"" + key + "\" has the wrong type: " + j[key].dump());
    }
  }
}
int64_t first_id(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (j[key].is_array()) return j[key].empty() ? fallback : checked_int(j[key][0], key, where);
  return checked_int(j[key], key, where);
}
// The experts' fields of an MoE family (transformers' MixtralConfig, Qwen2MoeConfig, Qwen3MoeConfig,
// OlmoeConfig), with their defaults where config.json omits them.
void read_moe(const nlohmann::json& j, const ModelFamily& fam, const std::string& where, LlamaConfig& c) {
  MoeConfig& m = c.moe;
  m.num_experts = required_int(j, fam.num_experts_field, where);
  m.top_k = required_int(j, "num_experts_per_tok", where);
  m.expert_intermediate_size = required_int(j, fam.expert_size_field, where);
  if (m.top_k > m.num_experts)
    throw InputError(where + ": num_experts_per_tok (" + std::to_string(m.top_k) + ") exceeds " + fam.num_experts_field +
                     " (" + std::to_string(m.num_experts) + ")");
  m.norm_topk_prob = fam.always_norm_topk || optional<bool>(j, "norm_topk_prob", false, where);
  if (fam.shared_expert) m.shared_expert_intermediate_size = required_int(j, "shared_expert_intermediate_size", where);
  if (fam.moe_layers == MoeLayers::sparse_step) {
    m.decoder_sparse_step = optional<int64_t>(j, "decoder_sparse_step", 1, where);
    if (m.decoder_sparse_step < 1) throw InputError(where + ": decoder_sparse_step must be at least 1");
    if (j.contains("mlp_only_layers") && !j["mlp_only_layers"].is_null()) {
      if (!j["mlp_only_layers"].is_array()) throw InputError(where + ": mlp_only_layers must be a list of layer indices");
      for (const auto& v : j["mlp_only_layers"]) m.mlp_only_layers.push_back(checked_int(v, "mlp_only_layers", where));
    }
  }
  // transformers' routers and experts have no biases; a config that asks for them is refused
  for (const char* key : {"router_bias", "moe_bias"})
    if (optional<bool>(j, key, false, where)) throw InputError(where + ": " + key + " true is unsupported");
}
}  // namespace

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": config is not a JSON object");
  LlamaConfig c;
  c.raw = j;
  c.model_type = optional<std::string>(j, "model_type", "", where);
  const ModelFamily& fam = model_family(c.model_type, where);
  // What the forward does not compute is refused, not silently ignored.
  const auto act = optional<std::string>(j, fam.activation_field, fam.activation_default, where);
  if (act == "silu" || act == "swish") c.activation = Activation::silu;
  else if (act == "gelu_pytorch_tanh") c.activation = Activation::gelu_tanh;
  else if (act == "gelu") c.activation = Activation::gelu;
  else
    throw InputError(where + ": " + fam.activation_field + " \"" + act +
                     "\" unsupported (the gated MLP uses silu, gelu_pytorch_tanh or gelu)");
  c.norm = fam.norm;
  c.sandwich_norms = fam.sandwich_norms;
  c.scaled_embeddings = fam.scaled_embeddings;
  // a cap given as null is off; an absent one is the family's default
  auto softcap = [&](const char* key, double fallback) {
    if (j.contains(key) && j[key].is_null()) return 0.0;
    const double cap = optional<double>(j, key, fallback, where);
    if (!(cap >= 0 && std::isfinite(cap))) throw InputError(where + ": " + key + " must be a positive number or null");
    return cap;
  };
  c.attn_softcap = softcap("attn_logit_softcapping", fam.attn_softcap_default);
  c.final_softcap = softcap("final_logit_softcapping", fam.final_softcap_default);
  if (fam.query_pre_attn_scalar) {
    c.query_pre_attn_scalar = optional<double>(j, "query_pre_attn_scalar", 256.0, where);
    if (!(c.query_pre_attn_scalar > 0 && std::isfinite(c.query_pre_attn_scalar)))
      throw InputError(where + ": query_pre_attn_scalar must be a positive number");
  }
  const bool attention_bias = optional<bool>(j, "attention_bias", false, where);
  const bool mlp_bias = optional<bool>(j, "mlp_bias", false, where);
  const bool qkv_bias = optional<bool>(j, "qkv_bias", true, where);
  for (int l = 0; l < 7; ++l) {
    const bool attention = l < 4, qkv = l < 3;
    switch (fam.bias) {
      case BiasRule::none: break;
      case BiasRule::attention_mlp: c.linear_bias[l] = attention ? attention_bias : mlp_bias; break;
      case BiasRule::attention: c.linear_bias[l] = attention && attention_bias; break;
      case BiasRule::qkv_always: c.linear_bias[l] = qkv; break;
      case BiasRule::qkv_flag: c.linear_bias[l] = qkv && qkv_bias; break;
    }
  }
  c.qk_norm = fam.qk_norm;
  if (fam.clip_qkv) {
    c.clip_qkv = optional<double>(j, "clip_qkv", 0.0, where);
    if (c.clip_qkv < 0) throw InputError(where + ": clip_qkv must be positive or null");
  }
  c.hidden_size = required_int(j, "hidden_size", where);
  c.intermediate_size = required_int(j, "intermediate_size", where);
  c.num_hidden_layers = required_int(j, "num_hidden_layers", where);
  c.num_attention_heads = required_int(j, "num_attention_heads", where);
  c.vocab_size = required_int(j, "vocab_size", where);
  c.num_key_value_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                              ? required_int(j, "num_key_value_heads", where)
                              : c.num_attention_heads;
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = required_int(j, "head_dim", where);
  } else if (fam.head_dim_default > 0) {
    c.head_dim = fam.head_dim_default;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      throw InputError(where + ": num_attention_heads (" + std::to_string(c.num_attention_heads) +
                       ") does not divide hidden_size (" + std::to_string(c.hidden_size) + ")");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) throw InputError(where + ": head_dim must be even for RoPE");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw InputError(where + ": num_key_value_heads (" + std::to_string(c.num_key_value_heads) +
                     ") does not divide num_attention_heads (" + std::to_string(c.num_attention_heads) + ")");
  if (fam.moe_layers != MoeLayers::none) read_moe(j, fam, where, c);
  c.max_position_embeddings = optional<int64_t>(j, "max_position_embeddings", 2048, where);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6, where);
  if (!std::isfinite(c.rms_norm_eps) || c.rms_norm_eps < 0)
    throw InputError(where + ": rms_norm_eps must be a finite number >= 0, got " + j["rms_norm_eps"].dump());
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", fam.tied_default, where);
  c.torch_dtype = optional<std::string>(j, "torch_dtype", "float32", where);
  c.bos_token_id = first_id(j, "bos_token_id", 1, where);
  c.eos_token_id = first_id(j, "eos_token_id", 2, where);
  // RoPE: rope_theta + rope_scaling, or transformers 5's rope_parameters holding both; a family with
  // a local base may hold one object per layer type there (gemma3: full_attention, sliding_attention)
  const bool v5 = j.contains("rope_parameters") && !j["rope_parameters"].is_null();
  if (v5 && !j["rope_parameters"].is_object())
    throw InputError(where + ": rope_parameters must be an object or null");
  const nlohmann::json* global = v5 ? &j["rope_parameters"] : nullptr;  // v5: the (global layers') parameters
  const nlohmann::json* local = nullptr;                                 // v5: the sliding layers' own
  if (v5) {
    const auto& rp = j["rope_parameters"];
    for (const auto& [key, value] : rp.items())
      if (value.is_object() && !(fam.local_rope_base && (key == "full_attention" || key == "sliding_attention")))
        throw InputError(where + ": rope_parameters per layer type (\"" + key + "\") is unsupported");
    if (rp.contains("full_attention") && rp["full_attention"].is_object()) global = &rp["full_attention"];
    if (rp.contains("sliding_attention") && rp["sliding_attention"].is_object()) local = &rp["sliding_attention"];
  }
  for (const auto* r : {&j, global ? global : &j})
    if (r->contains("partial_rotary_factor") && !(*r)["partial_rotary_factor"].is_null() &&
        optional<double>(*r, "partial_rotary_factor", 1.0, where) != 1.0)
      throw InputError(where + ": partial_rotary_factor " + (*r)["partial_rotary_factor"].dump() +
                       " is unsupported (RoPE over the whole head_dim only)");
  c.rope_theta = optional<double>(j, "rope_theta", fam.rope_theta_default, where);
  if (global) c.rope_theta = optional<double>(*global, "rope_theta", c.rope_theta, where);
  if (!std::isfinite(c.rope_theta) || c.rope_theta <= 0)
    throw InputError(where + ": rope_theta must be a finite number > 0, got " + std::to_string(c.rope_theta));
  if (fam.local_rope_base) {  // Gemma3TextModel's rotary_emb_local: the default rope type at the local base
    c.rope_local_theta = optional<double>(j, "rope_local_base_freq", 10000.0, where);
    if (local) {
      c.rope_local_theta = optional<double>(*local, "rope_theta", c.rope_local_theta, where);
      const auto type = optional<std::string>(*local, "rope_type", "default", where);
      if (type != "default")
        throw InputError(where + ": rope_parameters.sliding_attention rope_type \"" + type + "\" unsupported (default)");
    }
    if (!std::isfinite(c.rope_local_theta) || c.rope_local_theta <= 0)
      throw InputError(where + ": rope_local_base_freq must be a finite number > 0");
  }
  const char* scaling_key = v5 ? "rope_parameters" : "rope_scaling";
  const nlohmann::json* scaling = v5 ? global : j.contains("rope_scaling") ? &j["rope_scaling"] : nullptr;
  if (scaling && !scaling->is_null()) {
    const auto& r = *scaling;
    if (!r.is_object()) throw InputError(where + ": " + scaling_key + " must be an object or null");
    std::string type = r.contains("rope_type") ? optional<std::string>(r, "rope_type", "", where)
                                               : optional<std::string>(r, "type", "default", where);
    if (type != "linear" && type != "dynamic" && type != "llama3" && type != "yarn" && type != "default")
      throw InputError(where + ": " + scaling_key + " type \"" + type +
                       "\" unsupported (default, linear, dynamic, llama3, yarn)");
    auto& rs = c.rope_scaling;
    rs.type = type == "default" ? "none" : type;
    rs.factor = optional<double>(r, "factor", 1.0, where);
    rs.low_freq_factor = optional<double>(r, "low_freq_factor", 1.0, where);
    rs.high_freq_factor = optional<double>(r, "high_freq_factor", 4.0, where);
    rs.has_original_max = r.contains("original_max_position_embeddings") && !r["original_max_position_embeddings"].is_null();
    rs.original_max_position_embeddings = optional<int64_t>(
        r, "original_max_position_embeddings", type == "yarn" ? c.max_position_embeddings : 8192, where);
    rs.attention_factor = optional<double>(r, "attention_factor", 0.0, where);
    rs.beta_fast = optional<double>(r, "beta_fast", 32.0, where);
    rs.beta_slow = optional<double>(r, "beta_slow", 1.0, where);
    rs.mscale = optional<double>(r, "mscale", 0.0, where);
    rs.mscale_all_dim = optional<double>(r, "mscale_all_dim", 0.0, where);
    rs.truncate = optional<bool>(r, "truncate", true, where);
    if (rs.type != "none" && !(rs.factor > 0 && std::isfinite(rs.factor))) throw InputError(where + ": " + scaling_key + " factor must be positive");
  }

  // attention windows, per layer
  int64_t window = j.contains("sliding_window") ? 0 : fam.window_default;  // a "sliding" layer's; 0: none
  if (j.contains("sliding_window") && !j["sliding_window"].is_null()) window = required_int(j, "sliding_window", where);
  if (fam.window == WindowRule::none) window = 0;  // the field means nothing there
  const bool qwen = fam.window == WindowRule::qwen;
  if (qwen && !optional<bool>(j, "use_sliding_window", false, where)) window = 0;
  c.layer_window.assign(static_cast<size_t>(c.num_hidden_layers), 0);
  if (j.contains("layer_types") && !j["layer_types"].is_null()) {
    const auto& types = j["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != c.num_hidden_layers)
      throw InputError(where + ": layer_types must list one type per layer (" + std::to_string(c.num_hidden_layers) + ")");
    for (size_t i = 0; i < types.size(); ++i) {
      const std::string t = types[i].is_string() ? types[i].get<std::string>() : types[i].dump();
      if (t != "full_attention" && t != "sliding_attention")
        throw InputError(where + ": layer_types[" + std::to_string(i) + "] is \"" + t +
                         "\" (expected full_attention or sliding_attention)");
      if (t == "sliding_attention") c.layer_window[i] = window;
    }
  } else if (fam.window == WindowRule::every_layer) {
    for (auto& w : c.layer_window) w = window;
  } else if (fam.window == WindowRule::even_layers) {  // Gemma2Config: layer_types' default
    for (size_t i = 0; i < c.layer_window.size(); i += 2) c.layer_window[i] = window;
  } else if (fam.window == WindowRule::pattern) {  // Gemma3TextConfig: sliding_window_pattern (default 6)
    const int64_t pattern = optional<int64_t>(j, "sliding_window_pattern", 6, where);
    if (pattern < 1) throw InputError(where + ": sliding_window_pattern must be at least 1");
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
      if ((i + 1) % pattern != 0) c.layer_window[static_cast<size_t>(i)] = window;
  } else if (qwen && window > 0) {
    const int64_t first = optional<int64_t>(j, "max_window_layers", c.num_hidden_layers, where);
    for (int64_t i = std::max<int64_t>(first, 0); i < c.num_hidden_layers; ++i) c.layer_window[static_cast<size_t>(i)] = window;
  }
  return c;
}

LlamaConfig LlamaConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read config.json (missing?)");
  return from_json(parse_json(in, path), path);
}

bool LlamaConfig::has_bias() const {
  for (bool b : linear_bias)
    if (b) return true;
  return false;
}

bool LlamaConfig::is_moe_layer(int64_t layer) const {
  if (!is_moe()) return false;
  if (family().moe_layers != MoeLayers::sparse_step) return true;
  for (int64_t dense : moe.mlp_only_layers)
    if (dense == layer) return false;
  return (layer + 1) % moe.decoder_sparse_step == 0;
}

std::string LlamaConfig::bias_flag(int linear) const {
  switch (family().bias) {
    case BiasRule::none: return "model_type " + model_type + " (no biases)";
    case BiasRule::qkv_always: return "model_type " + model_type + " (q/k/v biases, none on o_proj or the MLP)";
    case BiasRule::qkv_flag: return linear < 3 ? "qkv_bias" : "model_type " + model_type + " (biases on q/k/v only)";
    case BiasRule::attention: return linear < 4 ? "attention_bias" : "model_type " + model_type + " (no MLP biases)";
    case BiasRule::attention_mlp: break;
  }
  return linear < 4 ? "attention_bias" : "mlp_bias";
}

nlohmann::json LlamaConfig::to_json() const {
  nlohmann::json j = raw.is_object() ? raw : nlohmann::json::object();
  if (j.empty()) {  // a fresh config of the family
    const ModelFamily& fam = family();
    j = {{"architectures", {fam.architecture}}, {"model_type", model_type}, {"hidden_act", "silu"},
         {"initializer_range", 0.02}};
    if (fam.bias == BiasRule::attention_mlp)
      j["attention_bias"] = linear_bias[0], j["mlp_bias"] = linear_bias[4], j["pretraining_tp"] = 1;
    if (fam.bias == BiasRule::attention) j["attention_bias"] = linear_bias[0];
    if (fam.bias == BiasRule::qkv_flag) j["qkv_bias"] = linear_bias[0];
    int64_t window = 0, first_windowed = num_hidden_layers;
    for (int64_t i = num_hidden_layers - 1; i >= 0; --i)
      if (window_of(i) > 0) window = window_of(i), first_windowed = i;
    if (fam.window == WindowRule::every_layer)
      j["sliding_window"] = window > 0 ? nlohmann::json(window) : nlohmann::json(nullptr);
    if (fam.window == WindowRule::qwen) {
      j["use_sliding_window"] = window > 0;
      j["sliding_window"] = window > 0 ? window : max_position_embeddings;
      j["max_window_layers"] = first_windowed;
    }
    if (fam.clip_qkv) j["clip_qkv"] = clip_qkv > 0 ? nlohmann::json(clip_qkv) : nlohmann::json(nullptr);
    if (fam.moe_layers != MoeLayers::none) {
      j[fam.num_experts_field] = moe.num_experts;
      j["num_experts_per_tok"] = moe.top_k;
      j[fam.expert_size_field] = moe.expert_intermediate_size;
      if (!fam.always_norm_topk) j["norm_topk_prob"] = moe.norm_topk_prob;
      if (fam.shared_expert) j["shared_expert_intermediate_size"] = moe.shared_expert_intermediate_size;
      if (fam.moe_layers == MoeLayers::sparse_step)
        j["decoder_sparse_step"] = moe.decoder_sparse_step, j["mlp_only_layers"] = moe.mlp_only_layers;
      j["output_router_logits"] = false;
      j["router_aux_loss_coef"] = 0.001;
    }
    if (rope_scaling.type == "llama3")
      j["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", rope_scaling.factor},
                           {"low_freq_factor", rope_scaling.low_freq_factor},
                           {"high_freq_factor", rope_scaling.high_freq_factor},
                           {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
    else if (rope_scaling.type == "linear")
      j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope_scaling.factor}};
    else
      j["rope_scaling"] = nullptr;
    j["rope_theta"] = rope_theta;
    if (head_dim != hidden_size / num_attention_heads || qk_norm == QkNorm::per_head || fam.head_dim_default)
      j["head_dim"] = head_dim;
    if (std::string(fam.activation_field) != "hidden_act") {  // gemma: hidden_activation, and hidden_act beside it
      const char* act = activation == Activation::gelu_tanh ? "gelu_pytorch_tanh" : activation == Activation::gelu ? "gelu" : "silu";
      j[fam.activation_field] = act, j["hidden_act"] = act;
    }
    if (fam.query_pre_attn_scalar) j["query_pre_attn_scalar"] = query_pre_attn_scalar;
    if (fam.sandwich_norms) {  // the Gemma configs' softcaps, window and rope fields
      auto cap = [](double v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
      j["attn_logit_softcapping"] = cap(attn_softcap), j["final_logit_softcapping"] = cap(final_softcap);
      j["sliding_window"] = window > 0 ? window : fam.window_default;
      j["layer_types"] = nlohmann::json::array();
      for (int64_t i = 0; i < num_hidden_layers; ++i)
        j["layer_types"].push_back(window_of(i) > 0 ? "sliding_attention" : "full_attention");
    }
    if (fam.local_rope_base) j["rope_local_base_freq"] = rope_local_theta;
  }
  // the fields synth decides (the shape's sizes, --layers, --dtype, the tokenizer's size); a given
  // config keeps its own text where its value stands (an eos_token_id list, say)
  const bool given = raw.is_object() && !raw.empty();
  const LlamaConfig base = given ? from_json(raw, "config") : LlamaConfig{};
  auto put = [&](const char* key, const nlohmann::json& value, bool differs) {
    if (!given || differs) j[key] = value;
  };
  put("hidden_size", hidden_size, base.hidden_size != hidden_size);
  put("intermediate_size", intermediate_size, base.intermediate_size != intermediate_size);
  put("num_hidden_layers", num_hidden_layers, base.num_hidden_layers != num_hidden_layers);
  put("num_attention_heads", num_attention_heads, base.num_attention_heads != num_attention_heads);
  put("num_key_value_heads", num_key_value_heads, base.num_key_value_heads != num_key_value_heads);
  put("vocab_size", vocab_size, base.vocab_size != vocab_size);
  put("max_position_embeddings", max_position_embeddings, base.max_position_embeddings != max_position_embeddings);
  put("rms_norm_eps", rms_norm_eps, base.rms_norm_eps != rms_norm_eps);
  put("tie_word_embeddings", tie_word_embeddings, base.tie_word_embeddings != tie_word_embeddings);
  put("torch_dtype", torch_dtype, base.torch_dtype != torch_dtype);
  put("bos_token_id", bos_token_id, base.bos_token_id != bos_token_id);
  put("eos_token_id", eos_token_id, base.eos_token_id != eos_token_id);
  if (j.contains("layer_types") && j["layer_types"].is_array() && !j["layer_types"].empty() &&
      static_cast<int64_t>(j["layer_types"].size()) != num_hidden_layers) {  // --layers: the pattern repeated
    const auto given = j["layer_types"];
    j["layer_types"] = nlohmann::json::array();
    for (int64_t i = 0; i < num_hidden_layers; ++i) j["layer_types"].push_back(given[static_cast<size_t>(i) % given.size()]);
  }
  if (j.contains("max_window_layers") && j["max_window_layers"].is_number_integer() &&
      j["max_window_layers"].get<int64_t>() > num_hidden_layers)
    j["max_window_layers"] = num_hidden_layers;
  return j;
}

void LlamaConfig::warn_if_untrained(int64_t seqlen, const std::string& what) const {
  if (!trained_for(seqlen))
    spdlog::warn("{} of {} tokens run past the model's max_position_embeddings ({}): it was not trained on those "
                 "positions",
                 what, seqlen, max_position_embeddings);
}

}  // namespace enwanda
