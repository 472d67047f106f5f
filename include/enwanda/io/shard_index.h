// model.safetensors.index.json: the map from tensor name to shard file. Torch-free, fuzzed.
#pragma once

#include <map>
#include <string>

namespace enwanda {

// Parses and validates the index text: a "weight_map" object of tensor -> shard file name, where
// a shard name is a plain file name (no '/', not "." or ".."). Throws InputError naming `where`.
std::map<std::string, std::string> parse_shard_index(const std::string& text, const std::string& where);

}  // namespace enwanda
