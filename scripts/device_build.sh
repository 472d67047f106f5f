#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, carry [".deps"]): builds enwanda against the PyTorch wheel's
# CUDA libtorch (CUDA 13, sm_90). The other dependencies come as Debian .debs fetched beforehand by
# scripts/fetch_device_debs.sh and are unpacked with `dpkg -x` into .deps/prefix (never into /);
# CMake and pkg-config look there only, so nothing from the machine's own /usr is mixed in.
#   scripts/device_build.sh [build-dir]      (default build-cuda)
#   scripts/device_build.sh --libpath        the LD_LIBRARY_PATH the built binary needs
# Environment: PYTHON (default python3, the one with torch), TORCH_CMAKE_PREFIX (default: that
# torch's cmake_prefix_path), ENWANDA_CMAKE_ARGS (extra CMake arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
prefix=$PWD/.deps/prefix
multiarch=$prefix/usr/lib/x86_64-linux-gnu
torch_lib=$($py -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
if [ "${1:-}" = "--libpath" ]; then echo "$multiarch:$torch_lib"; exit 0; fi
build=${1:-build-cuda}
ls .deps/debs/*.deb > /dev/null 2>&1 || { echo "no .deps/debs: run scripts/fetch_device_debs.sh here and carry .deps" >&2; exit 1; }
mkdir -p "$prefix/bin"
for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
# pkg-config from the prefix (the machine may have none), reading only the prefix's .pc files,
# with their /usr paths moved under the prefix
cat > "$prefix/bin/pkg-config" << WRAP
#!/bin/sh
LD_LIBRARY_PATH="$multiarch" exec "$prefix/usr/bin/pkgconf" "\$@"
WRAP
chmod +x "$prefix/bin/pkg-config"
export PKG_CONFIG_LIBDIR=$multiarch/pkgconfig:$prefix/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$prefix
torch_cmake=${TORCH_CMAKE_PREFIX:-$($py -c 'import torch; print(torch.utils.cmake_prefix_path)')}
# The wheel's include directory holds fmt 12, which Debian's spdlog 1.10 cannot compile with. A
# directory holding only the prefix's fmt 9 goes first on the search path (-I in CMAKE_CXX_FLAGS
# precedes the targets' include paths), so spdlog and enwanda see the fmt they are built for.
mkdir -p "$prefix/fmt-first"
ln -sfn "$prefix/usr/include/fmt" "$prefix/fmt-first/fmt"
# shellcheck disable=SC2086  # ENWANDA_CMAKE_ARGS is a list of arguments
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DENWANDA_BUILD_TESTS=OFF \
  -DPKG_CONFIG_EXECUTABLE="$prefix/bin/pkg-config" \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$multiarch/cmake;$torch_cmake" -DCMAKE_LIBRARY_ARCHITECTURE=x86_64-linux-gnu \
  -DSENTENCEPIECE_TRAIN_LIB="$multiarch/libsentencepiece_train.so.0" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_BUILD_RPATH="$multiarch;$torch_lib" ${ENWANDA_CMAKE_ARGS:-} \
  "-DCMAKE_CXX_FLAGS=-I$prefix/fmt-first"
cmake --build "$build" -j "$(nproc)"
echo "built $build/enwanda against $($py -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"
