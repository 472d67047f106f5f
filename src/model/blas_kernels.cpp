#include "enwanda/model/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace enwanda {

namespace {
using CoreName = char* (*)();

CoreName openblas_core_name() { return reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename")); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The register state the OS saves on a context switch (XCR0): AVX needs bits 1-2, AVX-512 also 5-7.
unsigned long long os_saved_state() {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx")) return 0;  // no OSXSAVE/AVX: xgetbv may not exist
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#else
  return 0;
#endif
}
}  // namespace

std::string better_blas_kernels() {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  CoreName core_name = openblas_core_name();
  if (!core_name || !core_name()) return "";
  // only the generic fall-backs are replaced; a kernel set OpenBLAS recognised is kept
  const std::string chosen = lower(core_name());
  if (chosen != "prescott" && chosen != "core2" && chosen != "nehalem" && chosen != "sandybridge") return "";
  __builtin_cpu_init();
  const unsigned long long state = os_saved_state();
  const bool avx_state = (state & 0x6) == 0x6, avx512_state = (state & 0xE6) == 0xE6;
  if (avx512_state && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (avx_state && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

void reexec_with_better_blas_kernels(char** argv) {
  const std::string kernels = better_blas_kernels();
  if (kernels.empty()) return;
  setenv("OPENBLAS_CORETYPE", kernels.c_str(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // execv failed: carry on with the kernels loaded
}

std::string blas_kernels() {
  CoreName core_name = openblas_core_name();
  return core_name && core_name() ? core_name() : "";
}

std::string blas_kernels_description() {
  const std::string kernels = blas_kernels();
  if (kernels.empty()) return "BLAS: not OpenBLAS";
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  return "OpenBLAS kernels: " + kernels + (forced ? " (OPENBLAS_CORETYPE=" + std::string(forced) + ")" : "");
}

}  // namespace enwanda
