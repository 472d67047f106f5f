#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined) for the parsers of
# files enwanda reads from users: the safetensors header, the shard index, config.json, a token
# .npy's header, tokenizer.json and tokenizer_config.json; runs each for SECONDS (default 60).
# (Calibration JSON lines and statistics files are read through libtorch-linked code: not here.)
#   scripts/fuzz.sh [seconds]
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/install_deps.sh --with-fuzz
out=build-fuzz; mkdir -p "$out"
flags=(-std=c++17 -O1 -g "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined -Iinclude)
text=(src/text/hf_tokenizer.cpp src/text/unicode_text.cpp src/io/json_text.cpp)
declare -A sources=(
  [safetensors_header]="src/io/safetensors_header.cpp src/io/json_text.cpp"
  [shard_index]="src/io/shard_index.cpp src/io/json_text.cpp"
  [llama_config]="src/model/llama_config.cpp src/model/model_family.cpp src/io/json_text.cpp"
  [npy_header]="src/io/npy_header.cpp"
  [tokenizer_json]="${text[*]}"
  [tokenizer_config]="src/text/tokenizer.cpp ${text[*]}"
)
declare -A libs=([llama_config]="-lspdlog -lfmt" [tokenizer_json]="-lpcre2-8 -lutf8proc" [tokenizer_config]="-lpcre2-8 -lutf8proc -ldl")
status=0
for target in safetensors_header shard_index llama_config npy_header tokenizer_json tokenizer_config; do
  # shellcheck disable=SC2086  # the source and library lists split into words
  if ! clang++ "${flags[@]}" -DENWANDA_SPM_MODULE_BUILD_PATH='""' "tests/fuzz/fuzz_$target.cpp" ${sources[$target]} \
      ${libs[$target]:-} -o "$out/fuzz_$target" 2> "$out/build_$target.log"; then
    echo "fuzz_$target does not build: $(grep -m1 -E "error|undefined reference" "$out/build_$target.log")"; status=1; continue
  fi
  mkdir -p "$out/corpus/$target" "$out/findings/$target"
  echo "== fuzz_$target for $seconds s"
  if ! "$out/fuzz_$target" "$out/corpus/$target" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -max_len=4096 \
      -artifact_prefix="$out/findings/$target/" -print_final_stats=1 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)"; then
    :
  fi
  if ls "$out/findings/$target"/* > /dev/null 2>&1; then echo "findings for $target:"; ls "$out/findings/$target"; status=1; fi
done
exit $status
