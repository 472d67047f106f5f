#!/usr/bin/env bash
# The sweep on the tiny random model (mechanics only: its perplexity does not move with pruning):
# 2 α × 2 geometries, CSV rows, resumption (a rerun prunes nothing; runtime-only flags may change),
# a failing cell logged with its reason while the sweep goes on and then exits 1, valid PNG/SVG
# figures and summary.html, the --no-sequential path with shared statistics, structures and seeds
# (mean ± std), the table's row order and protocol header, pass-through flags that contradict the
# grid refused, Ctrl-C and SIGTERM stopping the sweep (resumable), and shellcheck on the scripts.
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
# shellcheck disable=SC2054  # the commas are the sweep's lists
sweep=("$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt"
       --alphas 0,0.5 --geometries original,modified --nsamples 4 --seqlen 32 --eval-seqlen 32 --zeroshot "mc=$work/mc.jsonl")

"${sweep[@]}" --out "$work/r" > "$work/log1" 2>&1
rc1=$?
check "first run exits 0" '[ $rc1 = 0 ]'
check "4 cell rows + dense row in results.csv" '[ "$(tail -n +2 "$work/r/results.csv" | wc -l)" = 5 ] && [ "$(head -1 "$work/r/results.csv")" = "method,geometry,alpha,sparsity,allocation,structure,seed,ppl,mc_acc,mean_acc,prune_seconds" ]'
check "dense row first" '[[ "$(sed -n 2p "$work/r/results.csv")" == dense,* ]]'
check "each cell in the CSV" 'for g in original modified; do for a in 0 0.5; do grep -q "^en,$g,$a,0.5,uniform,unstructured,0," "$work/r/results.csv" || exit 1; done; done'
check "results.json and summary.md" '"$PY" -c "import json; d=json.load(open(\"$work/r/results.json\")); assert len(d[\"cells\"]) == 4" && grep -q "^| dense |" "$work/r/summary.md"'
check "ppl_vs_alpha.png is a PNG" '[ "$(head -c 8 "$work/r/ppl_vs_alpha.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
check "ppl_vs_alpha.svg is an SVG" 'grep -q "<svg" "$work/r/ppl_vs_alpha.svg"'
check "acc_vs_alpha.png exists with zero-shot results" '[ -s "$work/r/acc_vs_alpha.png" ]'
check "pruned models deleted without --keep-models" '[ ! -d "$work/r/models" ]'
check "zero-shot with BOS by default" 'grep -q "\"bos\": true" "$work/r/dense/zeroshot.json"'
check "summary.md states the model and the protocol" 'grep -q "^- model: .*/model$" "$work/r/summary.md" &&
  grep -q "^- calibration: .*text.txt, 4 × 32 tokens, .*seed 0$" "$work/r/summary.md" &&
  grep -q "^- evaluation: perplexity on .*text.txt, 32-token windows, the full text, BOS once" "$work/r/summary.md" &&
  grep -q "^- zero-shot: accuracy in percent, BOS before each context" "$work/r/summary.md"'
check "summary.md: dense, then EN by geometry and α" '[ "$(grep "^| " "$work/r/summary.md" | tail -n +2 | cut -d"|" -f2-4 | tr -d " " | tr "\n" " ")" = \
  "dense||– en|modified|0 en|modified|0.5 en|original|0 en|original|0.5 " ]'
check "summary.html: the table and both figures inline, nothing fetched" 'h="$work/r/summary.html"; grep -q "<table>" "$h" &&
  [ "$(grep -c "<svg" "$h")" = 2 ] && ! grep -Eq "(src|href)=\"(https?:)?//" "$h" && ! grep -q "<script" "$h"'
# gnuplot strings single-quoted (no substitution inside), the title's line break a "\n" between two
want_title="set title 'Perplexity vs α'.\"\\n\".'model: calib 4×32, seed 0; eval text.txt, seqlen 32, full text'"
check "the figure: a titled series per geometry and a labelled dense line, model and protocol in the title" '
  gp="$work/r/plot_data/ppl_vs_alpha_png.gp"; [ "$(grep -o "with linespoints" "$gp" | wc -l)" = 2 ] &&
  grep -q "title .en modified @ 50%." "$gp" && grep -q "title .dense ([0-9.]*)." "$gp" && grep -qxF "$want_title" "$gp"'
check "no colour repeats between methods' series" '[ "$(grep -o "lc rgb .#[0-9A-F]*." "$work/r/plot_data/ppl_vs_alpha_png.gp" | sort -u | wc -l)" = 2 ]'

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

# runtime-only flags may change between runs of one directory; they reach the commands
"${sweep[@]}" --out "$work/r" --eval-args "--threads 1" --prune-args "--threads 1 -v" --zeroshot-args "--batch-size 2" > "$work/log2d" 2>&1
rc=$?
check "a rerun with other runtime-only flags is accepted and prunes nothing" '[ $rc = 0 ] && [ "$(grep -c "pruning" "$work/log2d")" = 0 ]'

