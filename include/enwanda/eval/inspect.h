// `enwanda inspect`: what a checkpoint holds — its family and model_type, the config's features
// (windows, biases, q/k norms, tied embeddings, experts and which layers are MoE), tensor count and
// bytes, the fraction of exact zeros of each pruned linear per layer (an MoE layer's experts
// summarised as min/median/max), for an N:M-pruned output whether every group follows the pattern,
// and which enwanda run wrote it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace enwanda {

nlohmann::json inspect_checkpoint(const std::string& dir);
std::string format_inspection(const nlohmann::json& j);  // the human-readable table

}  // namespace enwanda
