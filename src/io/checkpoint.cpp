#include "enwanda/io/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/shard_index.h"

namespace fs = std::filesystem;

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

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  if (!fs::is_directory(dir))
    throw InputError(dir + (fs::exists(dir) ? ": is a file; --model takes the checkpoint's directory"
                                            : ": model directory does not exist"));
  auto ck = std::shared_ptr<Checkpoint>(new Checkpoint());
  ck->dir_ = dir;
  ck->config_ = LlamaConfig::from_file((fs::path(dir) / "config.json").string());

  fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  fs::path single_path = fs::path(dir) / "model.safetensors";
  std::map<std::string, std::string> index_map;
  if (fs::exists(index_path)) {
    ck->sharded_ = true;
    std::ifstream in(index_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    index_map = parse_shard_index(text, index_path.string());
    for (const auto& [tensor, shard] : index_map)
      if (std::find(ck->shard_names_.begin(), ck->shard_names_.end(), shard) == ck->shard_names_.end())
        ck->shard_names_.push_back(shard);
    std::sort(ck->shard_names_.begin(), ck->shard_names_.end());
  } else if (fs::exists(single_path)) {
    ck->shard_names_.push_back("model.safetensors");
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

  for (const auto& shard : ck->shard_names_) {
    fs::path p = fs::path(dir) / shard;
    if (!fs::exists(p)) throw InputError(index_path.string() + ": names shard " + shard + ", which does not exist");
    ck->files_[shard] = SafetensorsFile::open(p.string());
  }
  if (ck->sharded_) {
    for (const auto& [tensor, shard] : index_map) {
      if (!ck->files_.at(shard)->find(tensor))
        throw InputError(index_path.string() + ": maps tensor \"" + tensor + "\" to " + shard + ", which does not contain it");
      ck->location_[tensor] = shard;
    }
  }
  for (const auto& shard : ck->shard_names_)
    for (const auto& t : ck->files_.at(shard)->header().tensors) {
      if (!ck->sharded_) ck->location_[t.name] = shard;
      if (ck->location_.count(t.name) && ck->location_[t.name] == shard) ck->tensor_names_.push_back(t.name);
    }
  ck->validate_shapes();
  return ck;
}

void Checkpoint::validate_shapes() const {
  const LlamaConfig& c = config_;
  auto expect = [&](const std::string& name, std::vector<int64_t> shape) {
    if (!has(name)) throw InputError(dir_ + ": tensor \"" + name + "\" is missing (config says " +
                                     std::to_string(c.num_hidden_layers) + " layers)");
    const auto& got = info(name).shape;
    if (got != shape) {
      auto str = [](const std::vector<int64_t>& s) {
        std::string r = "[";
        for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      throw InputError(dir_ + ": tensor \"" + name + "\" has shape " + str(got) + ", config implies " + str(shape));
    }
    Dtype d = info(name).dtype;
    if (d != Dtype::F32 && d != Dtype::F16 && d != Dtype::BF16)
      throw InputError(dir_ + ": tensor \"" + name + "\" has dtype " + dtype_name(d) + " (expected F32, F16 or BF16)");
  };
  const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), f = c.intermediate_size;
  expect("model.embed_tokens.weight", {c.vocab_size, h});
  expect("model.norm.weight", {h});
  if (!c.tie_word_embeddings) expect("lm_head.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    expect(layer_tensor_name(i, "input_layernorm"), {h});
    expect(layer_tensor_name(i, "post_attention_layernorm"), {h});
    expect(layer_tensor_name(i, "self_attn.q_proj"), {q, h});
    expect(layer_tensor_name(i, "self_attn.k_proj"), {kv, h});
    expect(layer_tensor_name(i, "self_attn.v_proj"), {kv, h});
    expect(layer_tensor_name(i, "self_attn.o_proj"), {h, q});
    expect(layer_tensor_name(i, "mlp.gate_proj"), {f, h});
    expect(layer_tensor_name(i, "mlp.up_proj"), {f, h});
    expect(layer_tensor_name(i, "mlp.down_proj"), {h, f});
  }
  // biases and q/k norms as the config says: present where it implies them (with the linear's
  // output size), and no bias the config does not imply (it would change every forward)
  const std::vector<int64_t> out_features = {q, kv, kv, h, f, f, h};
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = layer_bias_name(i, kLinearNames[j]);
      if (c.linear_bias[j] && !has(name))
        throw InputError(dir_ + ": tensor \"" + name + "\" is missing, but config.json's " +
                         c.bias_flag(static_cast<int>(j)) + " says the linear has a bias");
      if (c.linear_bias[j]) expect(name, {out_features[j]});
    }
    if (c.qk_norm)
      for (const char* norm : {"self_attn.q_norm", "self_attn.k_norm"}) expect(layer_tensor_name(i, norm), {c.head_dim});
  }
  for (const auto& name : tensor_names_) {
    const std::string suffix = "_proj.bias";
    if (name.rfind("model.layers.", 0) != 0 || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string tail = "." + kLinearNames[j] + ".bias";
      if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0 && !c.linear_bias[j])
        throw InputError(dir_ + ": tensor \"" + name + "\" is a bias, but config.json's " +
                         c.bias_flag(static_cast<int>(j)) + " says the linear has none");
    }
  }
}

const std::string& Checkpoint::shard_of(const std::string& tensor) const {
  auto it = location_.find(tensor);
  if (it == location_.end()) throw InputError(dir_ + ": tensor \"" + tensor + "\" not found");
  return it->second;
}
const SafetensorsFile& Checkpoint::file_of(const std::string& tensor) const { return *files_.at(shard_of(tensor)); }
const TensorInfo& Checkpoint::info(const std::string& tensor) const { return file_of(tensor).at(tensor); }
torch::Tensor Checkpoint::tensor(const std::string& name) const { return file_of(name).tensor(name); }
Dtype Checkpoint::weight_dtype() const { return info(layer_tensor_name(0, "self_attn.q_proj")).dtype; }
std::string Checkpoint::linear_weights_digest() const {
  // four independent multiply-xor lanes over 8-byte words (memory-bound), then the tail and the
  // lanes folded with the length
  constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t lane[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full};
  uint64_t length = 0;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    for (const auto& lin : kLinearNames) {
      const std::string name = layer_tensor_name(i, lin);
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

uint64_t Checkpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensor_names_) n += info(t).nbytes();
  return n;
}

}  // namespace enwanda
