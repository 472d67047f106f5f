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
  j = base();
  j["model_type"] = "mistral";
  j["sliding_window"] = 4096;
  EXPECT_NE(rejection(j).find("sliding_window"), std::string::npos);
  j["sliding_window"] = nullptr;
  EXPECT_EQ(rejection(j), "");
  // what the forward does not compute: another activation, biases
  j = base();
  j["hidden_act"] = "gelu";
  EXPECT_NE(rejection(j).find("hidden_act \"gelu\" unsupported"), std::string::npos);
  j["hidden_act"] = "silu";
  EXPECT_EQ(rejection(j), "");
  for (const char* bias : {"attention_bias", "mlp_bias"}) {
    j = base();
    j[bias] = true;
    EXPECT_NE(rejection(j).find(std::string("\"") + bias + "\" is true"), std::string::npos) << bias;
    j[bias] = false;
    EXPECT_EQ(rejection(j), "") << bias;
  }
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
