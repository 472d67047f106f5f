#include "enwanda/io/shard_index.h"

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"

namespace enwanda {

std::map<std::string, std::string> parse_shard_index(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(where + ": missing \"weight_map\" object");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw InputError(where + ": weight_map value for \"" + it.key() + "\" is not a file name");
    std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      throw InputError(where + ": weight_map names an invalid shard file \"" + shard + "\"");
    map[it.key()] = shard;
  }
  if (map.empty()) throw InputError(where + ": weight_map is empty");
  return map;
}

}  // namespace enwanda
