#include "enwanda/finetune/lora_adapter.h"

#include <cmath>
#include <set>

#include <ATen/CPUGeneratorImpl.h>

#include "enwanda/errors.h"
#include "enwanda/io/safetensors.h"
#include "enwanda/model/tensor_names.h"
#include "enwanda/prune/linear_selection.h"

namespace enwanda {

MaskMode parse_mask_mode(const std::string& s) {
  if (s == "keep") return MaskMode::keep;
  if (s == "none") return MaskMode::none;
  throw UsageError("--mask must be keep or none, not '" + s + "'");
}

const char* mask_mode_name(MaskMode m) { return m == MaskMode::keep ? "keep" : "none"; }

std::string peft_key(const std::string& linear, const char* which) {
  return "base_model.model." + linear + "." + which + ".weight";
}

namespace {
// PEFT's check_target_module_exists with a list: the key equals the target or ends with "." + target.
bool target_matches(const std::string& pattern, const std::string& name) {
  if (pattern.rfind("re:", 0) == 0) return linear_matches(pattern, name, "--lora-targets");
  return name == pattern || (name.size() > pattern.size() &&
                             name.compare(name.size() - pattern.size() - 1, std::string::npos, "." + pattern) == 0);
}
}  // namespace

LoraAdapter::LoraAdapter(const LoraSettings& settings, const LlamaConfig& config, const std::vector<LayerWeights>& layers)
    : settings_(settings) {
  if (settings_.r < 1) throw UsageError("--lora-r must be at least 1");
  if (settings_.targets.empty()) throw UsageError("--lora-targets names no linear");
  std::vector<bool> used(settings_.targets.size(), false);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const LayerWeights& w = layers.at(static_cast<size_t>(i));
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      if (!w.linears[j].defined()) continue;  // an MoE layer's MLP: its experts are not adapted
      const std::string name = "model.layers." + std::to_string(i) + "." + kLinearNames[j];
      bool hit = false;
      for (size_t p = 0; p < settings_.targets.size(); ++p)
        if (target_matches(settings_.targets[p], name)) used[p] = hit = true;
      if (!hit) continue;
      const auto& W = w.linears[j];  // [out, in]
      LoraTarget t;
      t.name = name;
      t.layer = i;
      t.linear = static_cast<int>(j);
      t.A = torch::zeros({settings_.r, W.size(1)}, torch::kFloat32).requires_grad_(true);
      t.B = torch::zeros({W.size(0), settings_.r}, torch::kFloat32).requires_grad_(true);
      if (settings_.mask == MaskMode::keep) t.mask = (W != 0).to(torch::kFloat32);
      targets_.push_back(std::move(t));
    }
  }
  for (size_t p = 0; p < used.size(); ++p)
    if (!used[p])
      throw UsageError("--lora-targets: '" + settings_.targets[p] + "' matches no dense linear of the checkpoint "
                       "(short names are matched as a linear name's last part: q_proj, v_proj, ..., down_proj)");
}

std::vector<torch::Tensor> LoraAdapter::parameters() const {
  std::vector<torch::Tensor> p;
  for (const auto& t : targets_) {
    p.push_back(t.A);
    p.push_back(t.B);
  }
  return p;
}

void LoraAdapter::init_kaiming(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& t : targets_) {
    // torch.nn.init.kaiming_uniform_(a=√5): gain √(2/(1+5)), bound = gain·√(3/fan_in) = 1/√fan_in
    const double bound = 1.0 / std::sqrt(static_cast<double>(t.A.size(1)));
    t.A.uniform_(-bound, bound, gen);
    t.B.zero_();
  }
}

