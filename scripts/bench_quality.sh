#!/usr/bin/env bash
# Pruning quality on a small *trained* LLaMA, where perplexity means something (on a random
# checkpoint it sits at the vocabulary size whatever is pruned).
#
#   scripts/bench_quality.sh --text-dir DIR [--model DIR] [--threads N] [--alpha-grid | --wandapp-grid]
#
# The table: dense, then magnitude, wanda, sparsegpt, ria, dsnot, alps and en (α 0.5, both
# geometries), each with uniform layer sparsity and with OWL's (--allocation owl), at 50% and 70%
# unstructured, and uniform at 2:4 (OWL's N:M variant is not supported); "prune s" is the seconds
# of each pruning run (enwanda_report.json's seconds.total).
# --alpha-grid prints instead the elastic-net α grid (both geometries) and Wanda++/EN++, at 50% and 2:4.
# --wandapp-grid prints instead Wanda++ over its two knobs: the gradient weight γ (--rgs-scale 0,
# 10, 100, 1000) and RO (none, or --ro-lr 3e-7 (the default) to 3e-4), at 50% unstructured and at 2:4.
#
# DIR holds WikiText's wiki.valid.tokens and wiki.test.tokens (../shared/data/wikitext here).
# Without --model, a LLaMA of 4 layers (hidden 128, intermediate 352, 4 heads, vocab 2000) is
# trained on wiki.valid by scripts/train_tiny_llama.py (about 11 minutes on 2 cores) into
# bench/.cache/tiny-wiki and reused by later runs. Calibration: 64 x 128 tokens of wiki.valid
# (the training text, as Wanda calibrates on its model's training distribution); perplexity: 1000
# evenly spaced 128-token windows of wiki.test (--slices 1000 of its 3508).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) text_dir="" model="" grid=""
while [ $# -gt 0 ]; do
  case $1 in
    --text-dir) text_dir=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --wandapp-grid) grid=wandapp; shift ;;
    --alpha-grid) grid=alpha; shift ;;
    *) echo "bench_quality.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ ! -f "$text_dir/wiki.valid.tokens" ] || [ ! -f "$text_dir/wiki.test.tokens" ]; then
  echo "bench_quality.sh: --text-dir must hold wiki.valid.tokens and wiki.test.tokens" >&2; exit 2
fi
enw=build/enwanda
if [ -z "$model" ]; then
  model=bench/.cache/tiny-wiki
  if [ ! -f "$model/model.safetensors" ] || [ ! -f "$model.work/trained" ]; then
    /usr/bin/python3 scripts/train_tiny_llama.py --enwanda "$enw" --text "$text_dir/wiki.valid.tokens" --out "$model" \
      --hidden 128 --intermediate 352 --layers 4 --heads 4 --vocab 2000 --seqlen 128 --batch 32 --steps 800 \
      --threads "$threads"
    touch "$model.work/trained"
  fi
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
$enw calib --model "$model" --calib "$text_dir/wiki.valid.tokens" --nsamples 64 --seqlen 128 --out "$work/calib.npy" -q
ppl() { $enw eval ppl --model "$1" --data "$text_dir/wiki.test.tokens" --seqlen 128 --slices 1000 --threads "$threads" -q | cut -d' ' -f2; }
prune_row() {  # NAME SPARSITY FLAGS...: prunes, prints the row (SPARSITY: 0.5, 0.7 or 2:4)
  local name=$1 target=$2; shift 2
  local sparsity=(--sparsity "$target"); [ "$target" = 2:4 ] && sparsity=(--structure 2:4)
  local calib=(--calib-tokens "$work/calib.npy")  # magnitude reads none, except under OWL
  [[ " $* " == *" --method magnitude "* && " $* " != *" --allocation owl "* ]] && calib=()
  $enw prune --model "$model" "${calib[@]}" "$@" "${sparsity[@]}" --threads "$threads" \
    --out "$work/p" --overwrite -q
  local secs; secs=$(/usr/bin/python3 -c "import json; print('%.1f' % json.load(open('$work/p/enwanda_report.json'))['seconds']['total'])")
  printf '%-34s %-12s %10.3f %8s\n' "$name" "$target" "$(ppl "$work/p")" "$secs"
}
printf '%-34s %-12s %10s %8s\n' method sparsity "test ppl" "prune s"
printf '%-34s %-12s %10.3f %8s\n' dense - "$(ppl "$model")" -
footer() {
  echo "model: $model ($(/usr/bin/python3 -c "import json; c=json.load(open('$model/config.json')); print(c['num_hidden_layers'], 'layers, hidden', c['hidden_size'], ', vocab', c['vocab_size'])")); machine: $(nproc) cores, threads $threads; $(date +%F)"
}
if [ "$grid" = "" ]; then
  for target in 0.5 0.7 2:4; do
    for run in "magnitude|--method magnitude" "wanda|--method wanda" "sparsegpt|--method sparsegpt" "ria|--method ria" \
               "dsnot|--method dsnot" "alps|--method alps" \
               "en original a=0.5|--method en --geometry original --alpha 0.5" \
               "en modified a=0.5|--method en --geometry modified --alpha 0.5"; do
      name=${run%%|*}; read -r -a flags <<< "${run#*|}"
      prune_row "$name" "$target" "${flags[@]}"
      [ "$target" = 2:4 ] || prune_row "$name + OWL" "$target" "${flags[@]}" --allocation owl
    done
  done
  footer
  exit 0
fi
if [ "$grid" = wandapp ]; then
  for structure in 0.5 2:4; do
    prune_row wanda "$structure" --method wanda
    for gamma in 0 10 100 1000; do
      prune_row "wanda++ gamma=$gamma, no RO" "$structure" --method wanda++ --rgs-scale $gamma --no-ro
      for lr in 3e-7 3e-6 3e-5 3e-4; do
        prune_row "wanda++ gamma=$gamma, RO lr $lr" "$structure" --method wanda++ --rgs-scale $gamma --ro-lr $lr
      done
    done
  done
  footer
  exit 0
fi
for structure in 0.5 2:4; do
  for run in "magnitude|--method magnitude" "wanda|--method wanda" \
             "en original a=0|--method en --geometry original --alpha 0" \
             "en original a=0.25|--method en --geometry original --alpha 0.25" \
             "en original a=0.5|--method en --geometry original --alpha 0.5" \
             "en original a=0.75|--method en --geometry original --alpha 0.75" \
             "en modified a=0.25|--method en --geometry modified --alpha 0.25" \
             "en modified a=0.5|--method en --geometry modified --alpha 0.5" \
             "en modified a=0.75|--method en --geometry modified --alpha 0.75" \
             "en a=1 (L1, either geometry)|--method en --alpha 1" \
             "wanda++ (RGS+RO)|--method wanda++" \
             "en++ modified a=0.5 (RGS+RO)|--method en++ --geometry modified --alpha 0.5"; do
    name=${run%%|*}; read -r -a flags <<< "${run#*|}"
    prune_row "$name" "$structure" "${flags[@]}"
  done
done
footer
