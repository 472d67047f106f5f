// Memory of the device work runs on: what is free, what the run peaked at, and how many
// sequences one micro-batch may hold. CUDA figures come from the CUDA runtime and libtorch's
// caching allocator (compiled in only when libtorch has CUDA: ENWANDA_WITH_CUDA); the CPU's
// from /proc (MemAvailable, the process's peak RSS).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "enwanda/model/llama_config.h"
#include "enwanda/model/runtime.h"

namespace enwanda {

struct MemoryFigures {
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
};
MemoryFigures device_memory(const torch::Device& device);

// Peak bytes held since the last reset: the caching allocator's peak allocated and reserved
// bytes on CUDA; the process's peak RSS (both fields) on the CPU, which cannot be reset.
struct PeakMemory {
  int64_t allocated_bytes = 0;
  int64_t reserved_bytes = 0;
};
PeakMemory peak_device_memory(const torch::Device& device);
void reset_peak_device_memory(const torch::Device& device);

// Bytes one sequence of `seqlen` tokens needs while a decoder layer runs (activations,
// attention scores unless attention is fused, the statistics' fp32 copies): an estimate
// on the safe side, used to size micro-batches.
int64_t layer_workspace_bytes_per_sequence(const LlamaConfig& c, int64_t seqlen, torch::ScalarType compute,
                                           bool fused_attention);

// Sequences per micro-batch such that their workspace fits `budget_bytes`: at least 1, at
// most `max_sequences`.
int64_t micro_batch_for_budget(int64_t budget_bytes, int64_t per_sequence_bytes, int64_t max_sequences);

// The default micro-batch on CUDA when --batch-size is not given: the workspace may take half
// of the free device memory, but at most 4 GiB, so a 7B prune stays well under 10 GiB.
int64_t default_cuda_micro_batch(const Runtime& rt, const LlamaConfig& c, int64_t seqlen, int64_t max_sequences);

}  // namespace enwanda
