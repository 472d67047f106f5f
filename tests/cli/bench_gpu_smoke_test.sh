#!/usr/bin/env bash
# scripts/bench_gpu.sh's steps on the CPU at toy size, so the GPU session finds them working:
# synth, matmul rate and disk bandwidth, enwanda prune, the locuslab-style PyTorch reference
# (an independent implementation: its masks must equal enwanda's), the floor and the JSON.
set -uo pipefail
ENWANDA=${1:?usage: bench_gpu_smoke_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

"$SRC/scripts/bench_gpu.sh" --enwanda "$ENWANDA" --device cpu --shape tiny --layers 2 --nsamples 6 --seqlen 48 \
  --large-shape none --work "$work/w" --results "$work/results" > "$work/out.txt" 2> "$work/err.txt"
rc=$?
cat "$work/out.txt"
check "bench_gpu.sh exits 0" "[ $rc = 0 ] || { tail -5 '$work/err.txt'; false; }"
json=$(find "$work/results" -name "gpu-*.json" 2> /dev/null | head -1)
check "results JSON written" "[ -n '$json' ]"
field() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$json" "$1"; }
holds() { [ "$(field "$1")" = True ]; }  # a Python condition over the results JSON r
check "reference masks equal enwanda's (14/14 linears)" \
  "[ \"\$(field \"r['reference']['masks']['identical_linears']\")/\$(field \"r['reference']['masks']['linears']\")\" = 14/14 ]"
check "no differing mask entry" "[ \"\$(field \"r['reference']['masks']['differing_entries']\")\" = 0 ]"
check "floor is positive and enwanda/floor is reported" \
  "holds \"r['floor']['total_s'] > 0 and r['enwanda']['over_floor'] > 0\""
check "SparseGPT timed beside EN" "holds \"r['sparsegpt']['total_vs_en'] > 0 and abs(r['sparsegpt']['achieved_sparsity'] - 0.5) < 0.01\""
check "matmul rate measured" "holds \"r['measured']['matmul_tflops'] > 0\""
check "phase seconds from enwanda's report" "holds \"all(k in r['enwanda']['seconds'] for k in ('load','statistics','scoring','writing','total'))\""
other=$("$PY" -W ignore "$SRC/scripts/locuslab_style_reference.py" --model "$work/w/model" --tokens "$work/w/calib.npy" \
  --device cpu --alpha 0.1 --compare "$work/w/enwanda" 2> /dev/null | grep '^masks vs')
echo "$other"
check "with another α the comparison reports differing entries (it can fail)" \
  "[[ '$other' =~ \ [1-9][0-9]*\ of\  ]]"
check "mask timings: sort and k-th value give equal masks on 3 shapes" \
  "holds \"len(r['masks']['rows']) == 3 and all(x['masks_equal'] and x['sort_s'] > 0 for x in r['masks']['rows'])\""
check "wanda++ seconds per block reported" "holds \"len(r['wandapp']['seconds_per_block']) == 2\""
if command -v shellcheck > /dev/null; then check "shellcheck bench_gpu.sh" "shellcheck '$SRC/scripts/bench_gpu.sh'"
else echo "skipped shellcheck bench_gpu.sh: shellcheck is not installed (scripts/install_deps.sh --with-sweep installs it)"; fi
finish
