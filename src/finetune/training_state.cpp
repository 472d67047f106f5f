#include "enwanda/finetune/training_state.h"

#include "enwanda/errors.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/safetensors.h"

namespace enwanda {

namespace {
// The state's tensors: per parameter its value and its two moments, under PEFT's key.
std::vector<std::string> parameter_keys(const LoraAdapter& adapter) {
  std::vector<std::string> keys;
  for (const auto& t : adapter.targets()) {
    keys.push_back(peft_key(t.name, "lora_A"));
    keys.push_back(peft_key(t.name, "lora_B"));
  }
  return keys;
}
}  // namespace

void save_training_state(const std::string& path, const LoraAdapter& adapter, const std::vector<AdamWMoments>& moments,
                         const TrainingState& state) {
  const auto keys = parameter_keys(adapter);
  const auto params = adapter.parameters();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (size_t i = 0; i < keys.size(); ++i) {
    tensors.emplace_back(keys[i], params[i].detach().contiguous());
    tensors.emplace_back(keys[i] + ".exp_avg", moments[i].exp_avg.contiguous());
    tensors.emplace_back(keys[i] + ".exp_avg_sq", moments[i].exp_avg_sq.contiguous());
  }
  std::vector<SafetensorsWriter::Entry> entries;
  for (const auto& [name, t] : tensors) entries.push_back({name, Dtype::F32, t.sizes().vec()});
  nlohmann::json meta = {{"steps_done", state.steps_done}, {"settings", state.settings}, {"log", state.log}};
  OutputFile out(path, /*overwrite=*/true);
  out.close();
  {
    SafetensorsWriter w(out.temp_path(), entries, {{"enwanda.state", meta.dump()}});
    for (const auto& [name, t] : tensors) w.write(name, t);
    w.finish();
  }
  out.commit();
}

TrainingState load_training_state(const std::string& path, LoraAdapter& adapter, std::vector<AdamWMoments>& moments,
                                  const nlohmann::json& settings) {
  auto file = SafetensorsFile::open(path);
  const auto& md = file->header().metadata;
  auto it = md.find("enwanda.state");
  if (it == md.end()) throw InputError(path + ": not an enwanda finetune state (no enwanda.state metadata)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(it->second);
  } catch (const std::exception& e) {
    throw InputError(path + ": enwanda.state metadata is not JSON: " + e.what());
  }
  if (meta.value("settings", nlohmann::json()) != settings)
    throw InputError(path + ": the saved state is of a run with other settings (model, data, adapter or optimiser); "
                     "rerun without --resume, or with the settings of the saved run");
  TrainingState state;
  state.steps_done = meta.at("steps_done").get<int64_t>();
  state.settings = settings;
  state.log = meta.at("log");
  const auto keys = parameter_keys(adapter);
  auto params = adapter.parameters();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string names[3] = {keys[i], keys[i] + ".exp_avg", keys[i] + ".exp_avg_sq"};
    torch::Tensor* dst[3] = {&params[i], &moments[i].exp_avg, &moments[i].exp_avg_sq};
    for (int j = 0; j < 3; ++j) {
      if (!file->find(names[j])) throw InputError(path + ": no tensor " + names[j]);
      auto src = file->tensor(names[j]);
      if (src.sizes() != dst[j]->sizes()) throw InputError(path + ": " + names[j] + " has another shape than this run's");
      dst[j]->copy_(src);
    }
  }
  return state;
}

}  // namespace enwanda
