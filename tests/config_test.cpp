// LlamaConfig: defaults, GQA, head_dim, rope_scaling, and each rejected field named.
#include <gtest/gtest.h>

#include "enwanda/errors.h"
#include "enwanda/model/llama_config.h"

using namespace enwanda;
using json = nlohmann::json;

namespace {
json base() {
  return {{"model_type", "llama"}, {"hidden_size", 64}, {"intermediate_size", 176}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"vocab_size", 100}};
}
std::string rejection(const json& j) {
  try {
    LlamaConfig::from_json(j, "cfg.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(LlamaConfig, DefaultsForOptionalFields) {
  auto c = LlamaConfig::from_json(base(), "cfg.json");
  EXPECT_EQ(c.num_key_value_heads, 4);  // absent -> heads
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_scaling.type, "none");
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(LlamaConfig, GqaHeadDimAndRopeScaling) {
  auto j = base();
  j["num_key_value_heads"] = 2;
  j["head_dim"] = 32;
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  j["eos_token_id"] = {128001, 128009};
  auto c = LlamaConfig::from_json(j, "cfg.json");
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.kv_dim(), 64);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.eos_token_id, 128001);
  j["num_key_value_heads"] = nullptr;
  EXPECT_EQ(LlamaConfig::from_json(j, "cfg.json").num_key_value_heads, 4);
}

TEST(LlamaConfig, TrainedPositions) {
  auto j = base();
  j["max_position_embeddings"] = 4096;
  auto c = LlamaConfig::from_json(j, "cfg.json");
  EXPECT_TRUE(c.trained_for(2048));
  EXPECT_TRUE(c.trained_for(4096));
  EXPECT_FALSE(c.trained_for(4097));
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_FALSE(LlamaConfig::from_json(j, "cfg.json").trained_for(8192));
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};  // stretches the base to any length
  EXPECT_TRUE(LlamaConfig::from_json(j, "cfg.json").trained_for(8192));
}

TEST(LlamaConfig, RejectionsNameTheField) {
  for (const char* field : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"}) {
    auto j = base();
    j.erase(field);
    EXPECT_NE(rejection(j).find(std::string("\"") + field + "\" is missing"), std::string::npos) << field;
  }
  auto j = base();
  j["model_type"] = "gpt2";
  EXPECT_NE(rejection(j).find("unsupported model_type \"gpt2\""), std::string::npos);
  j = base();
  j["num_attention_heads"] = 5;
  EXPECT_NE(rejection(j).find("does not divide hidden_size"), std::string::npos);
  j = base();
  j["num_key_value_heads"] = 3;
  EXPECT_NE(rejection(j).find("num_key_value_heads (3) does not divide num_attention_heads (4)"), std::string::npos);
  j = base();
  j["hidden_size"] = "64";
  EXPECT_NE(rejection(j).find("\"hidden_size\" must be a positive integer"), std::string::npos);
  // what the forward does not compute: another activation
  j = base();
  j["hidden_act"] = "relu2";
  EXPECT_NE(rejection(j).find("hidden_act \"relu2\" unsupported"), std::string::npos);
  j["hidden_act"] = "silu";
  EXPECT_EQ(rejection(j), "");
  j = base();
  j["layer_types"] = {"full_attention"};
  EXPECT_NE(rejection(j).find("one type per layer"), std::string::npos);
  j["layer_types"] = {"full_attention", "chunked_attention"};
  EXPECT_NE(rejection(j).find("layer_types[1] is \"chunked_attention\""), std::string::npos);
  j = base();
  j["rope_parameters"] = {{"rope_type", "longrope"}, {"rope_theta", 1e4}};
  EXPECT_NE(rejection(j).find("rope_parameters type \"longrope\" unsupported"), std::string::npos);
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}, {"rope_theta", 1e6}}}};
  EXPECT_NE(rejection(j).find("rope_parameters per layer type (\"full_attention\") is unsupported"), std::string::npos);
  j = base();
  j["partial_rotary_factor"] = 0.5;
  EXPECT_NE(rejection(j).find("partial_rotary_factor 0.5 is unsupported"), std::string::npos);
}

