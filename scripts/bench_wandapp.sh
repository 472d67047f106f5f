#!/usr/bin/env bash
# Wanda++ on CPU: perplexity and prune time for wanda, wanda++ (RGS only), wanda++ (RGS+RO) and
# en++ (EN-Modified α=0.5, RGS+RO), at 50% unstructured, on
#   - the tiny demo model (16 x 64 calibration, RO defaults: 5 rounds x 32 samples, lr 3e-7), and
#   - the CPU bench shape with 2 layers (hidden 1024, intermediate 2816, 16 heads; 32 x 512
#     calibration; RO cut to 1 round x 8 samples and RGS to 8 samples to fit a 2-core machine).
# The models are random, so perplexity sits near the vocabulary size (512); the figures compare
# methods and show cost, not quality.   scripts/bench_wandapp.sh [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
[ "${1:-}" = "--threads" ] && threads=$2
enw=build/enwanda
py=/usr/bin/python3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for _ in $(seq 60); do cat data/tokenizer_corpus.txt; done > "$work/corpus.txt"
head -n 1500 "$work/corpus.txt" > "$work/calib.txt"; tail -n 1500 "$work/corpus.txt" > "$work/eval.txt"
cat > "$work/bench.json" <<'JSON'
{"model_type": "llama", "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 2,
 "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 512, "max_position_embeddings": 2048}
JSON
field() { $py -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
printf '%-10s %-26s %10s %10s %22s\n' model method ppl "prune s" "block MSE before->after RO"
for model in tiny bench; do
  if [ $model = tiny ]; then
    $enw synth --shape tiny --seed 0 --out "$work/m" -q --overwrite; calib=(--nsamples 16 --seqlen 64); evlen=64; extra_ro=(); extra_rgs=()
  else
    $enw synth --shape "$work/bench.json" --out "$work/m" -q --overwrite; calib=(--nsamples 32 --seqlen 512); evlen=512
    extra_ro=(--ro-iters 1 --ro-samples 8 --rgs-samples 8); extra_rgs=(--rgs-samples 8)
  fi
  $enw calib --model "$work/m" --calib "$work/calib.txt" "${calib[@]}" --out "$work/calib.npy" -q
  dense=$($enw eval ppl --model "$work/m" --data "$work/eval.txt" --seqlen $evlen --slices 8 -q | cut -d' ' -f2)
  printf '%-10s %-26s %10.4f %10s %22s\n' $model dense "$dense" - -
  for run in "wanda|--method wanda" "wanda++ (RGS only)|--method wanda++ --no-ro" "wanda++ (RGS+RO)|--method wanda++" \
             "en++ mod a=0.5 (RGS+RO)|--method en++ --geometry modified --alpha 0.5"; do
    name=${run%%|*}; read -r -a flags <<< "${run#*|}"
    ro=("${extra_ro[@]}"); [ "$name" = wanda ] && ro=()
    [[ "$name" = *"RGS only"* ]] && ro=("${extra_rgs[@]}")
    $enw prune --model "$work/m" --calib-tokens "$work/calib.npy" "${flags[@]}" "${ro[@]}" --threads "$threads" \
      --out "$work/p" --overwrite -q
    ppl=$($enw eval ppl --model "$work/p" --data "$work/eval.txt" --seqlen $evlen --slices 8 -q | cut -d' ' -f2)
    r="$work/p/enwanda_report.json"
    # per layer: before->after RO, or the loss alone with --no-ro
    mse=$(field "$r" "' '.join(f\"{l['regional']['loss_before_ro']:.3g}\" + (f\"->{l['regional']['loss_after_ro']:.3g}\" if 'loss_after_ro' in l['regional'] else '') for l in r['layers']) if 'regional' in r['layers'][0] else '-'")
    printf '%-10s %-26s %10.4f %10.1f %22s\n' $model "$name" "$ppl" "$(field "$r" "r['seconds']['total']")" "$mse"
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $threads; ppl on 8 fixed windows (--slices 8)"
