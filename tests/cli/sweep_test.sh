#!/usr/bin/env bash
# The α sweep on the tiny model: 2 α × 2 geometries, CSV rows, resumption (a rerun prunes nothing),
# a failing cell logged while the sweep goes on, valid PNG/SVG figures, the --no-sequential path
# with shared statistics, and shellcheck on the scripts.
set -uo pipefail
ENWANDA=${1:?usage: sweep_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

"$ENWANDA" synth --shape tiny --seed 2 --out "$work/model" -q
for _ in 1 2 3 4 5; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/text.txt"
"$PY" -c "
import json
with open('$work/mc.jsonl', 'w') as f:
    for i in range(4): f.write(json.dumps({'context': 'The river rose. Did it rise? Answer:', 'choices': ['no', 'yes'], 'label': i % 2}) + '\n')"
sweep=("$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt"
       --alphas 0,0.5 --geometries original,modified --nsamples 4 --seqlen 32 --eval-seqlen 32 --zeroshot "mc=$work/mc.jsonl")

"${sweep[@]}" --out "$work/r" > "$work/log1" 2>&1
rc1=$?
check "first run exits 0" '[ $rc1 = 0 ]'
check "4 cell rows + dense row in results.csv" '[ "$(tail -n +2 "$work/r/results.csv" | wc -l)" = 5 ] && head -1 "$work/r/results.csv" | grep -q "^method,geometry,alpha,sparsity,allocation,ppl,mc_acc,macro_acc,prune_seconds$"'
check "dense row first" 'sed -n 2p "$work/r/results.csv" | grep -q "^dense,"'
check "each cell in the CSV" 'for g in original modified; do for a in 0 0.5; do grep -q "^en,$g,$a,0.5,uniform," "$work/r/results.csv" || exit 1; done; done'
check "results.json and summary.md" '"$PY" -c "import json; d=json.load(open(\"$work/r/results.json\")); assert len(d[\"cells\"]) == 4" && grep -q "^| dense |" "$work/r/summary.md"'
check "ppl_vs_alpha.png is a PNG" '[ "$(head -c 8 "$work/r/ppl_vs_alpha.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
check "ppl_vs_alpha.svg is an SVG" 'grep -q "<svg" "$work/r/ppl_vs_alpha.svg"'
check "acc_vs_alpha.png exists with zero-shot results" '[ -s "$work/r/acc_vs_alpha.png" ]'
check "pruned models deleted without --keep-models" '[ ! -d "$work/r/models" ]'
check "zero-shot with BOS by default" 'grep -q "\"bos\": true" "$work/r/dense/zeroshot.json"'

"${sweep[@]}" --out "$work/r" > "$work/log2" 2>&1
check "rerun prunes nothing" '[ "$(grep -c "pruning" "$work/log2")" = 0 ] && [ "$(grep -c "skipped" "$work/log2")" = 4 ]'

# the same directory with other settings is refused, and nothing in it changes
sums_before=$(find "$work/r" -type f -print0 | sort -z | xargs -0 md5sum)
"${sweep[@]}" --out "$work/r" --nsamples 8 > "$work/log2b" 2>&1
rc=$?
check "other settings refused (exit 2), naming the difference" '[ $rc = 2 ] && grep -q "holds results made with other settings" "$work/log2b" &&
  grep -q "there: *\"nsamples\": \"4\"" "$work/log2b" && grep -q "asked: *\"nsamples\": \"8\"" "$work/log2b"'
check "the refused run changed nothing" '[ "$sums_before" = "$(find "$work/r" -type f -print0 | sort -z | xargs -0 md5sum)" ]'
# a grown grid (α = 1 added) with the same settings prunes only the new cells
(cd "$work" && "${sweep[@]}" --alphas 0,0.5,1 --model model --out r) > "$work/log2c" 2>&1
check "grown grid prunes only its new cells" '[ "$(grep -c "pruning" "$work/log2c")" = 2 ] && [ "$(grep -c "skipped" "$work/log2c")" = 4 ] &&
  [ "$(tail -n +2 "$work/r/results.csv" | wc -l)" = 7 ]'

# a failing cell (sparsity 1 is refused) is logged and the rest go on
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --alphas 0.5 --geometries modified --sparsities 1,0.5 --nsamples 4 --seqlen 32 --eval-seqlen 32 --out "$work/f" > "$work/log3" 2>&1
check "failed cell logged, other cell done" 'grep -q "en-modified-a0.5-s1 failed" "$work/f/failed.log" && [ -f "$work/f/cells/en-modified-a0.5-s0.5.json" ]'

# --no-sequential: statistics gathered once, loaded by every cell
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --alphas 0,1 --geometries modified --no-sequential --nsamples 4 --seqlen 32 --eval-seqlen 32 --out "$work/n" \
  --zeroshot "mc=$work/mc.jsonl" --zeroshot-args "--no-bos --limit 3" > "$work/log4" 2>&1
check "--no-sequential cells load the shared statistics" '[ -f "$work/n/stats.safetensors" ] && grep -q "\"load_stats\": \".*stats.safetensors\"" "$work/n/cells/en-modified-a1-s0.5/enwanda_report.json"'
check "--zeroshot-args reach eval zeroshot" '"$PY" -c "import json; d=json.load(open(\"$work/n/dense/zeroshot.json\")); assert d[\"bos\"] is False and d[\"tasks\"][\"mc\"][\"n\"] == 3"'

# a study's table: several methods, each uniform and with OWL, in one sweep
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --methods magnitude,sparsegpt,ria,en --allocations uniform,owl --alphas 0.5 --geometries modified --nsamples 4 \
  --seqlen 32 --eval-seqlen 32 --out "$work/m" > "$work/log5" 2>&1
rc5=$?
check "methods x allocations sweep exits 0 with 8 cells" '[ $rc5 = 0 ] && [ "$(tail -n +2 "$work/m/results.csv" | wc -l)" = 9 ]'
check "a row per method and allocation" 'for m in magnitude sparsegpt ria; do for a in uniform owl; do
    grep -q "^$m,,,0.5,$a," "$work/m/results.csv" || exit 1; done; done; grep -q "^en,modified,0.5,0.5,owl," "$work/m/results.csv"'
check "each cell pruned with its method and allocation" 'r="$work/m/cells/sparsegpt-owl-s0.5/enwanda_report.json";
  grep -q "\"method\": \"sparsegpt\"" "$r" && grep -q "\"allocation\": \"owl\"" "$r"'
check "summary.md names the allocation" 'grep -q "^| ria |  | – | 0.5 | owl |" "$work/m/summary.md"'
check "the figure has a line per method" 'grep -q "title \"sparsegpt + OWL @ 50%\"" "$work/m/plot_data/ppl_vs_alpha_png.gp"'
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model m --calib c --eval-data e --out o --methods en,sgpt > "$work/log6" 2>&1
rc6=$?
check "an unknown method in --methods is refused (exit 2)" '[ $rc6 = 2 ] && grep -q "unknown method sgpt" "$work/log6"'

if command -v shellcheck > /dev/null; then
  check "shellcheck scripts/ and .ci/run" 'shellcheck "$SRC"/scripts/*.sh "$SRC/.ci/run"'
else
  echo "skipped shellcheck scripts/ and .ci/run: shellcheck is not installed (scripts/install_deps.sh --with-sweep installs it)"
fi
check "bash -n sweep_slurm.sh" 'bash -n "$SRC/scripts/sweep_slurm.sh"'
finish
