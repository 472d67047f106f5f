#include "enwanda/model/llama_config.h"

#include <fstream>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

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
}  // namespace

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": config is not a JSON object");
  LlamaConfig c;
  c.raw = j;
  c.model_type = optional<std::string>(j, "model_type", "", where);
  if (c.model_type != "llama" && c.model_type != "mistral")
    throw InputError(where + ": unsupported model_type \"" + c.model_type + "\" (expected \"llama\" or \"mistral\")");
  if (c.model_type == "mistral" && j.contains("sliding_window") && !j["sliding_window"].is_null())
    throw InputError(where + ": field \"sliding_window\" is set; mistral with sliding-window attention is unsupported");
  // What the forward does not compute is refused, not silently ignored.
  const auto act = optional<std::string>(j, "hidden_act", "silu", where);
  if (act != "silu" && act != "swish")
    throw InputError(where + ": hidden_act \"" + act + "\" unsupported (LLaMA's MLP uses silu)");
  for (const char* bias : {"attention_bias", "mlp_bias"})
    if (optional<bool>(j, bias, false, where))
      throw InputError(where + ": field \"" + bias + "\" is true; linear layers with biases are unsupported");
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
  c.max_position_embeddings = optional<int64_t>(j, "max_position_embeddings", 2048, where);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6, where);
  c.rope_theta = optional<double>(j, "rope_theta", 10000.0, where);
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, where);
  c.torch_dtype = optional<std::string>(j, "torch_dtype", "float32", where);
  c.bos_token_id = first_id(j, "bos_token_id", 1, where);
  c.eos_token_id = first_id(j, "eos_token_id", 2, where);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& r = j["rope_scaling"];
    if (!r.is_object()) throw InputError(where + ": rope_scaling must be an object or null");
    std::string type = r.contains("rope_type") ? optional<std::string>(r, "rope_type", "", where)
                                               : optional<std::string>(r, "type", "", where);
    if (type != "linear" && type != "dynamic" && type != "llama3" && type != "default")
      throw InputError(where + ": rope_scaling type \"" + type + "\" unsupported (linear, dynamic, llama3)");
    c.rope_scaling.type = type == "default" ? "none" : type;
    c.rope_scaling.factor = optional<double>(r, "factor", 1.0, where);
    c.rope_scaling.low_freq_factor = optional<double>(r, "low_freq_factor", 1.0, where);
    c.rope_scaling.high_freq_factor = optional<double>(r, "high_freq_factor", 4.0, where);
    c.rope_scaling.original_max_position_embeddings =
        optional<int64_t>(r, "original_max_position_embeddings", 8192, where);
  }
  return c;
}

LlamaConfig LlamaConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read config.json (missing?)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
  return from_json(j, path);
}

nlohmann::json LlamaConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"vocab_size", vocab_size},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope_theta},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", torch_dtype},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"pretraining_tp", 1},
      {"initializer_range", 0.02},
  };
  if (head_dim != hidden_size / num_attention_heads) j["head_dim"] = head_dim;
  return j;
}

void LlamaConfig::warn_if_untrained(int64_t seqlen, const std::string& what) const {
  if (!trained_for(seqlen))
    spdlog::warn("{} of {} tokens run past the model's max_position_embeddings ({}): it was not trained on those "
                 "positions",
                 what, seqlen, max_position_embeddings);
}

}  // namespace enwanda
