#!/usr/bin/env bash
# enwanda finetune against the independent autograd reference (tests/reference/lora_reference.py,
# from PEFT's LoRA layer, torch's AdamW and clip_grad_norm_, transformers' linear warmup schedule):
# on a tiny checkpoint pruned to 50%, from one given adapter (B ≠ 0), dropout 0, warmup > 0 and the
# gradient norm clipped at every step, the trained A and B agree within 1e-4 relative in both mask
# modes (and under --schedule constant with q, v and down_proj adapted); micro-batch 1 and 2 agree
# within 1e-5; 6 steps straight and 3 + --resume 3 (from the state --save-every 3 left) give
# bit-identical adapters; --data gives run_clm's group_texts windows; --shuffle permutes as the
# reference does; --seed draws PEFT's kaiming-uniform init.
set -euo pipefail
ENWANDA=${1:?usage: run_lora_reference_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/lora_reference.py"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

"$ENWANDA" synth --shape tiny --seed 3 --out "$work/model" -q
"$ENWANDA" prune --model "$work/model" --method magnitude --sparsity 0.5 --out "$work/pruned" -q
for i in 1 2 3; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"
"$ENWANDA" calib --model "$work/model" --calib "$work/corpus.txt" --nsamples 5 --seqlen 32 --seed 1 --out "$work/w.npy" -q

check() {  # name, targets, mask, schedule, steps, batch, micro-batch
  local name=$1 targets=$2 mask=$3 schedule=$4 steps=$5 batch=$6 micro=$7 out log
  "$PY" "$REF" init --model "$work/pruned" --r 4 --targets "$targets" --seed 2 --out "$work/init-$name.safetensors"
  local common=(--lr 1e-3 --warmup 2 --max-grad-norm 0.05 --steps "$steps" --batch "$batch")
  "$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --adapter-init "$work/init-$name.safetensors" \
    --lora-r 4 --lora-alpha 8 --lora-targets "$targets" --mask "$mask" --schedule "$schedule" --micro-batch "$micro" \
    "${common[@]}" --out "$work/ours-$name" -q
  log=$("$PY" "$REF" train --model "$work/pruned" --windows "$work/w.npy" --init "$work/init-$name.safetensors" \
    --r 4 --alpha 8 --targets "$targets" --mask "$mask" --schedule "$schedule" "${common[@]}" --out "$work/ref-$name.safetensors")
  # clipping must have been active at every step, or the check would not cover it
  if ! "$PY" -c "import json,sys; sys.exit(0 if all(s['grad_norm'] > 0.05 for s in json.loads(sys.argv[1])) else 1)" "$log"; then
    echo "FAIL $name: the gradient norm fell under --max-grad-norm; the check does not exercise clipping"; fail=1
  fi
  if out=$("$PY" "$REF" compare --ours "$work/ours-$name/adapter_model.safetensors" --ref "$work/ref-$name.safetensors" --rtol 1e-4); then
    echo "ok   $name: $out"
  else
    echo "FAIL $name: $out"; fail=1
  fi
}

check keep q_proj,v_proj keep linear 4 2 1
check none q_proj,v_proj none linear 4 2 2
check keep-qvd-constant q_proj,v_proj,down_proj keep constant 3 3 1

# micro-batch 1 and 2 (gradients accumulated): the same adapter within 1e-5
"$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --adapter-init "$work/init-keep.safetensors" \
  --lora-r 4 --lora-alpha 8 --steps 4 --batch 2 --micro-batch 2 --lr 1e-3 --warmup 2 --max-grad-norm 0.05 --out "$work/mb2" -q
if out=$("$PY" "$REF" compare --ours "$work/mb2/adapter_model.safetensors" --ref "$work/ours-keep/adapter_model.safetensors" --rtol 1e-5); then
  echo "ok   micro-batch 2 against 1: $out"
else
  echo "FAIL micro-batch 2 against 1: $out"; fail=1
fi

# resume: 6 steps straight, and from the state saved after step 3 (--save-every 3) the other 3
run6=(--model "$work/pruned" --windows "$work/w.npy" --lora-r 4 --lora-alpha 8 --seed 5 --steps 6 --batch 2 --lr 1e-3 --warmup 2)
"$ENWANDA" finetune "${run6[@]}" --out "$work/straight" -q
"$ENWANDA" finetune "${run6[@]}" --save-every 3 --out "$work/resumed" -q
rm -rf "$work/resumed"
"$ENWANDA" finetune "${run6[@]}" --save-every 3 --resume --out "$work/resumed" > "$work/resume.log" 2>&1
resumed_from=$(grep -c "resumed from .*: 3 of 6 steps done" "$work/resume.log" || true)
if [ "$resumed_from" != 1 ]; then
  echo "FAIL resume did not start from step 3:"; cat "$work/resume.log"; fail=1
fi
if cmp -s "$work/straight/adapter_model.safetensors" "$work/resumed/adapter_model.safetensors"; then
  echo "ok   6 steps straight and 3 + resume 3: bit-identical adapters"
else
  echo "FAIL 6 steps straight and 3 + resume 3 differ"; fail=1
fi

# --data: run_clm's group_texts over the rows tokenised one by one; the same windows as the
# reference's, so the adapters are bit-identical to a run on the reference's windows
"$PY" "$REF" group --model "$work/pruned" --text "$work/corpus.txt" --seqlen 48 --out "$work/grouped.npy"
data_run=(--model "$work/pruned" --lora-r 4 --steps 2 --batch 2 --lr 1e-3 --seed 4)
"$ENWANDA" finetune "${data_run[@]}" --data "$work/corpus.txt" --seqlen 48 --out "$work/from-text" -q
"$ENWANDA" finetune "${data_run[@]}" --windows "$work/grouped.npy" --out "$work/from-ref-windows" -q
if cmp -s "$work/from-text/adapter_model.safetensors" "$work/from-ref-windows/adapter_model.safetensors"; then
  echo "ok   --data --seqlen 48: the windows of run_clm's group_texts"
else
  echo "FAIL --data --seqlen 48: the adapter differs from one trained on the reference's group_texts windows"; fail=1
fi

# --shuffle: windows permuted per epoch by torch.randperm seeded with SEED + epoch (7 steps of 2 over 5 windows: 3 epochs)
check_shuffle() {
  local out
  "$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --adapter-init "$work/init-keep.safetensors" --lora-r 4 \
    --lora-alpha 8 --steps 7 --batch 2 --lr 1e-3 --warmup 2 --shuffle 13 --out "$work/shuffled" -q
  "$PY" "$REF" train --model "$work/pruned" --windows "$work/w.npy" --init "$work/init-keep.safetensors" --r 4 --alpha 8 \
    --steps 7 --batch 2 --lr 1e-3 --warmup 2 --shuffle 13 --out "$work/ref-shuffled.safetensors" > /dev/null
  if out=$("$PY" "$REF" compare --ours "$work/shuffled/adapter_model.safetensors" --ref "$work/ref-shuffled.safetensors"); then
    echo "ok   --shuffle 13: $out"
  else
    echo "FAIL --shuffle 13: $out"; fail=1
  fi
}
check_shuffle

# PEFT's init from --seed: A as torch's kaiming_uniform_(a=sqrt(5)) after torch.manual_seed, B = 0 (lr 0 keeps them)
"$PY" "$REF" init --model "$work/pruned" --r 4 --targets q_proj,v_proj --seed 9 --peft --out "$work/peft-init.safetensors"
"$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --lora-r 4 --seed 9 --steps 1 --lr 0 --out "$work/seed9" -q
if out=$("$PY" "$REF" compare --ours "$work/seed9/adapter_model.safetensors" --ref "$work/peft-init.safetensors" --rtol 1e-6); then
  echo "ok   --seed 9: PEFT's init, $out"
else
  echo "FAIL --seed 9: not PEFT's init: $out"; fail=1
fi

exit $fail
