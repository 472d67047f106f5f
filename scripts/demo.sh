#!/usr/bin/env bash
# What pruning costs: install what is missing, build (Release), then prune the
# small LLaMA trained on WikiText-2 that ships in data/tiny-llama-wikitext with magnitude, Wanda,
# EN-Modified and SparseGPT at 50% and 70% unstructured and at 2:4, and print one table of
# perplexities against the dense model's. Calibration and evaluation text are disjoint excerpts of WikiText-2's
# test split, neither seen in training (data/wikitext-2-excerpts/README.md).
#
#   scripts/demo.sh [--no-build] [--enwanda PATH]      DEMO_DIR=build/demo by default
# enwanda is --enwanda PATH, else $ENWANDA, else `enwanda` on PATH, else build/enwanda.
set -euo pipefail
build=1 enw=""
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0; shift ;;
    --enwanda) enw=$2; shift 2 ;;
    *) echo "demo.sh: unknown option $1 (--no-build, --enwanda PATH)" >&2; exit 2 ;;
  esac
done
[ -n "$enw" ] || enw=${ENWANDA:-}
case $enw in ''|/*) ;; *) enw=$PWD/$enw ;; esac  # relative to where the demo was started
cd "$(dirname "$0")/.."
if [ $build = 1 ]; then
  scripts/install_deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build build -j "$(nproc)" --target enwanda enwanda_spm
fi
if [ -z "$enw" ]; then
  if command -v enwanda > /dev/null; then enw=$(command -v enwanda); else enw=build/enwanda; fi
fi
[ -x "$enw" ] || { echo "demo.sh: enwanda not found at $enw (build it, put it on PATH, or pass --enwanda)" >&2; exit 2; }
model=data/tiny-llama-wikitext
text=data/wikitext-2-excerpts
demo=${DEMO_DIR:-build/demo}
nsamples=32 seqlen=128
rm -rf "$demo"; mkdir -p "$demo"
start=$SECONDS

# one calibration set for every method, so that only the method differs between rows
"$enw" calib --model "$model" --calib "$text/calib.txt" --nsamples $nsamples --seqlen $seqlen --seed 0 \
  --out "$demo/calib.npy" -q
perplexity() {  # model_dir -> "ppl tokens"
  local line
  line=$("$enw" eval ppl --model "$1" --data "$text/eval.txt" --seqlen $seqlen -q)
  # shellcheck disable=SC2086  # the words of one line
  set -- $line  # "ppl 249.523  windows 188/188  tokens 23876" for the shipped model
  echo "$2 $6"
}
read -r dense eval_tokens <<< "$(perplexity "$model")"

methods=(magnitude wanda en sparsegpt)
declare -A label=([magnitude]="magnitude" [wanda]="Wanda" [en]="EN-Modified (alpha 0.5)" [sparsegpt]="SparseGPT")
declare -A extra=([en]="--geometry modified --alpha 0.5")
declare -A ppl sparsity
columns=("0.5 unstructured" "0.7 unstructured" "0.5 2:4")
for column in "${columns[@]}"; do
  read -r target structure <<< "$column"
  for m in "${methods[@]}"; do
    out="$demo/$m-$target-${structure/:/of}"
    echo "pruning: $m, $target $structure" >&2
    calib=(--calib-tokens "$demo/calib.npy")
    [ "$m" = magnitude ] && calib=()  # magnitude reads no calibration data (given some, it warns and ignores it)
    # shellcheck disable=SC2086  # extra holds whole flags
    "$enw" prune --model "$model" "${calib[@]}" --method "$m" ${extra[$m]:-} \
      --sparsity "$target" --structure "$structure" --out "$out" -q
    ppl[$m/$column]=$(perplexity "$out" | cut -d' ' -f1)
    # the report's first achieved_sparsity is the whole model's (per-layer ones follow)
    sparsity[$column]=$(grep -o -m1 '"achieved_sparsity": [0-9.]*' "$out/enwanda_report.json" | head -1 | cut -d' ' -f2)
  done
done

row() {  # label ppl...
  local name=$1 cells="" p
  shift
  for p in "$@"; do
    cells+=$(awk -v p="$p" -v d="$dense" 'BEGIN { printf "  %9.2f (%+5.1f%%)", p, 100 * (p / d - 1) }')
  done
  printf '%-26s%s\n' "$name" "$cells"
}
echo
echo "== enwanda demo: what pruning costs =="
echo "model:       $model, a 1.3M-parameter LLaMA (4 layers, hidden 128) trained on WikiText-2"
echo "calibration: $nsamples x $seqlen tokens from $text/calib.txt (seed 0), the same set for every method but magnitude (which reads none)"
echo "evaluation:  perplexity on $text/eval.txt, $eval_tokens tokens in $seqlen-token windows (lower is better)"
echo
printf '%-26s  %-18s  %-18s  %s\n' "perplexity" "50% unstructured" "70% unstructured" "2:4 (50%)"
printf '%-26s  %9.2f\n' "dense" "$dense"
for m in "${methods[@]}"; do
  row "${label[$m]}" "${ppl[$m/0.5 unstructured]}" "${ppl[$m/0.7 unstructured]}" "${ppl[$m/0.5 2:4]}"
done
echo
printf 'sparsity of the pruned linears: %.4f, %.4f, %.4f\n' "${sparsity[0.5 unstructured]}" "${sparsity[0.7 unstructured]}" \
  "${sparsity[0.5 2:4]}"
echo "pruned models and their reports (enwanda_report.json): $demo; $((SECONDS - start)) s"
