#include "enwanda/io/shard_index.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/io/replace_guard.h"

namespace enwanda {

namespace {
std::string printable(const std::string& s) {  // control characters as \xNN
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::map<std::string, std::string> parse_shard_index(const std::string& text, const std::string& where) {
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(where + ": missing \"weight_map\" object");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw InputError(where + ": weight_map value for \"" + it.key() + "\" is not a file name");
    std::string shard = it.value().get<std::string>();
    // a shard is a plain file beside the index: no path, no control character, not enwanda's report
    const bool control =
        std::any_of(shard.begin(), shard.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard.find("..") != std::string::npos || shard == "." || control || shard == kReportFile)
      throw InputError(where + ": weight_map names an invalid shard file \"" + printable(shard) + "\" for \"" +
                       printable(it.key()) + "\"; a shard is a .safetensors file name in the checkpoint directory");
    map[it.key()] = shard;
  }
  if (map.empty()) throw InputError(where + ": weight_map is empty");
  return map;
}

}  // namespace enwanda
