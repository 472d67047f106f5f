#!/usr/bin/env bash
# Agreement of enwanda's mixture-of-experts forward with the independent Python reference
# (tests/reference/moe_reference.py, written from transformers' modeling files) on tiny fp32
# checkpoints of each family: mixtral, qwen2_moe (with a shared expert), qwen3_moe (dense layers
# by decoder_sparse_step 2 and mlp_only_layers) and olmoe (q/k norm over the projection, clip_qkv):
# perplexity within 1e-5 relative; per-expert pruning (below) with the reference's masks; and no
# routing near-ties in the test models (the gap between the k-th and (k+1)-th router probability of
# every token above 1e-5, a hundred times the fp32 rounding of the router logits), so that the
# agreement is not luck.
set -euo pipefail
ENWANDA=${1:?usage: run_moe_reference_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/moe_reference.py"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
indent() { while IFS= read -r line; do echo "       $line"; done <<< "$1"; }
for i in 1 2 3; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"

for shape in tiny-mixtral tiny-qwen2-moe tiny-qwen3-moe tiny-olmoe; do
  m=$work/$shape
  seed=4; [ "$shape" = tiny-qwen3-moe ] && seed=5  # seeds whose routing has no near-ties (checked below)
  "$ENWANDA" synth --shape "$shape" --seed $seed --out "$m" -q
  "$ENWANDA" calib --model "$m" --calib "$work/corpus.txt" --nsamples 4 --seqlen 40 --seed 1 --out "$work/$shape.npy" -q
  "$ENWANDA" eval ppl --model "$m" --data-tokens "$work/$shape.npy" --json "$work/ppl-$shape.json" -q > /dev/null
  ref=$("$PY" "$REF" ppl --model "$m" --tokens "$work/$shape.npy")
  ours=$("$PY" -c "import json; print(json.load(open('$work/ppl-$shape.json'))['ppl'])")
  if "$PY" -c "import sys; a,b=float('$ours'),float('$ref'); sys.exit(0 if abs(a-b)/b <= 1e-5 else 1)"; then
    echo "ok   ppl ($shape): enwanda $ours, reference $ref"
  else
    echo "FAIL ppl ($shape): enwanda $ours, reference $ref"; fail=1
  fi
  routing=$("$PY" "$REF" routing --model "$m" --tokens "$work/$shape.npy")
  if "$PY" - "$routing" <<'PYEOF'
import re, sys
gaps = [float(g) for g in re.findall(r"min gap (\S+),", sys.argv[1])]
sys.exit(0 if gaps and min(gaps) > 1e-5 else 1)
PYEOF
  then
    echo "ok   no routing near-ties ($shape):"; indent "$routing"
  else
    echo "FAIL routing near-ties ($shape):"; indent "$routing"; fail=1
  fi
done

# the layout: qwen3_moe's layer 1 is MoE, layers 0, 2 (decoder_sparse_step 2) and 3 (mlp_only_layers) dense
layout=$("$PY" "$REF" routing --model "$work/tiny-qwen3-moe" --tokens "$work/tiny-qwen3-moe.npy" | cut -d: -f1 | tr '\n' ' ')
if [ "$layout" = "layer 1 " ]; then echo "ok   qwen3_moe MoE layers: $layout"; else echo "FAIL qwen3_moe MoE layers: $layout"; fail=1; fi

# per-expert pruning against the reference: masks of wanda, EN (both geometries), magnitude and 2:4
# identical, SparseGPT's weights within 1e-4 relative, every other tensor unchanged; on the 4 x 40
# calibration set, and on one of 1 x 5 tokens with which some experts receive no token (pruned by
# |W| alone)
"$ENWANDA" calib --model "$work/tiny-mixtral" --calib "$work/corpus.txt" --nsamples 1 --seqlen 5 --seed 3 --out "$work/few.npy" -q
no_token_seen=0
check_masks() {  # shape calib-file name, enwanda flags..., -- reference flags...
  local shape=$1 tokens=$2 name=$3; shift 3
  local eflags=() rflags=()
  while [ "$1" != "--" ]; do eflags+=("$1"); shift; done; shift
  rflags=("$@")
  local calib_flags=(--calib-tokens "$tokens")  # magnitude reads none, and refuses calibration flags
  [[ " ${eflags[*]} " == *" --method magnitude "* ]] && calib_flags=()
  "$ENWANDA" prune --model "$work/$shape" "${calib_flags[@]}" --out "$work/p" -q "${eflags[@]}"
  if out=$("$PY" "$REF" masks --model "$work/$shape" --tokens "$tokens" --pruned "$work/p" "${rflags[@]}"); then
    echo "ok   masks $shape $name: $out"
  else
    echo "FAIL masks $shape $name: $out"; fail=1
  fi
  case $out in *" 0 experts without tokens"*) ;; *) no_token_seen=1 ;; esac
  rm -rf "$work/p"
}
for shape in tiny-mixtral tiny-qwen2-moe tiny-qwen3-moe tiny-olmoe; do
  calib=$work/$shape.npy
  check_masks $shape "$calib" "en modified" --method en --alpha 0.5 -- --method en --geometry modified --alpha 0.5
  check_masks $shape "$calib" "sparsegpt" --method sparsegpt -- --method sparsegpt
  check_masks $shape "$work/few.npy" "en original, few tokens" --method en --geometry original --alpha 0.5 -- \
    --method en --geometry original --alpha 0.5
  check_masks $shape "$work/few.npy" "sparsegpt, few tokens" --method sparsegpt -- --method sparsegpt
done
check_masks tiny-qwen2-moe "$work/tiny-qwen2-moe.npy" "wanda 2:4" --method wanda --structure 2:4 -- --method wanda --structure 2:4
check_masks tiny-mixtral "$work/tiny-mixtral.npy" "magnitude" --method magnitude -- --method magnitude
check_masks tiny-mixtral "$work/tiny-mixtral.npy" "en modified, --stat-norm tokens" --method en --geometry modified --alpha 0.5 \
  --stat-norm tokens -- --method en --geometry modified --alpha 0.5 --stat-norm tokens
check_masks tiny-olmoe "$work/few.npy" "wanda 2:4, few tokens" --method wanda --structure 2:4 -- --method wanda --structure 2:4
if [ $no_token_seen = 1 ]; then echo "ok   some experts received no calibration token"
else echo "FAIL every expert got tokens: the no-token rule went untested"; fail=1; fi
exit $fail