void LoraAdapter::load(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  for (auto& t : targets_) {
    for (const char* which : {"lora_A", "lora_B"}) {
      const std::string key = peft_key(t.name, which);
      expected.insert(key);
      if (!file->find(key))
        throw InputError(path + ": no tensor " + key + " (the adapter does not target " + t.name +
                         "; --lora-targets must name the adapter's targets)");
      auto& dst = which[5] == 'A' ? t.A : t.B;
      auto src = file->tensor(key);
      if (src.sizes() != dst.sizes()) {
        std::string want = "[" + std::to_string(dst.size(0)) + ", " + std::to_string(dst.size(1)) + "]";
        throw InputError(path + ": " + key + " has shape " + c10::str(src.sizes()) + ", this model and --lora-r need " +
                         want + " (an adapter of another model or rank?)");
      }
      dst.copy_(src.to(torch::kFloat32));
      if (!torch::isfinite(dst).all().item<bool>()) throw InputError(path + ": " + key + " holds NaN or infinity");
    }
  }
  for (const auto& info : file->header().tensors)
    if (!expected.count(info.name))
      throw InputError(path + ": " + info.name + " is not a target of this run (--lora-targets " +
                       "must name every linear the adapter adapts)");
}

std::vector<std::pair<std::string, torch::Tensor>> LoraAdapter::peft_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& t : targets_) {
    out.emplace_back(peft_key(t.name, "lora_A"), t.A.detach().to(torch::kFloat32).contiguous());
    out.emplace_back(peft_key(t.name, "lora_B"), t.B.detach().to(torch::kFloat32).contiguous());
  }
  return out;
}

void LoraAdapter::save_safetensors(const std::string& path) const {
  auto tensors = peft_tensors();
  std::vector<SafetensorsWriter::Entry> entries;
  for (const auto& [name, t] : tensors) entries.push_back({name, Dtype::F32, t.sizes().vec()});
  // PEFT's save_pretrained writes metadata {"format": "pt"}; the enwanda key marks the file as ours
  SafetensorsWriter w(path, entries, {{"format", "pt"}, {"enwanda.kind", "lora adapter"}});
  for (const auto& [name, t] : tensors) w.write(name, t);
  w.finish();
}

nlohmann::json LoraAdapter::peft_config(const std::string& base_model, const nlohmann::json& enwanda_keys) const {
  // peft src/peft/tuners/lora/config.py (LoraConfig) and config.py (PeftConfig): the keys a
  // LoraConfig serialises; target_modules a list of short names, or the regular expression
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& p : settings_.targets) targets.push_back(p.rfind("re:", 0) == 0 ? p.substr(3) : p);
  nlohmann::json target_modules = targets;
  if (settings_.targets.size() == 1 && settings_.targets[0].rfind("re:", 0) == 0) target_modules = targets[0];
  return {{"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"base_model_name_or_path", base_model},
          {"revision", nullptr},
          {"inference_mode", true},
          {"r", settings_.r},
          {"lora_alpha", settings_.alpha},
          {"lora_dropout", settings_.dropout},
          {"target_modules", target_modules},
          {"fan_in_fan_out", false},
          {"bias", "none"},
          {"use_rslora", false},
          {"use_dora", false},
          {"modules_to_save", nullptr},
          {"init_lora_weights", true},
          {"layers_to_transform", nullptr},
          {"layers_pattern", nullptr},
          {"rank_pattern", nlohmann::json::object()},
          {"alpha_pattern", nlohmann::json::object()},
          {"enwanda", enwanda_keys}};
}

LayerWeights LoraAdapter::effective(const LayerWeights& base, int64_t layer) const {
  LayerWeights w = base;
  const double s = settings_.scaling();
  for (const auto& t : targets_) {
    if (t.layer != layer) continue;
    // peft lora/layer.py Linear.get_delta_weight: (B @ A) * scaling, here masked (SQFT)
    auto delta = torch::matmul(t.B, t.A) * s;
    if (t.mask.defined()) delta = delta * t.mask;
    w.linears[static_cast<size_t>(t.linear)] = base.linears[static_cast<size_t>(t.linear)] + delta;
  }
  return w;
}

torch::Tensor LoraAdapter::merged_weight(const LoraTarget& t, const torch::Tensor& base) const {
  torch::NoGradGuard no_grad;
  auto delta = torch::matmul(t.B.detach(), t.A.detach()) * settings_.scaling();
  if (t.mask.defined()) delta = delta * t.mask;
  return base.to(torch::kFloat32) + delta;
}

}  // namespace enwanda
