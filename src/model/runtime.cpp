#include "enwanda/model/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

namespace enwanda {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

void map_large_allocations() {
#ifdef M_MMAP_THRESHOLD
  if (std::getenv("MALLOC_MMAP_THRESHOLD_")) return;  // the user's own setting stands
  mallopt(M_MMAP_THRESHOLD, kMappedAllocationBytes);  // a fixed threshold also turns glibc's dynamic one off
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
  rt.threads = threads > 0 ? threads : available_cores();
  torch::set_num_threads(rt.threads);
  if (!rt.cuda() && rt.threads > 1 && blas_library() == "OpenBLAS (pthreads)")
    spdlog::warn("OpenBLAS's pthreads build is loaded: its threads and libtorch's OpenMP threads contend for the "
                 "cores (pruning ran 1.5-3x slower with it on 2 cores); scripts/install_deps.sh selects the OpenMP build "
                 "(libopenblas0-openmp)");
  rt.batch_size = batch_size > 0 ? batch_size : (rt.cuda() ? 8 : 1);
  return rt;
}

}  // namespace enwanda
