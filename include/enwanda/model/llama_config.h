// LlamaConfig: the hyper-parameters of a HuggingFace LLaMA checkpoint, read from config.json
// in this one place. Each field says what it means and its default when config.json omits it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace enwanda {

struct RopeScaling {
  std::string type = "none";  // none | linear | dynamic | llama3
  double factor = 1.0;
  // llama3 only
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct LlamaConfig {
  std::string model_type = "llama";     // llama, or mistral without sliding window
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
  nlohmann::json raw;                   // the file as read, written back unchanged

  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  // Whether windows of `seqlen` tokens stay within the positions the model was trained on
  // (dynamic RoPE scaling stretches the rotary base to fit longer windows, so any length is).
  bool trained_for(int64_t seqlen) const { return seqlen <= max_position_embeddings || rope_scaling.type == "dynamic"; }
  // Logs a warning when it is not: transformers runs such windows too, but the model has never
  // seen those positions, so statistics and perplexity from them mean little.
  void warn_if_untrained(int64_t seqlen, const std::string& what) const;

  // Parses and validates; `where` names the file in errors (InputError).
  static LlamaConfig from_json(const nlohmann::json& j, const std::string& where);
  static LlamaConfig from_file(const std::string& path);
  nlohmann::json to_json() const;  // a fresh config.json for synthetic checkpoints
};

}  // namespace enwanda
