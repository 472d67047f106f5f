#include "enwanda/eval/inspect.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "enwanda/model/checkpoint.h"
#include "enwanda/prune/reproduce.h"

namespace enwanda {

nlohmann::json inspect_checkpoint(const std::string& dir) {
  auto ck = Checkpoint::open(dir);
  const LlamaConfig& c = ck->config();
  nlohmann::json layers = nlohmann::json::array();
  int64_t zeros_total = 0, numel_total = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    nlohmann::json row = {{"layer", i}};
    for (const auto& lin : kLinearNames) {
      auto w = ck->tensor(layer_tensor_name(i, lin));
      int64_t zeros = (w == 0).sum().item<int64_t>();
      row[lin] = static_cast<double>(zeros) / static_cast<double>(w.numel());
      zeros_total += zeros;
      numel_total += w.numel();
    }
    layers.push_back(row);
  }
  return {{"model", dir},
          {"config",
           {{"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_hidden_layers},
            {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
            {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size}, {"torch_dtype", c.torch_dtype}}},
          {"shards", ck->shard_names().size()},
          {"tensors", ck->tensor_names().size()},
          {"bytes", ck->total_bytes()},
          {"weight_dtype", dtype_name(ck->weight_dtype())},
          {"linear_sparsity", static_cast<double>(zeros_total) / static_cast<double>(std::max<int64_t>(numel_total, 1))},
          {"pruned_by", pruned_by(dir)},
          {"layers", layers}};
}

std::string format_inspection(const nlohmann::json& j) {
  std::ostringstream out;
  const auto& c = j["config"];
  out << j["model"].get<std::string>() << ": LLaMA, " << c["num_hidden_layers"] << " layers, hidden " << c["hidden_size"]
      << ", intermediate " << c["intermediate_size"] << ", heads " << c["num_attention_heads"] << " (kv "
      << c["num_key_value_heads"] << "), vocab " << c["vocab_size"] << "\n";
  out << j["tensors"] << " tensors in " << j["shards"] << " shard(s), " << j["bytes"] << " bytes, weights "
      << j["weight_dtype"].get<std::string>() << "\n";
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%5s %7s %7s %7s %7s %7s %7s %7s\n", "layer", "q", "k", "v", "o", "gate", "up", "down");
  out << buf;
  for (const auto& row : j["layers"]) {
    std::snprintf(buf, sizeof(buf), "%5lld", static_cast<long long>(row["layer"].get<int64_t>()));
    out << buf;
    for (const auto& lin : kLinearNames) {
      std::snprintf(buf, sizeof(buf), " %7.4f", row[lin].get<double>());
      out << buf;
    }
    out << "\n";
  }
  std::snprintf(buf, sizeof(buf), "linear sparsity (fraction of exact zeros): %.6f\n", j["linear_sparsity"].get<double>());
  out << buf;
  if (!j["pruned_by"].get<std::string>().empty()) out << "pruned by: " << j["pruned_by"].get<std::string>() << "\n";
  return out.str();
}

}  // namespace enwanda
