#include "enwanda/model/device_memory.h"

#include <fstream>
#include <mutex>
#include <string>

#ifdef ENWANDA_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include "enwanda/errors.h"

namespace enwanda {

namespace {
int64_t meminfo_kib(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  int64_t v = 0;
  std::string unit;
  while (in >> k >> v >> unit)
    if (k == key + ":") return v;
  return 0;
}
#ifdef ENWANDA_WITH_CUDA
// The caching allocator learns the devices when CUDA is first used; asking it for statistics
// before that fails ("Invalid device argument" in libtorch 2.x). One tiny allocation initialises it.
c10::DeviceIndex initialised_cuda_index(const torch::Device& device) {
  static std::once_flag once;
  std::call_once(once, [&] { torch::empty({1}, torch::TensorOptions().device(device)); });
  return device.index() < 0 ? 0 : device.index();
}
#endif
}  // namespace

MemoryFigures device_memory(const torch::Device& device) {
  MemoryFigures m;
  if (device.is_cuda()) {
#ifdef ENWANDA_WITH_CUDA
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) throw Error(ExitCode::internal, "cudaMemGetInfo failed");
    m.free_bytes = static_cast<int64_t>(free);
    m.total_bytes = static_cast<int64_t>(total);
#else
    throw UsageError("this build of enwanda has no CUDA support");
#endif
    return m;
  }
  m.free_bytes = meminfo_kib("MemAvailable") * 1024;
  m.total_bytes = meminfo_kib("MemTotal") * 1024;
  return m;
}

PeakMemory peak_device_memory(const torch::Device& device) {
  PeakMemory p;
#ifdef ENWANDA_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(initialised_cuda_index(device));
    p.allocated_bytes = stats.allocated_bytes[0].peak;  // StatType::AGGREGATE
    p.reserved_bytes = stats.reserved_bytes[0].peak;
    return p;
  }
#endif
  (void)device;
  p.allocated_bytes = p.reserved_bytes = static_cast<int64_t>(peak_rss_mib() * 1024 * 1024);
  return p;
}

void reset_peak_device_memory(const torch::Device& device) {
#ifdef ENWANDA_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(initialised_cuda_index(device));
#endif
  (void)device;
}

int64_t layer_workspace_bytes_per_sequence(const LlamaConfig& c, int64_t seqlen, torch::ScalarType compute,
                                           bool fused_attention) {
  const int64_t e = static_cast<int64_t>(c10::elementSize(compute));
  const int64_t widest = std::max(c.hidden_size, c.intermediate_size);
  // norms (fp32 copies), q/k/v with RoPE and repeated k/v heads, attention output, the
  // residual sums and the output; SwiGLU's gate, up, activation and product
  int64_t bytes = seqlen * (4 * c.hidden_size * 3 + e * (6 * c.q_dim() + 4 * c.kv_dim() + 3 * c.hidden_size) +
                            e * 4 * c.intermediate_size);
  // the statistics: fp32 copy, |x| and x^2 of the widest linear input
  bytes += seqlen * 12 * widest;
  // unfused attention: fp32 scores, the masked copy and the probabilities
  if (!fused_attention) bytes += 3 * 4 * c.num_attention_heads * seqlen * seqlen;
  return bytes;
}

int64_t micro_batch_for_budget(int64_t budget_bytes, int64_t per_sequence_bytes, int64_t max_sequences) {
  const int64_t fit = budget_bytes / std::max<int64_t>(per_sequence_bytes, 1);
  return std::max<int64_t>(1, std::min(fit, std::max<int64_t>(max_sequences, 1)));
}

int64_t default_cuda_micro_batch(const Runtime& rt, const LlamaConfig& c, int64_t seqlen, int64_t max_sequences) {
  const int64_t free = device_memory(rt.device).free_bytes;
  const int64_t budget = std::min<int64_t>(free / 2, int64_t(4) << 30);
  const bool fused = TORCH_VERSION_MAJOR >= 2 && rt.compute_dtype != torch::kFloat32;
  return micro_batch_for_budget(budget, layer_workspace_bytes_per_sequence(c, seqlen, rt.compute_dtype, fused),
                                max_sequences);
}

}  // namespace enwanda
