// `enwanda inspect`: what a checkpoint holds — config summary, tensor count and bytes, and the
// fraction of exact zeros of each pruned linear, per layer, and which enwanda run wrote it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace enwanda {

nlohmann::json inspect_checkpoint(const std::string& dir);
std::string format_inspection(const nlohmann::json& j);  // the human-readable table

}  // namespace enwanda
