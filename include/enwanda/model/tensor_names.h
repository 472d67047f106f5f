// The LLaMA architecture's tensor names in a HuggingFace checkpoint, and the mixture-of-experts
// families' router and expert names (model/model_family.h says which family names them how).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "enwanda/model/llama_config.h"

namespace enwanda {

// The seven linears pruned in every dense decoder layer, in checkpoint naming.
extern const std::vector<std::string> kLinearNames;  // self_attn.q_proj, ..., mlp.down_proj
std::string layer_tensor_name(int64_t layer, const std::string& suffix);  // model.layers.{i}.{suffix}.weight
std::string layer_bias_name(int64_t layer, const std::string& linear);     // model.layers.{i}.{linear}.bias

// A tensor of a decoder layer, named after model.layers.{i}. and without .weight/.bias's suffix
// where `suffix` is a module (layer_tensor_name adds them), with the shape the config implies.
struct LayerTensor {
  std::string suffix;          // "self_attn.q_proj", "mlp.experts.3.up_proj", ...
  std::vector<int64_t> shape;  // a linear: [out_features, in_features]
};
// The linear weights pruned in layer i: q, k, v, o, then the MLP's gate, up, down, or in an MoE
// layer each expert's gate, up, down (expert by expert) and then the shared expert's.
std::vector<LayerTensor> layer_linears(const LlamaConfig& c, int64_t layer);
// The module of expert e's linear j (0 gate, 1 up, 2 down), as the family names it.
std::string expert_linear(const LlamaConfig& c, int64_t expert, int j);
std::string router_module(const LlamaConfig& c);                   // "block_sparse_moe.gate" | "mlp.gate"
extern const std::array<std::string, 3> kSharedExpertLinears;      // mlp.shared_expert.{gate,up,down}_proj
extern const std::string kSharedExpertGate;                        // mlp.shared_expert_gate  [1, hidden]
// Every tensor of layer i that the forward reads besides the pruned linear weights, as the config
// implies them: the two norms (four with sandwich norms), the biases, q_norm/k_norm, the router and shared_expert_gate; full
// names (model.layers.{i}.....weight|bias) with their shapes.
std::vector<LayerTensor> layer_parameters(const LlamaConfig& c, int64_t layer);
std::vector<std::string> layer_parameter_names(const LlamaConfig& c, int64_t layer);

}  // namespace enwanda
