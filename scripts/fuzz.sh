#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined) for the safetensors
# header parser, the shard index and the config parser, and runs each for SECONDS (default 60).
#   scripts/fuzz.sh [seconds]
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/install_deps.sh --with-fuzz
out=build-fuzz; mkdir -p "$out"
flags=(-std=c++17 -O1 -g "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined -Iinclude)
declare -A sources=(
  [safetensors_header]="src/io/safetensors_header.cpp"
  [shard_index]="src/io/shard_index.cpp"
  [llama_config]="src/model/llama_config.cpp"
)
status=0
for target in safetensors_header shard_index llama_config; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_$target.cpp" "${sources[$target]}" -o "$out/fuzz_$target"
  mkdir -p "$out/corpus/$target" "$out/findings/$target"
  echo "== fuzz_$target for $seconds s"
  if ! "$out/fuzz_$target" "$out/corpus/$target" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -max_len=4096 \
      -artifact_prefix="$out/findings/$target/" -print_final_stats=1 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)"; then
    :
  fi
  if ls "$out/findings/$target"/* > /dev/null 2>&1; then echo "findings for $target:"; ls "$out/findings/$target"; status=1; fi
done
exit $status
