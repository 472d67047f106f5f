#!/usr/bin/env bash
# CPU benchmark of `enwanda prune`: synthetic checkpoints of 2 and 8 layers (hidden 1024,
# intermediate 2816, 16 heads), EN-Modified α=0.5 at 50%, 32 x 512 calibration tokens.
# Prints wall time per phase and peak RSS, and checks streaming: peak RSS may grow by less than
# half a layer's weights per layer added from 2 to 8 layers, and at 16 layers peak at most 1.05x
# the 2-layer figure. Also times --save-stats/--load-stats
# reuse, and the 8-layer sequential prune against the locuslab-style Python pruner (masks compared).
# --methods prints instead the time per layer of each method (en, wanda, ria, sparsegpt, en with
# OWL) on the 2-layer model, the same calibration. --micro-batch prints the statistics seconds of
# three shapes at micro-batches 1..32 (what the CPU default --batch-size is chosen by). --reference
# [R] times instead enwanda against the locuslab-style pruner on 4 layers of hidden 512 (intermediate
# 1376, fp16), 32 x 256 calibration tokens, EN-Modified 50%: R alternating runs each (default 3),
# the minimum of each, the reference timed in-process (load, prune, save; no interpreter start).
# --moe prunes 2 Mixtral-8x7B-shaped layers (hidden 4096, 8 experts of intermediate 14336, top-2,
# bf16; 5.9 GB on disk) beside 2 dense layers of the same active size (intermediate 2 x 14336),
# 8 x 256 calibration tokens, EN-Modified 50%: seconds per layer and per phase, peak RSS.
#   scripts/bench_cpu.sh [--threads N] [--keep DIR] [--methods | --micro-batch | --reference [R] | --moe]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc); keep=""; methods=0; micro=0; repeats=0; moe=0
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;; --keep) keep=$2; shift 2 ;; --methods) methods=1; shift ;;
    --micro-batch) micro=1; shift ;; --moe) moe=1; shift ;;
    --reference) repeats=3; shift; case ${1:-} in [1-9]*) repeats=$1; shift ;; esac ;;
    *) echo "unknown $1" >&2; exit 2 ;;
  esac
