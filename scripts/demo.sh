#!/usr/bin/env bash
# The main job on an embedded default: install what is missing, build (Release), make a tiny model
# and corpus, prune it with EN-Modified α=0.5 at 50%, and compare perplexity before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target enwanda enwanda_spm
enw=build/enwanda
demo=${DEMO_DIR:-build/demo}
rm -rf "$demo"; mkdir -p "$demo"
# a corpus from the shipped text: calibration from one half, evaluation on the other
for _ in $(seq 12); do cat data/tokenizer_corpus.txt; done > "$demo/corpus.txt"
head -n 300 "$demo/corpus.txt" > "$demo/calib.txt"
tail -n 300 "$demo/corpus.txt" > "$demo/eval.txt"

$enw synth --shape tiny --seed 0 --out "$demo/tiny" -q
$enw prune --config configs/tiny-demo.json --model "$demo/tiny" --calib "$demo/calib.txt" --out "$demo/tiny-en50"
$enw inspect --model "$demo/tiny-en50"
dense=$($enw eval ppl --model "$demo/tiny" --data "$demo/eval.txt" --seqlen 64 --json "$demo/dense.json" -q)
pruned=$($enw eval ppl --model "$demo/tiny-en50" --data "$demo/eval.txt" --seqlen 64 --json "$demo/pruned.json" -q)
echo
echo "== enwanda demo summary =="
echo "model:   tiny random LLaMA (2 layers, hidden 64, GQA 4/2 heads), $demo/tiny"
echo "method:  EN-Modified, alpha 0.5, 50% unstructured, 16 x 64-token calibration windows"
echo "dense:   $dense"
echo "pruned:  $pruned"
echo "sparsity: $(grep -o '"achieved_sparsity": [0-9.]*' "$demo/tiny-en50/enwanda_report.json" | cut -d' ' -f2)"
echo "output:  $demo/tiny-en50 (report: enwanda_report.json)"
