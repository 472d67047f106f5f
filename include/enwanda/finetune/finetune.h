// enwanda finetune: recovery after pruning. A LoRA adapter (lora_adapter.h) trained on token
// windows with the model's own forward (layer_forward over W_eff, autograd to A and B), mean
// next-token cross-entropy, global-norm clipping and AdamW under the linear warmup schedule
// (optimizer.h), as locuslab/wanda's lora_ft/finetune_lm.py trains with HF's Trainer. It reads the
// checkpoint and never changes it: the adapter is written in PEFT's layout, and --merge writes a
// full checkpoint with W + s·(B·A)⊙M.
//   The whole model is held in memory (fp32 on the CPU) and every step backpropagates through all
// layers; layer-granular activation checkpointing for large models on a GPU is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/finetune/lora_adapter.h"
#include "enwanda/finetune/optimizer.h"
#include "enwanda/finetune/training_data.h"

namespace enwanda {

struct FinetuneOptions {
  std::string model_dir;
  std::string windows_path;  // --windows: int64/int32 [N, T] token windows (calib --out)
  std::vector<std::string> data_paths;  // --data: text files, grouped into --seqlen windows (training_data.h)
  TextReadOptions text{"text", kDefaultTextMaxMiB << 20, "--data-max-mib"};  // --data-field, --data-max-mib
  int64_t seqlen = 0;                   // --seqlen with --data
  std::optional<int64_t> shuffle_seed;  // --shuffle SEED: windows permuted once per epoch
  int64_t steps = 0;         // --steps; 0: from --samples
  int64_t samples = 0;       // --samples: steps = ceil(samples / batch)
  int64_t batch = 1;         // windows per optimizer step
  int64_t micro_batch = 1;   // windows per forward/backward (gradients accumulated)
  double lr = 1e-4;
  int64_t warmup = 0;
  Schedule schedule = Schedule::linear;
  double max_grad_norm = 1.0;  // 0: no clipping
  AdamWSettings adam;
  LoraSettings lora;
  std::string adapter_init;  // adapter_model.safetensors to start from; empty: PEFT's init from seed
  uint64_t seed = 0;
  int64_t save_every = 0;    // steps between resumable states; 0: none
  bool resume = false;       // continue from the state beside --out
  std::string out_dir;       // the adapter (PEFT layout)
  std::string merge_dir;     // optional merged checkpoint
  bool merge_dense = false;  // allow --merge under --mask none
  bool overwrite = false;
  int threads = 0;
  std::string command_line;  // recorded in the report
};

// Where the resumable state of a run writing `out_dir` lives: "<out_dir>.state.safetensors".
std::string state_path_for(const std::string& out_dir);

// Checks everything (flags, inputs, outputs) before any work, trains, writes the adapter (and the
// merged checkpoint); returns the report written as enwanda_finetune.json.
nlohmann::json run_finetune(const FinetuneOptions& opt);

}  // namespace enwanda
