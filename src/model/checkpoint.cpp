#include "enwanda/model/checkpoint.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "enwanda/errors.h"

namespace fs = std::filesystem;

namespace enwanda {

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  if (!fs::is_directory(dir))
    throw InputError(dir + (fs::exists(dir) ? ": is a file; --model takes the checkpoint's directory"
                                            : ": model directory does not exist"));
  auto ck = std::shared_ptr<Checkpoint>(new Checkpoint());
  ck->config_ = LlamaConfig::from_file((fs::path(dir) / "config.json").string());
  ck->open_files(dir);
  ck->validate_shapes();
  return ck;
}

void Checkpoint::validate_shapes() const {
  const LlamaConfig& c = config_;
  auto expect = [&](const std::string& name, std::vector<int64_t> shape) {
    if (!has(name)) throw InputError(dir() + ": tensor \"" + name + "\" is missing (config says " +
                                     std::to_string(c.num_hidden_layers) + " layers)");
    const auto& got = info(name).shape;
    if (got != shape) {
      auto str = [](const std::vector<int64_t>& s) {
        std::string r = "[";
        for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      throw InputError(dir() + ": tensor \"" + name + "\" has shape " + str(got) + ", config implies " + str(shape));
    }
    Dtype d = info(name).dtype;
    if (d != Dtype::F32 && d != Dtype::F16 && d != Dtype::BF16)
      throw InputError(dir() + ": tensor \"" + name + "\" has dtype " + dtype_name(d) + " (expected F32, F16 or BF16)");
  };
  const int64_t h = c.hidden_size;
  expect("model.embed_tokens.weight", {c.vocab_size, h});
  expect("model.norm.weight", {h});
  if (!c.tie_word_embeddings) expect("lm_head.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    for (const auto& lin : layer_linears(c, i)) expect(layer_tensor_name(i, lin.suffix), lin.shape);
  // biases, q/k norms, routers as the config says: present where it implies them (with the linear's
  // output size), and no bias the config does not imply (it would change every forward)
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = layer_bias_name(i, kLinearNames[j]);
      if (c.linear_bias[j] && !has(name) && !(j >= 4 && c.is_moe_layer(i)))
        throw InputError(dir() + ": tensor \"" + name + "\" is missing, but config.json's " +
                         c.bias_flag(static_cast<int>(j)) + " says the linear has a bias");
    }
    for (const auto& p : layer_parameters(c, i)) expect(p.suffix, p.shape);
  }
  for (const auto& name : tensor_names()) {
    const std::string suffix = "_proj.bias";
    if (name.rfind("model.layers.", 0) != 0 || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string tail = "." + kLinearNames[j] + ".bias";
      if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0 && !c.linear_bias[j])
        throw InputError(dir() + ": tensor \"" + name + "\" is a bias, but config.json's " +
                         c.bias_flag(static_cast<int>(j)) + " says the linear has none");
    }
  }
  if (c.is_moe())  // transformers' routers and experts have no biases
    for (const auto& name : tensor_names())
      if (name.rfind("model.layers.", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0 &&
          (name.find("expert") != std::string::npos || name.find(router_module(c) + ".") != std::string::npos))
        throw InputError(dir() + ": tensor \"" + name + "\" is a bias, but model_type " + c.model_type +
                         "'s routers and experts have none");
}

Dtype Checkpoint::weight_dtype() const { return info(layer_tensor_name(0, "self_attn.q_proj")).dtype; }

std::string Checkpoint::linear_weights_digest() const {
  std::vector<std::string> names;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    for (const auto& lin : layer_linears(config_, i)) names.push_back(layer_tensor_name(i, lin.suffix));
  return bytes_digest(names);
}

UnusedLayerTensors unused_layer_tensors(const Checkpoint& ck) {
  const LlamaConfig& cfg = ck.config();
  std::set<std::string> used;
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    for (const auto& name : layer_parameter_names(cfg, i)) used.insert(name);
    for (const auto& lin : layer_linears(cfg, i)) used.insert(layer_tensor_name(i, lin.suffix));
  }
  UnusedLayerTensors unused;
  unused.of_layer.resize(static_cast<size_t>(cfg.num_hidden_layers));
  for (const auto& name : ck.tensor_names()) {
    if (name.rfind("model.layers.", 0) != 0 || used.count(name)) continue;
    unused.all.push_back(name);
    const int64_t i = std::atoll(name.c_str() + std::string("model.layers.").size());
    if (i >= 0 && i < cfg.num_hidden_layers) unused.of_layer[static_cast<size_t>(i)].push_back(name);
  }
  return unused;
}

}  // namespace enwanda