done
enw=build/enwanda
[ -x $enw ] || { echo "build first: cmake --build build" >&2; exit 1; }
work=${keep:-$(mktemp -d)}
[ -z "$keep" ] && trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
cat > "$work/shape.json" <<'JSON'
{"model_type": "llama", "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 8,
 "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 512, "max_position_embeddings": 2048}
JSON
for _ in $(seq 60); do cat data/tokenizer_corpus.txt; done > "$work/corpus.txt"
py=/usr/bin/python3
field() { $py -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
if [ $methods = 1 ]; then
  $enw synth --shape "$work/shape.json" --layers 2 --out "$work/m2" -q --overwrite
  $enw calib --model "$work/m2" --calib "$work/corpus.txt" --nsamples 32 --seqlen 512 --out "$work/calib.npy" -q
  printf '%-22s %12s %10s %10s %10s %10s\n' method "s per layer" "stats s" "prune s" "total s" "peakRSS MiB"
  for run in "en|--method en" "wanda|--method wanda" "ria|--method ria" "sparsegpt|--method sparsegpt" \
             "en + OWL|--method en --allocation owl" "sparsegpt 2:4|--method sparsegpt --structure 2:4"; do
    name=${run%%|*}; read -r -a flags <<< "${run#*|}"
    $enw prune --model "$work/m2" --calib-tokens "$work/calib.npy" "${flags[@]}" --threads "$threads" --out "$work/p" --overwrite -q
    r="$work/p/enwanda_report.json"
    printf '%-22s %12.2f %10.2f %10.2f %10.2f %10.0f\n' "$name" \
      "$(field "$r" "sum(l['seconds'] for l in r['layers']) / len(r['layers'])")" "$(field "$r" "r['seconds']['statistics']")" \
      "$(field "$r" "r['seconds']['scoring']")" "$(field "$r" "r['seconds']['total']")" "$(field "$r" "r['peak_rss_mib']")"
  done
  echo "model: 2 layers, hidden 1024, intermediate 2816; 32 x 512 calibration tokens; machine: $(nproc) cores, threads $threads; $(date +%F)"
  exit 0
fi
if [ "$repeats" -gt 0 ]; then
  printf '{"model_type": "llama", "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 4, "num_attention_heads": 8, "vocab_size": 512}' > "$work/r.json"
  $enw synth --shape "$work/r.json" --dtype fp16 --out "$work/r4" -q --overwrite
  $enw calib --model "$work/r4" --calib "$work/corpus.txt" --nsamples 32 --seqlen 256 --out "$work/r.npy" -q --overwrite
  ours=(); theirs=(); loads=()
  for _ in $(seq "$repeats"); do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    $enw prune --model "$work/r4" --calib-tokens "$work/r.npy" --method en --geometry modified --alpha 0.5 --sparsity 0.5 \
      --threads "$threads" --out "$work/p" --overwrite -q
    ours+=("$(field "$work/p/enwanda_report.json" "r['seconds']['total']")")
    kernels=$(field "$work/p/enwanda_report.json" "r['settings'].get('blas_kernels', '')")
    OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$kernels} OMP_NUM_THREADS=$threads $py -W ignore scripts/locuslab_style_reference.py \
      --model "$work/r4" --tokens "$work/r.npy" --method en --geometry modified --alpha 0.5 --sparsity 0.5 --device cpu \
      --out "$work/ref" --json "$work/ref.json" > /dev/null 2>&1
    theirs+=("$(field "$work/ref.json" "r['seconds']['total']")")
  done
  $py - "${ours[*]}" "${theirs[*]}" "${loads[*]}" <<'PY'
import sys
ours, theirs, loads = ([float(x) for x in a.split()] for a in sys.argv[1:4])
print("enwanda total s:   " + " ".join(f"{x:.2f}" for x in ours) + f"  (min {min(ours):.2f})")
print("reference total s: " + " ".join(f"{x:.2f}" for x in theirs) + f"  (min {min(theirs):.2f})")
print(f"enwanda / reference: {min(ours) / min(theirs):.2f}x (goal <= 0.95x); 1-minute load average before each run: "
      + " ".join(f"{x:.1f}" for x in loads))
PY
  echo "4 layers, hidden 512, intermediate 1376, fp16; 32 x 256 tokens; EN-Modified 50%; $(nproc) cores, threads $threads; $(date +%F)"
  exit 0
fi
if [ $moe = 1 ]; then
  printf '{"model_type": "llama", "hidden_size": 4096, "intermediate_size": 28672, "num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000, "rope_theta": 1000000.0, "torch_dtype": "bfloat16"}' > "$work/active.json"
  $enw synth --shape mixtral-8x7b --layers 2 --dtype bf16 --out "$work/mixtral2" -q --overwrite
  $enw synth --shape "$work/active.json" --out "$work/dense2" -q --overwrite
  $enw calib --model "$work/mixtral2" --calib "$work/corpus.txt" --nsamples 8 --seqlen 256 --out "$work/moe.npy" -q --overwrite
  printf '%-44s %9s %7s %7s %7s %7s %8s %11s
' model "s/layer" load stats score write total "peakRSS MiB"
  for m in "mixtral2|2 Mixtral-8x7B layers (8 x 14336, top-2)" "dense2|2 dense layers, intermediate 28672"; do
    dir=${m%%|*}
    $enw prune --model "$work/$dir" --calib-tokens "$work/moe.npy" --method en --geometry modified --alpha 0.5 --sparsity 0.5 \
      --threads "$threads" --out "$work/p" --overwrite -q
    r="$work/p/enwanda_report.json"
    printf '%-44s %9.1f %7.1f %7.1f %7.1f %7.1f %8.1f %11.0f\n' "${m#*|}" \
      "$(field "$r" "sum(l['seconds'] for l in r['layers']) / len(r['layers'])")" "$(field "$r" "r['seconds']['load']")" \
      "$(field "$r" "r['seconds']['statistics']")" "$(field "$r" "r['seconds']['scoring']")" "$(field "$r" "r['seconds']['writing']")" \
      "$(field "$r" "r['seconds']['total']")" "$(field "$r" "r['peak_rss_mib']")"
    [ "$dir" = mixtral2 ] && echo "  tokens per expert: $(field "$r" "'; '.join('layer %d: %s' % (l['layer'], ' '.join(map(str, l['experts']['tokens_per_expert']))) for l in r['layers'])")"
  done
  echo "bf16 checkpoints, fp32 compute; 8 x 256 calibration tokens; EN-Modified 50%; $(nproc) cores, threads $threads; $(date +%F)"
  exit 0
fi
if [ $micro = 1 ]; then
  printf '%-34s %7s %7s %7s %7s %7s %7s\n' "shape, calibration (statistics s)" b1 b2 b4 b8 b16 b32
  for shape in "512 1376 4 8 fp16" "1024 2816 2 16 fp32" "2048 5504 1 16 fp16"; do
    read -r h f l heads dt <<< "$shape"
    printf '{"model_type": "llama", "hidden_size": %s, "intermediate_size": %s, "num_hidden_layers": %s, "num_attention_heads": %s, "vocab_size": 512}' \
      "$h" "$f" "$l" "$heads" > "$work/mb.json"
    $enw synth --shape "$work/mb.json" --dtype "$dt" --out "$work/mb$h" -q --overwrite
    for cal in "32 256" "8 1024"; do
      read -r n t <<< "$cal"
      $enw calib --model "$work/mb$h" --calib "$work/corpus.txt" --nsamples "$n" --seqlen "$t" --out "$work/mb.npy" -q --overwrite
      line=$(printf '%-34s' "hidden $h, $l layers $dt, ${n}x$t")
      for bs in 1 2 4 8 16 32; do
        $enw prune --model "$work/mb$h" --calib-tokens "$work/mb.npy" --batch-size $bs --threads "$threads" --out "$work/p" --overwrite -q
        line="$line $(printf '%7.2f' "$(field "$work/p/enwanda_report.json" "r['seconds']['statistics']")")"
      done
      echo "$line"
    done
  done
  echo "machine: $(nproc) cores, threads $threads; $(date +%F)"
  exit 0
fi
printf '%-28s %8s %8s %8s %8s %8s %8s %10s\n' run load calib stats score write total "peakRSS MiB"
declare -A rss
for layers in 2 8; do
  $enw synth --shape "$work/shape.json" --layers $layers --out "$work/m$layers" -q --overwrite
  [ -f "$work/calib.npy" ] || $enw calib --model "$work/m$layers" --calib "$work/corpus.txt" --nsamples 32 --seqlen 512 --out "$work/calib.npy" -q
  for mode in sequential stats-save stats-load; do
    extra=(); name="$layers layers, $mode"
    case $mode in
      stats-save) extra=(--no-sequential --save-stats "$work/stats$layers.safetensors") ;;
      stats-load) extra=(--no-sequential --load-stats "$work/stats$layers.safetensors") ;;
    esac
    $enw prune --model "$work/m$layers" --calib-tokens "$work/calib.npy" --method en --geometry modified --alpha 0.5 \
      --sparsity 0.5 --threads "$threads" --out "$work/p" --overwrite -q "${extra[@]}"
    r="$work/p/enwanda_report.json"
    [ "$layers/$mode" = 8/sequential ] && { rm -rf "$work/p-seq"; cp -r "$work/p" "$work/p-seq"; }
    printf '%-28s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %10.0f\n' "$name" \
      "$(field "$r" "r['seconds']['load']")" "$(field "$r" "r['seconds']['calibration']")" "$(field "$r" "r['seconds']['statistics']")" \
      "$(field "$r" "r['seconds']['scoring']")" "$(field "$r" "r['seconds']['writing']")" "$(field "$r" "r['seconds']['total']")" \
      "$(field "$r" "r['peak_rss_mib']")"
    [ $mode = sequential ] && rss[$layers]=$(field "$r" "r['peak_rss_mib']")
  done
