// `enwanda synth`: random-initialised HF-format checkpoints of the LLaMA family and its kin
// (mistral, qwen2, qwen3, and the mixtures of experts mixtral, qwen2_moe, qwen3_moe, olmoe; std 0.02 normal
// weights, norms at 1), deterministic for a seed,
// sharded like HF when large. Without a tokenizer, one is trained on data/tokenizer_corpus.txt,
// so tests and the demo need nothing from outside.
#pragma once

#include <string>

#include "enwanda/model/llama_config.h"

namespace enwanda {

struct SynthOptions {
  std::string shape = "tiny";  // one of shape_names(), or a config.json kept as given
  int64_t layers = 0;          // 0: the shape's own
  std::string dtype;           // fp32|fp16|bf16; empty: a given config's torch_dtype, else fp32
  uint64_t seed = 0;
  std::string tokenizer;       // a tokenizer.model to copy; empty: train one
  std::string out;
  bool overwrite = false;
  int64_t shard_mib = 4096;    // shard when the weights exceed this
};

LlamaConfig shape_config(const std::string& shape);  // throws UsageError
std::string shape_names();                           // "tiny|tiny-llama-bias|...|PATH.json"
std::string default_tokenizer_corpus();              // path of the shipped training text
void synth(const SynthOptions& opt);

}  // namespace enwanda
