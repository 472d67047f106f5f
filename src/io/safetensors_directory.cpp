#include "enwanda/io/safetensors_directory.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/io/shard_index.h"

namespace fs = std::filesystem;

namespace enwanda {

void SafetensorsDirectory::open_files(const std::string& dir) {
  dir_ = dir;
  fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  fs::path single_path = fs::path(dir) / "model.safetensors";
  std::map<std::string, std::string> index_map;
  if (fs::exists(index_path)) {
    sharded_ = true;
    std::ifstream in(index_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    index_map = parse_shard_index(text, index_path.string());
    for (const auto& [tensor, shard] : index_map)
      if (std::find(shard_names_.begin(), shard_names_.end(), shard) == shard_names_.end()) shard_names_.push_back(shard);
    std::sort(shard_names_.begin(), shard_names_.end());
  } else if (fs::exists(single_path)) {
    shard_names_.push_back("model.safetensors");
  } else {
    std::string hint;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("pytorch_model", 0) == 0 && entry.path().extension() == ".bin") {
        hint = " (" + name + " is a PyTorch pickle; enwanda reads safetensors only: save the model with "
               "transformers' save_pretrained(dir, safe_serialization=True))";
        break;
      }
    }
    throw InputError(dir + ": neither model.safetensors nor model.safetensors.index.json found" + hint);
  }

  for (const auto& shard : shard_names_) {
    fs::path p = fs::path(dir) / shard;
    if (!fs::exists(p)) throw InputError(index_path.string() + ": names shard " + shard + ", which does not exist");
    files_[shard] = SafetensorsFile::open(p.string());
  }
  if (sharded_) {
    for (const auto& [tensor, shard] : index_map) {
      if (!files_.at(shard)->find(tensor))
        throw InputError(index_path.string() + ": maps tensor \"" + tensor + "\" to " + shard + ", which does not contain it");
      location_[tensor] = shard;
    }
  }
  for (const auto& shard : shard_names_)
    for (const auto& t : files_.at(shard)->header().tensors) {
      if (!sharded_) location_[t.name] = shard;
      if (location_.count(t.name) && location_[t.name] == shard) tensor_names_.push_back(t.name);
    }
}

const std::string& SafetensorsDirectory::shard_of(const std::string& tensor) const {
  auto it = location_.find(tensor);
  if (it == location_.end()) throw InputError(dir_ + ": tensor \"" + tensor + "\" not found");
  return it->second;
}
const SafetensorsFile& SafetensorsDirectory::file_of(const std::string& tensor) const { return *files_.at(shard_of(tensor)); }
const TensorInfo& SafetensorsDirectory::info(const std::string& tensor) const { return file_of(tensor).at(tensor); }
torch::Tensor SafetensorsDirectory::tensor(const std::string& name) const { return file_of(name).tensor(name); }

std::string SafetensorsDirectory::bytes_digest(const std::vector<std::string>& names) const {
  // four independent multiply-xor lanes over 8-byte words (memory-bound), then the tail and the
  // lanes folded with the length
  constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t lane[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full};
  uint64_t length = 0;
  for (const auto& name : names) {
    const TensorInfo& t = info(name);
    const uint8_t* p = file_of(name).data(t);
    const size_t n = t.nbytes(), words = n / 8;
    for (size_t w = 0; w < words; ++w) {
      uint64_t v;
      std::memcpy(&v, p + 8 * w, 8);
      uint64_t& h = lane[w & 3];
      h = (h ^ v) * kPrime;
      h ^= h >> 29;
    }
    for (size_t b = 8 * words; b < n; ++b) lane[0] = (lane[0] ^ p[b]) * kPrime;
    length += n;
    release(name);
  }
  uint64_t h = length * kPrime;
  for (uint64_t l : lane) h = ((h ^ l) * kPrime) ^ (h >> 31);
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

uint64_t SafetensorsDirectory::total_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensor_names_) n += info(t).nbytes();
  return n;
}

}  // namespace enwanda