TEST(LlamaConfig, FamiliesReadTheirBiasesNormsAndWindows) {
  auto read = [](const nlohmann::json& j) { return LlamaConfig::from_json(j, "cfg.json"); };
  auto biases = [](const LlamaConfig& c) {
    std::string s;
    for (bool b : c.linear_bias) s += b ? '1' : '0';
    return s;
  };
  auto windows = [](const LlamaConfig& c) {
    std::string s;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) s += std::to_string(c.window_of(i)) + " ";
    return s;
  };
  auto j = base();  // llama: 2 layers
  EXPECT_EQ(biases(read(j)), "0000000");
  j["attention_bias"] = true;
  EXPECT_EQ(biases(read(j)), "1111000");
  j["mlp_bias"] = true;
  j["attention_bias"] = false;
  EXPECT_EQ(biases(read(j)), "0000111");
  j["sliding_window"] = 8;  // means nothing to llama
  EXPECT_EQ(windows(read(j)), "0 0 ");

  j = base();
  j["model_type"] = "mistral";
  j["sliding_window"] = 8;
  EXPECT_EQ(windows(read(j)), "8 8 ");
  j["sliding_window"] = nullptr;
  EXPECT_EQ(windows(read(j)), "0 0 ");
  j["attention_bias"] = true;  // not a mistral field
  EXPECT_EQ(biases(read(j)), "0000000");

  j = base();
  j["model_type"] = "qwen2";
  j["sliding_window"] = 8;
  j["max_window_layers"] = 1;
  EXPECT_EQ(biases(read(j)), "1110000");
  EXPECT_EQ(windows(read(j)), "0 0 ");  // use_sliding_window absent: false
  j["use_sliding_window"] = true;
  EXPECT_EQ(windows(read(j)), "0 8 ");
  j["layer_types"] = {"sliding_attention", "full_attention"};
  EXPECT_EQ(windows(read(j)), "8 0 ");
  EXPECT_EQ(read(j).qk_norm, QkNorm::none);

  j = base();
  j["model_type"] = "qwen3";
  j["head_dim"] = 32;
  EXPECT_EQ(read(j).qk_norm, QkNorm::per_head);
  EXPECT_EQ(read(j).head_dim, 32);
  EXPECT_EQ(biases(read(j)), "0000000");
  j["attention_bias"] = true;
  EXPECT_EQ(biases(read(j)), "1111000");

  // transformers 5: rope_parameters in place of rope_theta and rope_scaling
  j = base();
  j["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 5e5}, {"factor", 4.0}, {"original_max_position_embeddings", 64}};
  auto c = read(j);
  EXPECT_EQ(c.rope_theta, 5e5);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_TRUE(c.rope_scaling.has_original_max);
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
  EXPECT_EQ(read(j).rope_theta, 1e6);
  EXPECT_EQ(read(j).rope_scaling.type, "none");
}

TEST(LlamaConfig, NonIntegerNumbersAreRefusedNotConverted) {
  // found by fuzzing: a float too large for int64 in eos_token_id was converted (undefined behaviour)
  auto j = base();
  j["eos_token_id"] = {5.5e23, 2};
  EXPECT_NE(rejection(j).find("\"eos_token_id\" must be an integer"), std::string::npos);
  j = base();
  j["max_position_embeddings"] = 1e300;
  EXPECT_NE(rejection(j).find("\"max_position_embeddings\" must be an integer"), std::string::npos);
  j = base();
  j["hidden_size"] = 1e30;
  EXPECT_NE(rejection(j).find("\"hidden_size\" must be a positive integer"), std::string::npos);
  j = base();
  j["num_key_value_heads"] = 0;  // found by fuzzing: 0 slipped through and divided by zero
  EXPECT_NE(rejection(j).find("\"num_key_value_heads\" must be a positive integer"), std::string::npos);
  j = base();
  j["num_attention_heads"] = -4;
  EXPECT_NE(rejection(j).find("\"num_attention_heads\" must be a positive integer"), std::string::npos);
  j = base();
  j["vocab_size"] = 18446744073709551615ull;
  EXPECT_NE(rejection(j).find("\"vocab_size\" must be a positive integer"), std::string::npos);
}

