#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, carry [".deps"]): builds enwanda against the PyTorch wheel's
# CUDA libtorch (CUDA 13, sm_90). The other dependencies come as Debian .debs fetched beforehand by
# scripts/fetch_device_debs.sh and are unpacked with `dpkg -x` into .deps/prefix (never into /).
#   scripts/device_build.sh [build-dir]      (default build-cuda)
# Then run with: LD_LIBRARY_PATH=$(scripts/device_build.sh --libpath) build-cuda/enwanda ...
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$PWD/.deps/prefix
multiarch=$prefix/usr/lib/x86_64-linux-gnu
torch_lib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
if [ "${1:-}" = "--libpath" ]; then echo "$multiarch:$torch_lib"; exit 0; fi
build=${1:-build-cuda}
ls .deps/debs/*.deb > /dev/null 2>&1 || { echo "no .deps/debs: run scripts/fetch_device_debs.sh here and carry .deps" >&2; exit 1; }
mkdir -p "$prefix"
for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
# Debian's .so symlinks are absolute-free already; .pc files say prefix=/usr: point pkg-config at the sysroot.
export PKG_CONFIG_PATH=$multiarch/pkgconfig:$prefix/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$prefix
torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DENWANDA_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$torch_cmake;$prefix/usr;$multiarch/cmake" \
  -DSENTENCEPIECE_TRAIN_LIB="$multiarch/libsentencepiece_train.so" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_BUILD_RPATH="$multiarch;$torch_lib"
cmake --build "$build" -j "$(nproc)"
echo "built $build/enwanda against $(python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"
