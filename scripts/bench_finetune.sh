#!/usr/bin/env bash
# Recovery after pruning on the shipped trained model (data/tiny-llama-wikitext), and the CPU time
# per training step of enwanda finetune against a plain Python/torch loop of the same model and
# settings (tests/reference/lora_reference.py train), run side by side.
#
#   scripts/bench_finetune.sh [--steps N] [--batch B] [--threads T]
#
# Per pruning (Wanda 70% unstructured, Wanda 2:4; 64 x 128 calibration tokens of
# data/wikitext-2-excerpts/calib.txt): perplexity on eval.txt (128-token windows) pruned, then
# after `enwanda finetune --data calib.txt --seqlen 128` (LoRA r 8, alpha 16, q_proj,v_proj and
# every other linear as a second row, --mask keep, lr 1e-3, 5 warmup steps) merged with --merge
# (zeros kept); time per step and tokens/s from enwanda_finetune.json. Then both loops train the
# Wanda-70% model on the same windows from PEFT's init for the same steps, each step's whole batch
# in one forward (--micro-batch = --batch); the first step of each (allocation warm-up) is left out
# of the mean.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=60 batch=8 threads=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "bench_finetune.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
enw=build/enwanda
py=/usr/bin/python3
model=data/tiny-llama-wikitext
text=data/wikitext-2-excerpts
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
$enw calib --model "$model" --calib "$text/calib.txt" --nsamples 64 --seqlen 128 --out "$work/calib.npy" -q
ppl() { $enw eval ppl --model "$1" --data "$text/eval.txt" --seqlen 128 --threads "$threads" -q | cut -d' ' -f2; }
field() { $py -c "import json, sys; print('%.4f' % json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "dense: eval ppl $(ppl "$model")"
# the dense model fine-tuned the same way: what the text alone gives (it is nearer eval.txt than the model's training text)
$enw finetune --model "$model" --data "$text/calib.txt" --seqlen 128 --steps "$steps" --batch "$batch" --micro-batch "$batch" \
  --lr 1e-3 --warmup 5 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --threads "$threads" \
  --out "$work/ad" --merge "$work/m" --overwrite -q
echo "dense + the same recovery (all 7 linears): eval ppl $(ppl "$work/m")"
printf '%-12s %-20s %10s %10s %8s %10s %10s\n' pruning adapted "ppl pruned" recovered steps "s/step" "tokens/s"
for pruning in 0.7 2:4; do
  sp=(--sparsity "$pruning"); [ "$pruning" = 2:4 ] && sp=(--structure 2:4)
  $enw prune --model "$model" --method wanda --calib-tokens "$work/calib.npy" "${sp[@]}" --threads "$threads" --out "$work/p" --overwrite -q
  before=$(ppl "$work/p")
  for targets in q_proj,v_proj q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; do
    $enw finetune --model "$work/p" --data "$text/calib.txt" --seqlen 128 --steps "$steps" --batch "$batch" --micro-batch "$batch" --lr 1e-3 \
      --warmup 5 --lora-targets "$targets" --threads "$threads" --out "$work/ad" --merge "$work/m" --overwrite -q
    name=$targets; [ "$targets" != q_proj,v_proj ] && name="all 7 linears"
    printf '%-12s %-20s %10.3f %10.3f %8s %10s %10.0f\n' "wanda $pruning" "$name" "$before" "$(ppl "$work/m")" "$steps" \
      "$(field "$work/ad/enwanda_finetune.json" seconds_per_step)" "$(field "$work/ad/enwanda_finetune.json" tokens_per_second)"
  done
  [ "$pruning" = 0.7 ] && cp -r "$work/p" "$work/p70"
done

# side by side: the same windows, init and settings; enwanda's loop and the Python one
ref=tests/reference/lora_reference.py
$py $ref group --model "$model" --text "$text/calib.txt" --seqlen 128 --out "$work/windows.npy"
$py $ref init --model "$work/p70" --r 8 --targets q_proj,v_proj --seed 0 --peft --out "$work/init.safetensors"
common=(--steps "$steps" --batch "$batch" --lr 1e-3 --warmup 5)
$enw finetune --model "$work/p70" --windows "$work/windows.npy" --adapter-init "$work/init.safetensors" "${common[@]}" --micro-batch "$batch" \
  --threads "$threads" --out "$work/side" --overwrite -q
$py $ref train --model "$work/p70" --windows "$work/windows.npy" --init "$work/init.safetensors" "${common[@]}" \
  --threads "$threads" --out "$work/side-ref.safetensors" > "$work/side-ref.json"
$py - "$work/side/enwanda_finetune.json" "$work/side-ref.json" "$threads" <<'PY'
import json, sys
ours = [s["seconds"] for s in json.load(open(sys.argv[1]))["steps"]][1:]
theirs = [s["seconds"] for s in json.load(open(sys.argv[2]))][1:]
a, b = sum(ours) / len(ours), sum(theirs) / len(theirs)
print(f"time per step, {sys.argv[3]} threads, mean of steps 2..{len(ours) + 1}: enwanda {a:.4f} s, Python/torch loop {b:.4f} s, ratio {a / b:.2f}x")
PY
$py $ref compare --ours "$work/side/adapter_model.safetensors" --ref "$work/side-ref.safetensors" --rtol 1e-3 || true
