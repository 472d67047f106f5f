#!/usr/bin/env bash
# DSnoT and ALPS against the independent Python reference (tests/reference/dsnot_alps.py) on a
# synthetic checkpoint whose rows have 512 and 1024 inputs (ALPS: the tiny one): DSnoT's masks identical to the published
# loop's (unstructured at 50% and 70%, 2:4, the MLP refined too), counts exact per row and group,
# and 0 cycles = Wanda's tensors bit for bit; ALPS's masks >= 0.99 equal to the reference's,
# its reconstruction error within 1% of the reference's and below SparseGPT's and Wanda's on every
# linear.
set -euo pipefail
ENWANDA=${1:?usage: run_dsnot_alps_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/dsnot_alps.py"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

cat > "$work/wide.json" <<'JSON'
{"model_type": "llama", "hidden_size": 512, "intermediate_size": 1024, "num_hidden_layers": 2,
 "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 512, "max_position_embeddings": 512,
 "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false}
JSON
"$ENWANDA" synth --shape "$work/wide.json" --seed 7 --out "$work/model" -q
for i in 1 2 3 4 5 6; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"
"$ENWANDA" calib --model "$work/model" --calib "$work/corpus.txt" --nsamples 8 --seqlen 64 --seed 1 --out "$work/calib.npy" -q

# ALPS on the tiny shape (64 and 176 inputs), with more calibration tokens than inputs so XᵀX has
# full rank and the reconstruction errors are far from zero
"$ENWANDA" synth --shape tiny --seed 8 --out "$work/tiny" -q

check() {  # name, method, enwanda flags..., -- reference flags...   ($model: the checkpoint, default the wide one)
  local name=$1 method=$2 model=${model:-$work/model}; shift 2
  local eflags=() rflags=()
  while [ "$1" != "--" ]; do eflags+=("$1"); shift; done; shift
  rflags=("$@")
  "$ENWANDA" prune --model "$model" --calib-tokens "$work/calib.npy" --out "$work/p-$name" -q --method "$method" "${eflags[@]}"
  if out=$("$PY" "$REF" "$method" --model "$model" --tokens "$work/calib.npy" --pruned "$work/p-$name" "${rflags[@]}"); then
    echo "ok   $name: $out"
  else
    echo "FAIL $name: $out"; fail=1
  fi
  rm -rf "$work/p-$name"
}

check dsnot-50 dsnot --
check dsnot-70-mlp dsnot --sparsity 0.7 --dsnot-skip none -- --sparsity 0.7 --skip none
check dsnot-2of4 dsnot --structure 2:4 --dsnot-skip attention -- --structure 2:4 --skip attention
check dsnot-pow0-t0.01 dsnot --dsnot-pow-var 0 --dsnot-threshold 0.01 --dsnot-cycles 20 \
  -- --pow-var 0 --threshold 0.01 --cycles 20
model=$work/tiny check alps-50 alps --
model=$work/tiny check alps-70 alps --sparsity 0.7 -- --sparsity 0.7
model=$work/tiny check alps-2of4 alps --structure 2:4 -- --structure 2:4

# 0 cycles: Wanda's tensors, bit for bit (the files differ in the method their metadata names)
"$ENWANDA" prune --model "$work/model" --calib-tokens "$work/calib.npy" --out "$work/wanda" -q --method wanda
"$ENWANDA" prune --model "$work/model" --calib-tokens "$work/calib.npy" --out "$work/dsnot0" -q --method dsnot --dsnot-cycles 0
if "$PY" -c "
import sys, torch; sys.path.insert(0, '$(dirname "$REF")')
from reference import load_model
_, a = load_model('$work/wanda'); _, b = load_model('$work/dsnot0')
sys.exit(0 if a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) else 1)"; then
  echo "ok   dsnot --dsnot-cycles 0 writes Wanda's tensors"
else
  echo "FAIL dsnot --dsnot-cycles 0 differs from --method wanda"; fail=1
fi
exit $fail
