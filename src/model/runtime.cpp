#include "enwanda/model/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

namespace enwanda {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

int max_threads() {
  const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::min(4 * hardware, kMaxThreads);
}

namespace {

// OMP_NUM_THREADS as OpenMP reads it: the first entry of a comma-separated list; 0 when unset or
// not a positive number (then it is ignored with a warning, as libgomp does)
int omp_num_threads() {
  const char* value = std::getenv("OMP_NUM_THREADS");
  if (!value || !*value) return 0;
  errno = 0;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (errno != 0 || end == value || (*end != '\0' && *end != ',') || n <= 0) {
    spdlog::warn("OMP_NUM_THREADS={} is not a positive number; ignored", value);
    return 0;
  }
  return static_cast<int>(std::min<long>(n, kMaxThreads + 1L));
}

std::atomic<int> g_worker_threads{0};  // 0: not resolved yet

// Whether other processes keep the cores busy now: the 1-minute load average and the tasks
// running at this moment (/proc/loadavg's "R/T", this process among them) both reach the cores.
// Either alone misleads: the average lags (a sweep's previous run is still in it), the moment is
// one sample.
bool cores_busy(int cores, double* load) {
  std::ifstream in("/proc/loadavg");
  double load1 = 0, load5 = 0, load15 = 0;
  int running = 0;
  char slash = 0;
  if (!(in >> load1 >> load5 >> load15 >> running >> slash)) return false;
  *load = load1;
  return load1 >= cores && running - 1 >= cores;
}

}  // namespace

int resolve_threads(int requested) {
  const int limit = max_threads();
  if (requested > limit)
    throw UsageError("--threads " + std::to_string(requested) + " is more than " + std::to_string(limit) +
                     " (4x the machine's hardware threads, at most " + std::to_string(kMaxThreads) +
                     "); give a smaller --threads");
  if (requested > 0) return requested;
  if (const int omp = omp_num_threads(); omp > 0) {
    if (omp > limit) {
      spdlog::warn("OMP_NUM_THREADS={} is more than {} (4x the hardware threads, at most {}); using {}",
                   std::getenv("OMP_NUM_THREADS"), limit, kMaxThreads, limit);
      return limit;
    }
    return omp;
  }
  // OpenMP's threads spin while they wait for each other: on cores that other processes keep busy,
  // 2 threads ran evaluation 35x slower than 1 (docs/benchmarks.md), so a busy machine gets one
  const int cores = available_cores();
  double load = 0;
  if (cores > 1 && cores_busy(cores, &load)) {
    spdlog::info("the {} cores are busy (load average {:.1f}): 1 thread (--threads N or OMP_NUM_THREADS=N to choose)",
                 cores, load);
    return 1;
  }
  return cores;
}

int worker_threads() {
  int n = g_worker_threads.load();
  if (n == 0) {
    n = resolve_threads(0);
    g_worker_threads.store(n);
  }
  return n;
}

void set_worker_threads(int threads) {
  const int n = threads <= 0 && g_worker_threads.load() > 0 ? g_worker_threads.load() : resolve_threads(threads);
  g_worker_threads.store(n);
  torch::set_num_threads(n);
}

void map_large_allocations() {
#ifdef M_MMAP_THRESHOLD
  if (std::getenv("MALLOC_MMAP_THRESHOLD_")) return;  // the user's own setting stands
  mallopt(M_MMAP_THRESHOLD, kMappedAllocationBytes);  // a fixed threshold also turns glibc's dynamic one off
#endif
#ifdef M_TRIM_THRESHOLD
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, kKeptHeapBytes);
#endif
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

std::string blas_library() {
  // OpenBLAS exports openblas_get_parallel: 0 serial, 1 pthreads, 2 OpenMP
  auto parallel = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (!parallel) return "not OpenBLAS";
  switch (parallel()) {
    case 0: return "OpenBLAS (serial)";
    case 1: return "OpenBLAS (pthreads)";
    case 2: return "OpenBLAS (OpenMP)";
    default: return "OpenBLAS";
  }
}

std::string Runtime::describe() const {
  return device.str() + ", " + std::string(c10::toString(compute_dtype)) + ", " + std::to_string(threads) +
         " threads, batch " + std::to_string(batch_size);
}

Runtime make_runtime(const std::string& device, const std::string& dtype, Dtype storage, int threads, int64_t batch_size) {
  Runtime rt;
  bool have_cuda = torch::cuda::is_available();
  if (device == "cuda") {
    if (!have_cuda) throw UsageError("--device cuda requested but no CUDA device is available to this build");
    rt.device = torch::Device(torch::kCUDA, 0);
  } else if (device == "auto") {
    rt.device = have_cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  } else if (device != "cpu") {
    throw UsageError("--device must be auto, cpu or cuda, got " + device);
  }
  if (dtype == "fp32") rt.compute_dtype = torch::kFloat32;
  else if (dtype == "fp16") rt.compute_dtype = torch::kFloat16;
  else if (dtype == "bf16") rt.compute_dtype = torch::kBFloat16;
  else if (dtype == "auto") rt.compute_dtype = rt.cuda() && storage != Dtype::F32 ? to_torch(storage) : torch::kFloat32;
  else throw UsageError("--dtype must be auto, fp32, fp16 or bf16, got " + dtype);
  if (!rt.cuda() && rt.compute_dtype != torch::kFloat32)
    throw UsageError("--dtype " + dtype + " needs --device cuda; the CPU computes in fp32");
  set_worker_threads(threads);
  rt.threads = worker_threads();
  if (!rt.cuda() && rt.threads > 1 && blas_library() == "OpenBLAS (pthreads)")
    spdlog::warn("OpenBLAS's pthreads build is loaded: its threads and libtorch's OpenMP threads contend for the "
                 "cores (pruning ran 1.5-3x slower with it on 2 cores); scripts/install_deps.sh selects the OpenMP build "
                 "(libopenblas0-openmp)");
  rt.batch_size = batch_size > 0 ? batch_size : (rt.cuda() ? 8 : 1);
  return rt;
}

}  // namespace enwanda
