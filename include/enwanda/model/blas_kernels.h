// The CPU matmul kernels OpenBLAS runs. OpenBLAS chooses its kernel set from the CPU model when it
// loads. On a CPU model it does not know, such as a cloud hypervisor's generic "Intel Xeon
// Processor", Debian's OpenBLAS 0.3.21 falls back to its Prescott (SSE3) kernels, although the CPU
// has AVX2 or AVX-512: every fp32 matmul then runs two to three times slower than it could.
// OPENBLAS_CORETYPE overrides the choice, but OpenBLAS reads it only while loading, before main.
#pragma once

#include <string>

namespace enwanda {

// The kernel set OpenBLAS should use on this CPU when it fell back to a generic one: "SkylakeX"
// (AVX-512 F/BW/VL/DQ/CD, enabled by the OS), "Haswell" (AVX2 + FMA), or "" when OpenBLAS is not
// loaded, OPENBLAS_CORETYPE is already set, or OpenBLAS's own choice stands.
std::string better_blas_kernels();

// With better_blas_kernels() non-empty: sets OPENBLAS_CORETYPE and executes this program again
// with the same arguments (does not return). Otherwise, or when that fails, returns.
void reexec_with_better_blas_kernels(char** argv);

// The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...), "" when it is not OpenBLAS.
std::string blas_kernels();

// "OpenBLAS kernels: SkylakeX (OPENBLAS_CORETYPE=SkylakeX)" or "OpenBLAS kernels: Haswell": for -v logs.
std::string blas_kernels_description();

}  // namespace enwanda
