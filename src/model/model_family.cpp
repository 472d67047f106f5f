#include "enwanda/model/model_family.h"

#include "enwanda/errors.h"

namespace enwanda {

namespace {
constexpr std::array<const char*, 3> kNoExperts = {nullptr, nullptr, nullptr};
constexpr std::array<const char*, 3> kProjExperts = {"gate_proj", "up_proj", "down_proj"};

const ModelFamily kFamilies[] = {
    // type        architecture            bias                     window                   q/k norm                    clip
    {"llama", "LlamaForCausalLM", BiasRule::attention_mlp, WindowRule::none, QkNorm::none, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false},
    {"mistral", "MistralForCausalLM", BiasRule::none, WindowRule::every_layer, QkNorm::none, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false},
    {"qwen2", "Qwen2ForCausalLM", BiasRule::qkv_always, WindowRule::qwen, QkNorm::none, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false},
    {"qwen3", "Qwen3ForCausalLM", BiasRule::attention, WindowRule::qwen, QkNorm::per_head, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false},
    // transformers' modeling_mixtral.py: MixtralSparseMoeBlock, MixtralBlockSparseTop2MLP (w1, w3, w2)
    {"mixtral", "MixtralForCausalLM", BiasRule::none, WindowRule::every_layer, QkNorm::none, false,
     MoeLayers::every_layer, "num_local_experts", "intermediate_size", "block_sparse_moe.gate",
     "block_sparse_moe.experts", {"w1", "w3", "w2"}, true, false},
    // modeling_qwen2_moe.py: Qwen2MoeDecoderLayer (sparse step), Qwen2MoeSparseMoeBlock (shared expert)
    {"qwen2_moe", "Qwen2MoeForCausalLM", BiasRule::qkv_flag, WindowRule::qwen, QkNorm::none, false,
     MoeLayers::sparse_step, "num_experts", "moe_intermediate_size", "mlp.gate", "mlp.experts", kProjExperts, false,
     true},
    // modeling_qwen3_moe.py: Qwen3MoeAttention (per-head q/k norm), Qwen3MoeSparseMoeBlock
    {"qwen3_moe", "Qwen3MoeForCausalLM", BiasRule::attention, WindowRule::qwen, QkNorm::per_head, false,
     MoeLayers::sparse_step, "num_experts", "moe_intermediate_size", "mlp.gate", "mlp.experts", kProjExperts, false,
     false},
    // modeling_olmoe.py: OlmoeAttention (q/k norm over the projection, clip_qkv), OlmoeSparseMoeBlock
    {"olmoe", "OlmoeForCausalLM", BiasRule::attention, WindowRule::none, QkNorm::whole_projection, true,
     MoeLayers::every_layer, "num_experts", "intermediate_size", "mlp.gate", "mlp.experts", kProjExperts, false,
     false},
    // modeling_gemma2.py: Gemma2RMSNorm, Gemma2MLP, Gemma2Attention (scaling, softcapping), Gemma2DecoderLayer,
    // Gemma2Model (normalizer), Gemma2ForCausalLM (final_logit_softcapping); configuration_gemma2.py's defaults
    {"gemma2", "Gemma2ForCausalLM", BiasRule::attention, WindowRule::even_layers, QkNorm::none, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false,
     NormKind::rms_one_plus, "hidden_activation", "gelu_pytorch_tanh", /*sandwich_norms=*/true,
     /*scaled_embeddings=*/true, /*query_pre_attn_scalar=*/true, /*attn_softcap=*/50.0, /*final_softcap=*/30.0,
     /*head_dim=*/256, /*window=*/4096, /*tied=*/true, /*local_rope_base=*/false},
    // modeling_gemma3.py: Gemma3Attention (q_norm/k_norm), Gemma3TextModel (rotary_emb_local);
    // configuration_gemma3.py: Gemma3TextConfig's defaults
    {"gemma3_text", "Gemma3ForCausalLM", BiasRule::attention, WindowRule::pattern, QkNorm::per_head, false,
     MoeLayers::none, nullptr, nullptr, nullptr, nullptr, kNoExperts, false, false,
     NormKind::rms_one_plus, "hidden_activation", "gelu_pytorch_tanh", /*sandwich_norms=*/true,
     /*scaled_embeddings=*/true, /*query_pre_attn_scalar=*/true, /*attn_softcap=*/0.0, /*final_softcap=*/0.0,
     /*head_dim=*/256, /*window=*/4096, /*tied=*/true, /*local_rope_base=*/true, /*rope_theta=*/1000000.0},
};
}  // namespace

std::string supported_model_types() {
  std::string names;
  for (const auto& f : kFamilies) names += std::string(names.empty() ? "" : ", ") + f.model_type;
  return names;
}

const ModelFamily& model_family(const std::string& model_type, const std::string& where) {
  for (const auto& f : kFamilies)
    if (model_type == f.model_type) return f;
  throw InputError(where + ": unsupported model_type \"" + model_type + "\" (supported: " + supported_model_types() + ")");
}

}  // namespace enwanda