# a failing cell (sparsity 1 is refused) is logged with its reason, the rest go on, and the sweep exits 1
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --alphas 0.5 --geometries modified --sparsities 1,0.5 --nsamples 4 --seqlen 32 --eval-seqlen 32 --out "$work/f" \
  --eval-args "--threads 1" > "$work/log3" 2>&1
rc3=$?
check "failed cell logged with its error and log, other cell done, exit 1" '[ $rc3 = 1 ] &&
  grep -q "en-modified-a0.5-s1-seed0 failed: enwanda: error: .*sparsity.* (log: .*/cells/en-modified-a0.5-s1-seed0/log.txt)" "$work/f/failed.log" &&
  [ -f "$work/f/cells/en-modified-a0.5-s0.5-seed0.json" ] && grep -q "FAILED: enwanda: error:" "$work/log3"'
check "--eval-args reach eval ppl" 'grep -q "\"threads\": 1" "$work/f/dense/ppl.json"'

# --no-sequential: statistics gathered once, loaded by every cell
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --alphas 0,1 --geometries modified --no-sequential --nsamples 4 --seqlen 32 --eval-seqlen 32 --out "$work/n" \
  --zeroshot "mc=$work/mc.jsonl" --zeroshot-args "--no-bos --limit 3" > "$work/log4" 2>&1
check "--no-sequential cells load the shared statistics" '[ -f "$work/n/stats-seed0.safetensors" ] && grep -q "\"load_stats\": \".*stats-seed0.safetensors\"" "$work/n/cells/en-modified-a1-s0.5-seed0/enwanda_report.json"'
check "--zeroshot-args reach eval zeroshot" '"$PY" -c "import json; d=json.load(open(\"$work/n/dense/zeroshot.json\")); assert d[\"bos\"] is False and d[\"tasks\"][\"mc\"][\"n\"] == 3"'

# a study's table: several methods, each uniform and with OWL, in one sweep
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --methods magnitude,sparsegpt,ria,en --allocations uniform,owl --alphas 0.5 --geometries modified --nsamples 4 \
  --seqlen 32 --eval-seqlen 32 --out "$work/m" > "$work/log5" 2>&1
rc5=$?
check "methods x allocations sweep exits 0 with 8 cells" '[ $rc5 = 0 ] && [ "$(tail -n +2 "$work/m/results.csv" | wc -l)" = 9 ]'
check "a row per method and allocation" 'for m in magnitude sparsegpt ria; do for a in uniform owl; do
    grep -q "^$m,,,0.5,$a,unstructured,0," "$work/m/results.csv" || exit 1; done; done; grep -q "^en,modified,0.5,0.5,owl," "$work/m/results.csv"'
check "each cell pruned with its method and allocation" 'r="$work/m/cells/sparsegpt-owl-s0.5-seed0/enwanda_report.json";
  grep -q "\"method\": \"sparsegpt\"" "$r" && grep -q "\"allocation\": \"owl\"" "$r"'
check "summary.md names the allocation" 'grep -q "^| ria |  | – | unstructured | 0.5 | owl |" "$work/m/summary.md"'
check "rows: dense, baselines, EN, uniform before OWL" '[ "$(grep "^| " "$work/m/summary.md" | tail -n +2 | cut -d"|" -f2,7 | tr -d " " | tr "\n" " ")" = \
  "dense|– magnitude|uniform sparsegpt|uniform ria|uniform en|uniform magnitude|owl sparsegpt|owl ria|owl en|owl " ]'
