#include "enwanda/model/tensor_names.h"

#include "enwanda/model/model_family.h"

namespace enwanda {

const std::vector<std::string> kLinearNames = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj",
};

const std::array<std::string, 3> kSharedExpertLinears = {"mlp.shared_expert.gate_proj", "mlp.shared_expert.up_proj",
                                                         "mlp.shared_expert.down_proj"};
const std::string kSharedExpertGate = "mlp.shared_expert_gate";

std::string layer_tensor_name(int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix + ".weight";
}

std::string layer_bias_name(int64_t layer, const std::string& linear) {
  return "model.layers." + std::to_string(layer) + "." + linear + ".bias";
}

std::string expert_linear(const LlamaConfig& c, int64_t expert, int j) {
  const ModelFamily& fam = c.family();
  return std::string(fam.experts) + "." + std::to_string(expert) + "." + fam.expert_linears[static_cast<size_t>(j)];
}

std::string router_module(const LlamaConfig& c) { return c.family().router; }

std::vector<LayerTensor> layer_linears(const LlamaConfig& c, int64_t layer) {
  const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim();
  std::vector<LayerTensor> out = {
      {kLinearNames[0], {q, h}}, {kLinearNames[1], {kv, h}}, {kLinearNames[2], {kv, h}}, {kLinearNames[3], {h, q}}};
  auto mlp = [&](const std::string& gate, const std::string& up, const std::string& down, int64_t f) {
    out.push_back({gate, {f, h}});
    out.push_back({up, {f, h}});
    out.push_back({down, {h, f}});
  };
  if (!c.is_moe_layer(layer)) {
    mlp(kLinearNames[4], kLinearNames[5], kLinearNames[6], c.intermediate_size);
    return out;
  }
  for (int64_t e = 0; e < c.moe.num_experts; ++e)
    mlp(expert_linear(c, e, 0), expert_linear(c, e, 1), expert_linear(c, e, 2), c.moe.expert_intermediate_size);
  if (c.moe.shared_expert_intermediate_size > 0)
    mlp(kSharedExpertLinears[0], kSharedExpertLinears[1], kSharedExpertLinears[2], c.moe.shared_expert_intermediate_size);
  return out;
}

std::vector<LayerTensor> layer_parameters(const LlamaConfig& c, int64_t layer) {
  const int64_t h = c.hidden_size;
  std::vector<LayerTensor> out = {{layer_tensor_name(layer, "input_layernorm"), {h}},
                                  {layer_tensor_name(layer, "post_attention_layernorm"), {h}}};
  if (c.sandwich_norms)
    for (const char* n : {"pre_feedforward_layernorm", "post_feedforward_layernorm"}) out.push_back({layer_tensor_name(layer, n), {h}});
  if (c.qk_norm != QkNorm::none) {
    out.push_back({layer_tensor_name(layer, "self_attn.q_norm"), {c.q_norm_size()}});
    out.push_back({layer_tensor_name(layer, "self_attn.k_norm"), {c.k_norm_size()}});
  }
  const std::vector<int64_t> out_features = {c.q_dim(), c.kv_dim(), c.kv_dim(), h, c.intermediate_size,
                                             c.intermediate_size, h};
  const bool moe = c.is_moe_layer(layer);
  for (size_t j = 0; j < kLinearNames.size(); ++j)
    if (c.linear_bias[j] && !(moe && j >= 4)) out.push_back({layer_bias_name(layer, kLinearNames[j]), {out_features[j]}});
  if (moe) {
    out.push_back({layer_tensor_name(layer, router_module(c)), {c.moe.num_experts, h}});
    if (c.moe.shared_expert_intermediate_size > 0) out.push_back({layer_tensor_name(layer, kSharedExpertGate), {1, h}});
  }
  return out;
}

std::vector<std::string> layer_parameter_names(const LlamaConfig& c, int64_t layer) {
  std::vector<std::string> names;
  for (const auto& t : layer_parameters(c, layer)) names.push_back(t.suffix);
  return names;
}

}  // namespace enwanda
