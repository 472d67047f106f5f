// A resumable training state: the adapter's A and B, AdamW's moments, the number of steps done and
// the per-step log so far, in one safetensors file written whole or not at all (output_file.h).
// Its "enwanda.state" metadata holds the settings that must match for --resume to continue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/finetune/lora_adapter.h"
#include "enwanda/finetune/optimizer.h"

namespace enwanda {

struct TrainingState {
  int64_t steps_done = 0;
  nlohmann::json settings;  // what a resumed run must agree with
  nlohmann::json log = nlohmann::json::array();  // one object per step done
};

void save_training_state(const std::string& path, const LoraAdapter& adapter, const std::vector<AdamWMoments>& moments,
                         const TrainingState& state);
// Restores A, B and the moments (one per parameter, in adapter.parameters() order); throws
// InputError naming the file when it is not a state of this run (settings or shapes differ).
TrainingState load_training_state(const std::string& path, LoraAdapter& adapter, std::vector<AdamWMoments>& moments,
                                  const nlohmann::json& settings);

}  // namespace enwanda