done
# Streaming: a layer held in memory would add its fp32 weights, (4·1024² + 3·1024·2816)·4 B = 49 MiB,
# per added layer; allocator noise here is about ±30 MiB per run, i.e. ±5 MiB per layer over 6 layers.
growth=$($py -c "print(f'{(${rss[8]} - ${rss[2]}) / 6:.1f}')")
echo "peak RSS 8 layers vs 2 layers: $growth MiB per added layer (a held layer would add 49; streaming target < 24.5)"
# Peak RSS against the layer count, background I/O on, 16 x 256 calibration: 16 layers may peak at
# most 1.05x as high as 2 layers (nothing per layer may stay behind).
$enw calib --model "$work/m2" --calib "$work/corpus.txt" --nsamples 16 --seqlen 256 --out "$work/calib16.npy" -q --overwrite
line="peak RSS by layer count (16 x 256 calibration):"
for layers in 2 8 16; do
  [ -d "$work/m$layers" ] || $enw synth --shape "$work/shape.json" --layers $layers --out "$work/m$layers" -q
  $enw prune --model "$work/m$layers" --calib-tokens "$work/calib16.npy" --threads "$threads" --out "$work/p" --overwrite -q
  rss[$layers]=$(field "$work/p/enwanda_report.json" "r['peak_rss_mib']")
  line="$line $layers layers $(printf '%.0f' "${rss[$layers]}") MiB,"
done
echo "$line 16/2 = $($py -c "print(f'{${rss[16]} / ${rss[2]}:.3f}')") (target <= 1.05)"
# The locuslab-style Python pruner (scripts/locuslab_style_reference.py: one sequence per forward, both
# passes whole) on the 8-layer model, with the same OpenBLAS kernels; the goal is enwanda <= 0.9x its time.
kernels=$(field "$work/p-seq/enwanda_report.json" "r['settings'].get('blas_kernels', '')")
OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$kernels} OMP_NUM_THREADS=$threads $py -W ignore scripts/locuslab_style_reference.py \
  --model "$work/m8" --tokens "$work/calib.npy" --method en --geometry modified --alpha 0.5 --sparsity 0.5 --device cpu \
  --out "$work/ref" --compare "$work/p-seq" --json "$work/ref.json" 2> /dev/null | grep -v '^reference seconds' | sed "s|$work/p-seq|enwanda|"
seq_ours=$(field "$work/p-seq/enwanda_report.json" "r['seconds']['total']")
seq_theirs=$(field "$work/ref.json" "r['seconds']['total']")
$py -c "print(f'8 layers, sequential: enwanda {$seq_ours:.2f} s, locuslab-style Python {$seq_theirs:.2f} s: {$seq_ours / $seq_theirs:.2f}x its time (goal <= 0.9x)')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $threads, OpenBLAS kernels ${kernels:-none}"
$py -c "import sys; sys.exit(0 if $growth < 24.5 else 1)"