// Gemma's fields and their defaults as configuration_gemma2.py / configuration_gemma3.py
// (Gemma3TextConfig) set them, and a fresh config read back as written.
TEST(LlamaConfig, GemmaFamiliesReadTheirDefaults) {
  auto j = base();
  j["model_type"] = "gemma2";
  j["num_hidden_layers"] = 4;
  auto g2 = LlamaConfig::from_json(j, "cfg.json");
  EXPECT_EQ(g2.head_dim, 256);  // not hidden / heads
  EXPECT_TRUE(g2.tie_word_embeddings);
  EXPECT_EQ(g2.norm, NormKind::rms_one_plus);
  EXPECT_EQ(g2.activation, Activation::gelu_tanh);
  EXPECT_TRUE(g2.sandwich_norms && g2.scaled_embeddings);
  EXPECT_DOUBLE_EQ(g2.attn_softcap, 50.0);
  EXPECT_DOUBLE_EQ(g2.final_softcap, 30.0);
  EXPECT_DOUBLE_EQ(g2.query_pre_attn_scalar, 256.0);
  EXPECT_EQ(g2.layer_window, (std::vector<int64_t>{4096, 0, 4096, 0}));  // sliding on even layers
  EXPECT_DOUBLE_EQ(g2.rope_local_theta, 0.0);
  j["attn_logit_softcapping"] = nullptr;
  j["final_logit_softcapping"] = 7.5;
  j["sliding_window"] = 8;
  j["layer_types"] = {"full_attention", "sliding_attention", "sliding_attention", "full_attention"};
  g2 = LlamaConfig::from_json(j, "cfg.json");
  EXPECT_DOUBLE_EQ(g2.attn_softcap, 0.0);  // null: off
  EXPECT_DOUBLE_EQ(g2.final_softcap, 7.5);
  EXPECT_EQ(g2.layer_window, (std::vector<int64_t>{0, 8, 8, 0}));
  const auto back = LlamaConfig::from_json(LlamaConfig{g2}.to_json(), "back");  // raw kept: the same fields
  EXPECT_EQ(back.layer_window, g2.layer_window);

  auto t = base();
  t["model_type"] = "gemma3_text";
  t["num_hidden_layers"] = 7;
  auto g3 = LlamaConfig::from_json(t, "cfg.json");
  EXPECT_EQ(g3.qk_norm, QkNorm::per_head);
  EXPECT_DOUBLE_EQ(g3.attn_softcap, 0.0);
  EXPECT_DOUBLE_EQ(g3.final_softcap, 0.0);
  EXPECT_DOUBLE_EQ(g3.rope_theta, 1000000.0);
  EXPECT_DOUBLE_EQ(g3.rope_local_theta, 10000.0);
  EXPECT_EQ(g3.layer_window, (std::vector<int64_t>{4096, 4096, 4096, 4096, 4096, 0, 4096}));  // pattern 6
  EXPECT_TRUE(g3.local_rope(0));
  EXPECT_FALSE(g3.local_rope(5));
  t["sliding_window_pattern"] = 2;
  EXPECT_EQ(LlamaConfig::from_json(t, "cfg.json").layer_window, (std::vector<int64_t>{4096, 0, 4096, 0, 4096, 0, 4096}));
  // transformers 5: rope_parameters per layer type
  t["rope_parameters"] = {{"full_attention", {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 500000.0}}},
                          {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 20000.0}}}};
  g3 = LlamaConfig::from_json(t, "cfg.json");
  EXPECT_EQ(g3.rope_scaling.type, "linear");
  EXPECT_DOUBLE_EQ(g3.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(g3.rope_theta, 500000.0);
  EXPECT_DOUBLE_EQ(g3.rope_local_theta, 20000.0);
  t["rope_parameters"]["sliding_attention"]["rope_type"] = "yarn";
  EXPECT_NE(rejection(t).find("rope_parameters.sliding_attention rope_type \"yarn\""), std::string::npos);
  // a family without a local base refuses per-type parameters; an unknown activation is named
  j["rope_parameters"] = t["rope_parameters"];
  EXPECT_NE(rejection(j).find("per layer type"), std::string::npos);
  j.erase("rope_parameters");
  j["hidden_activation"] = "relu";
  EXPECT_NE(rejection(j).find("hidden_activation \"relu\""), std::string::npos);
}
