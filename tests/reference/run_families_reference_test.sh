#!/usr/bin/env bash
# The families past LLaMA's shape against forwards written from transformers' modeling files
# (tests/reference/families_reference.py): on tiny fp32 checkpoints, perplexity within 1e-5 relative,
# and the masks of Wanda, EN, SparseGPT (its weights within 1e-5) and Wanda++'s gradient scores
# identical, every other tensor carried unchanged.
#   gemma2: softcaps small enough to act on random weights, a window (16) shorter than the windows
#           (48) on its even layers, a query scale apart from head_dim; also with the caps off (null)
#   gemma3_text: per-head (1 + w) q/k norms, layer 0 sliding with rope_local_base_freq, layer 1 full
#           with rope_theta; also with another local base, and a linear rope_scaling on the global one
set -euo pipefail
ENWANDA=${1:?usage: run_families_reference_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/families_reference.py"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
for i in 1 2 3 4 5 6; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"

edit_config() {  # dir, python statements on the dict c
  "$PY" -c "import json; p='$1/config.json'; c=json.load(open(p)); $2; json.dump(c, open(p, 'w'), indent=2)"
}

ppl_of() {  # model dir -> enwanda's perplexity on $work/calib.npy
  rm -f "$work/ppl.json"
  "$ENWANDA" eval ppl --model "$1" --data-tokens "$work/calib.npy" --json "$work/ppl.json" -q > /dev/null
  "$PY" -c "import json; print(json.load(open('$work/ppl.json'))['ppl'])"
}

check_ppl() {  # label, model dir; sets $ours
  local ref
  ours=$(ppl_of "$2")
  ref=$("$PY" "$REF" ppl --model "$2" --tokens "$work/calib.npy")
  if "$PY" -c "import sys; a,b=float('$ours'),float('$ref'); sys.exit(0 if abs(a-b)/b <= 1e-5 else 1)"; then
    echo "ok   ppl $1: enwanda $ours, reference $ref"
  else
    echo "FAIL ppl $1: enwanda $ours, reference $ref"; fail=1
  fi
}

check_differs() {  # label, a, b
  if [ "$2" != "$3" ]; then echo "ok   $1 ($2 against $3)"; else echo "FAIL $1: both $2"; fail=1; fi
}

check_masks() {  # label, model dir, enwanda flags... -- reference flags...
  local name=$1 model=$2 out; shift 2
  local eflags=() rflags=()
  while [ "$1" != "--" ]; do eflags+=("$1"); shift; done; shift
  rflags=("$@")
  "$ENWANDA" prune --model "$model" --calib-tokens "$work/calib.npy" --out "$work/pruned" -q "${eflags[@]}"
  if out=$("$PY" "$REF" masks --model "$model" --tokens "$work/calib.npy" --pruned "$work/pruned" "${rflags[@]}"); then
    echo "ok   masks $name: $out"
  else
    echo "FAIL masks $name: $out"; fail=1
  fi
  rm -rf "$work/pruned"
}

family_checks() {  # shape
  local m=$work/$1
  check_masks "$1 en" "$m" --method en --geometry modified --alpha 0.5 -- --method en --geometry modified --alpha 0.5
  check_masks "$1 wanda" "$m" --method wanda -- --method wanda
  check_masks "$1 wanda 2:4" "$m" --method wanda --structure 2:4 -- --method wanda --structure 2:4
  check_masks "$1 sparsegpt" "$m" --method sparsegpt -- --method sparsegpt
  check_masks "$1 wanda++ (gradient scores)" "$m" --method wanda++ --no-ro -- --method wanda++
}

# gemma2
"$ENWANDA" synth --shape tiny-gemma2 --seed 3 --out "$work/tiny-gemma2" -q
"$ENWANDA" calib --model "$work/tiny-gemma2" --calib "$work/corpus.txt" --nsamples 6 --seqlen 48 --seed 1 \
  --out "$work/calib.npy" -q
check_ppl "gemma2 (caps 0.05 and 0.2, window 16 on layer 0)" "$work/tiny-gemma2"
capped=$ours
family_checks tiny-gemma2
cp -r "$work/tiny-gemma2" "$work/uncapped"
edit_config "$work/uncapped" "c['attn_logit_softcapping'] = None; c['final_logit_softcapping'] = None"
check_ppl "gemma2 without caps" "$work/uncapped"
check_differs "gemma2: the caps change the perplexity" "$capped" "$ours"
cp -r "$work/tiny-gemma2" "$work/full"
edit_config "$work/full" "c['sliding_window'] = 48"
check_differs "gemma2: the window changes the perplexity" "$capped" "$(ppl_of "$work/full")"

# gemma3_text (same tokenizer: the calibration windows carry over)
"$ENWANDA" synth --shape tiny-gemma3 --seed 3 --out "$work/tiny-gemma3" -q
check_ppl "gemma3 (local base 10000 on layer 0, rope_theta 1e6 on layer 1)" "$work/tiny-gemma3"
base=$ours
family_checks tiny-gemma3
cp -r "$work/tiny-gemma3" "$work/local"
edit_config "$work/local" "c['rope_local_base_freq'] = 100.0"
check_ppl "gemma3 with rope_local_base_freq 100" "$work/local"
check_differs "gemma3: the local base changes the perplexity" "$base" "$ours"
cp -r "$work/tiny-gemma3" "$work/linear"
edit_config "$work/linear" "c['rope_scaling'] = {'rope_type': 'linear', 'factor': 8.0}"
check_ppl "gemma3 with a linear rope_scaling (global layers only)" "$work/linear"
check_differs "gemma3: the global scaling changes the perplexity" "$base" "$ours"

exit $fail
