#!/usr/bin/env bash
# Installs what is missing, builds (Release), and runs the whole test suite with ctest.
#   scripts/test.sh             build into build/ and run every test
#   scripts/test.sh --sanitize  the same under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build; flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  build="build-asan"; flags=("-DCMAKE_BUILD_TYPE=RelWithDebInfo" "-DENWANDA_SANITIZE=ON")
  # libtorch is not built with ASan: its allocator and ours must not be mixed up by leak checks
  export ASAN_OPTIONS=detect_leaks=0:protect_shadow_gap=0:alloc_dealloc_mismatch=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
scripts/install_deps.sh --with-tests --with-sweep --with-slurm
jobs=$(nproc)
labels=()
if [ "$build" = "build-asan" ]; then
  # Sentencepiece cannot be loaded under the sanitizers (ASan refuses RTLD_DEEPBIND; without it the
  # bundled protobuf clashes with libtorch's), so the tiny checkpoint comes from the normal build,
  # tests that need the tokenizer skip, and only the unit label runs.
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DENWANDA_BUILD_TESTS=ON > /dev/null
  cmake --build build -j "$jobs" --target enwanda enwanda_spm
  premade=$(mktemp -d)
  trap 'rm -rf "$premade"' EXIT
  build/enwanda synth --shape tiny --seed 7 --out "$premade/tiny" -q
  export ENWANDA_TEST_TINY_MODEL=$premade/tiny
  labels=(-L unit)
fi
cmake -S . -B "$build" "${flags[@]}" -DENWANDA_BUILD_TESTS=ON > /dev/null
cmake --build "$build" -j "$jobs"
cd "$build"
ctest -j "$jobs" --output-on-failure "${labels[@]}"
