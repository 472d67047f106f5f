#include "enwanda/model/tensor_names.h"

namespace enwanda {

const std::vector<std::string> kLinearNames = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj",
};

std::string layer_tensor_name(int64_t layer, const std::string& suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix + ".weight";
}

std::string layer_bias_name(int64_t layer, const std::string& linear) {
  return "model.layers." + std::to_string(layer) + "." + linear + ".bias";
}

std::vector<std::string> layer_parameter_names(const LlamaConfig& c, int64_t layer) {
  std::vector<std::string> names = {layer_tensor_name(layer, "input_layernorm"),
                                    layer_tensor_name(layer, "post_attention_layernorm")};
  if (c.qk_norm)
    for (const char* norm : {"self_attn.q_norm", "self_attn.k_norm"}) names.push_back(layer_tensor_name(layer, norm));
  for (size_t j = 0; j < kLinearNames.size(); ++j)
    if (c.linear_bias[j]) names.push_back(layer_bias_name(layer, kLinearNames[j]));
  return names;
}

}  // namespace enwanda