check "a colour per method, a dash per allocation" 'gp="$work/m/plot_data/ppl_vs_alpha_png.gp";
  [ "$(grep -o "lc rgb .#[0-9A-F]*." "$gp" | sort -u | wc -l)" = 4 ] && [ "$(grep -o " dt [0-9]" "$gp" | sort -u | wc -l)" = 3 ]'
check "the figure has a line per method" 'grep -q "title .sparsegpt + OWL @ 50%." "$work/m/plot_data/ppl_vs_alpha_png.gp"'
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model m --calib c --eval-data e --out o --methods en,sgpt > "$work/log6" 2>&1
rc6=$?
check "an unknown method in --methods is refused (exit 2)" '[ $rc6 = 2 ] && grep -q "unknown method sgpt" "$work/log6"'

# pass-through flags that would contradict a grid dimension are refused before any work
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --methods wanda --out "$work/pa" --prune-args "--threads 1 --structure 2:4" > "$work/log6b" 2>&1
rc6b=$?
check "--prune-args setting a grid dimension (--structure) is refused (exit 2), nothing made" '[ $rc6b = 2 ] &&
  grep -q "prune-args: --structure is set by the sweep" "$work/log6b" && [ ! -e "$work/pa" ]'

# Ctrl-C (SIGINT) and SIGTERM stop the sweep at once: the running enwanda is stopped, no cell is
# recorded as failed, finished cells stay, and the same command resumes. Python starts the sweep
# with SIGINT at its default (a background job of a script would start with it ignored).
# shellcheck disable=SC2054  # the commas are the sweep's lists
slow=("$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt"
      --methods wanda,dsnot,alps,ria --nsamples 4 --seqlen 32 --eval-seqlen 32)
for sig in INT TERM; do
  "$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    "${slow[@]}" --out "$work/c$sig" > "$work/logc$sig" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -n "$(find "$work/c$sig/cells" -maxdepth 1 -name "*.json" 2> /dev/null)" ] && break; sleep 0.1; done
  sleep 0.3
  kill -s "$sig" "$pid"
  t0=$(date +%s)
  wait "$pid"
  rc=$?
  t1=$(date +%s)
  want=130; [ $sig = TERM ] && want=143
  check "SIG$sig stops the sweep (exit $want) within 10 s, no cell failed, a finished cell kept" '[ $rc = $want ] && [ $((t1 - t0)) -le 10 ] &&
    [ ! -e "$work/c$sig/failed.log" ] && [ -n "$(find "$work/c$sig/cells" -maxdepth 1 -name "*.json")" ] &&
    [ ! -e "$work/c$sig/results.csv" ] && [ -z "$(find "$work/c$sig" -name ".*.tmp-*")" ]' || tail -3 "$work/logc$sig"
done
done_before=$(find "$work/cINT/cells" -maxdepth 1 -name "*.json" | wc -l)
"${slow[@]}" --out "$work/cINT" > "$work/logc" 2>&1
rc=$?
check "the same command resumes: finished cells skipped, the rest done (dsnot, alps among them)" '[ $rc = 0 ] &&
  [ "$(grep -c "skipped" "$work/logc")" = "$done_before" ] && [ "$(tail -n +2 "$work/cINT/results.csv" | wc -l)" = 5 ] &&
  grep -q "^dsnot,,,0.5,uniform,unstructured,0," "$work/cINT/results.csv" && grep -q "^alps,,,0.5," "$work/cINT/results.csv"'

if command -v shellcheck > /dev/null; then
  check "shellcheck scripts/ and .ci/run" 'shellcheck "$SRC"/scripts/*.sh "$SRC/.ci/run"'
else
  echo "skipped shellcheck scripts/ and .ci/run: shellcheck is not installed (scripts/install_deps.sh --with-sweep installs it)"
fi
check "bash -n sweep_slurm.sh" 'bash -n "$SRC/scripts/sweep_slurm.sh"'

# structures and seeds: each seed its own calibration set, mean ± std in the table, a row per seed in the CSV
"$SRC/scripts/sweep_alpha.sh" --enwanda "$ENWANDA" --model "$work/model" --calib "$work/text.txt" --eval-data "$work/text.txt" \
  --methods wanda,en --alphas 0.5 --geometries modified --structures unstructured,2:4 --seeds 0,1 --nsamples 4 \
  --seqlen 32 --eval-seqlen 32 --out "$work/s" > "$work/log7" 2>&1
rc7=$?
check "structures x seeds: 8 runs, a CSV row each" '[ $rc7 = 0 ] && [ "$(tail -n +2 "$work/s/results.csv" | wc -l)" = 9 ] &&
  grep -q "^wanda,,,0.5,uniform,2:4,1," "$work/s/results.csv" && grep -q "^en,modified,0.5,0.5,uniform,unstructured,0," "$work/s/results.csv"'
check "a calibration set per seed, different" '[ -f "$work/s/calib-seed0.npy" ] && [ -f "$work/s/calib-seed1.npy" ] && ! cmp -s "$work/s/calib-seed0.npy" "$work/s/calib-seed1.npy"'
check "2:4 cells pruned as 2:4" 'grep -q "\"structure\": \"2:4\"" "$work/s/cells/wanda-2of4-seed1/enwanda_report.json"'
check "the table: one row per cell, mean ± std, structure named, seeds in the header" '
  [ "$(grep "^| " "$work/s/summary.md" | tail -n +2 | cut -d"|" -f2,5 | tr -d " " | tr "\n" " ")" = "dense|– wanda|unstructured en|unstructured wanda|2:4 en|2:4 " ] &&
  grep -q "^| wanda |  | – | 2:4 | 0.5 | uniform | [0-9.]* ± [0-9.]* |$" "$work/s/summary.md" && grep -q "seeds 0,1 (a calibration set per seed" "$work/s/summary.md"'
check "the mean is the seeds' mean" '"$PY" - "$work/s" <<'"'"'PYEOF'"'"'
import csv, re, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/results.csv")) if r["method"] == "wanda" and r["structure"] == "2:4"]
mean = sum(float(r["ppl"]) for r in rows) / len(rows)
line = next(l for l in open(sys.argv[1] + "/summary.md") if l.startswith("| wanda |  | – | 2:4 |"))
assert abs(float(re.search(r"\| ([0-9.]+) ±", line).group(1)) - mean) < 1e-3 * mean, (line, mean)
PYEOF'
check "the figure tells 2:4 from unstructured by dash" '[ "$(grep -o " dt [0-9]" "$work/s/plot_data/ppl_vs_alpha_png.gp" | sort -u | wc -l)" = 3 ]'
finish
