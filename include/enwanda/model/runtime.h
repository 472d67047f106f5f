// Where and in what precision work runs: --device, --dtype, --threads, --batch-size resolved
// once. CPU always computes in fp32 (half matmul on CPU is slow or missing in libtorch 1.13);
// CUDA computes in the checkpoint's dtype (fp16/bf16) unless --dtype says otherwise.
#pragma once

#include <string>

#include <torch/torch.h>

#include "enwanda/io/safetensors.h"

namespace enwanda {

struct Runtime {
  torch::Device device = torch::kCPU;
  torch::ScalarType compute_dtype = torch::kFloat32;
  int threads = 1;
  int64_t batch_size = 1;  // sequences per micro-batch
  int64_t activation_budget_bytes = int64_t(2) << 30;  // hidden states held for one group of sequences
  int64_t logits_budget_bytes = int64_t(256) << 20;    // fp32 logits the head holds at once
  bool overlap_io = true;  // read layer i+1 and write layer i-1 while layer i computes

  bool cuda() const { return device.is_cuda(); }
  std::string describe() const;
};

// device: auto|cpu|cuda; dtype: auto|fp32|fp16|bf16; threads: as resolve_threads; batch_size <= 0: a default (CPU: 1 ... chosen from the free device memory on CUDA).
Runtime make_runtime(const std::string& device, const std::string& dtype, Dtype storage, int threads, int64_t batch_size);

int available_cores();

// Threads: --threads N when given (refused above max_threads()); else $OMP_NUM_THREADS when set;
// else the cores available to the process, or 1 while other processes keep them busy (load
// average and running tasks both at least the cores; docs/benchmarks.md measures why). Every pool
// enwanda starts (libtorch's intra-op threads, tokenising workers, synth's generators) uses
// worker_threads(), the count set_worker_threads resolved last (resolve_threads(0) before that).
constexpr int kMaxThreads = 1024;
int max_threads();  // 4x std::thread::hardware_concurrency(), at most kMaxThreads
int resolve_threads(int requested);
int worker_threads();
void set_worker_threads(int requested);  // resolves, records and sets libtorch's intra-op threads
double peak_rss_mib();  // VmHWM of this process
// Serves every host allocation of 2 MiB or more by its own mapping, returned to the system when
// freed. glibc otherwise raises its mapping threshold to the largest block freed (up to 32 MiB),
// after which layer-sized tensors come from heaps that fragment: peak RSS then grew with the
// number of layers (hidden 1024, 2 -> 16 layers: +10..30%; with this, within 2%). A fixed mapping
// threshold also fixes glibc's trim threshold at 128 KiB: the heap's top was handed back to the
// system after nearly every free and faulted in again by the next allocation (10x the page faults,
// about 15% of a CPU prune's time), so up to kKeptHeapBytes of free heap top are kept
// (docs/benchmarks.md). $MALLOC_MMAP_THRESHOLD_ and $MALLOC_TRIM_THRESHOLD_, when set, stand instead
// (a mapping threshold of 33554432 gives glibc's speed and the growth back).
constexpr int kMappedAllocationBytes = 2 << 20;
constexpr int kKeptHeapBytes = 32 << 20;
void map_large_allocations();
// The BLAS libtorch calls: "OpenBLAS (OpenMP)", "OpenBLAS (pthreads)", "OpenBLAS (serial)" or
// "not OpenBLAS". The pthreads build draws a warning on the CPU (its threads contend with libtorch's).
std::string blas_library();

}  // namespace enwanda
