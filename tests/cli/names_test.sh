#!/usr/bin/env bash
# A name is never code: model, data, output and label names holding $(), backquotes, ;, ', ", a
# line break and a leading "-" go through prune, eval ppl, report, scripts/sweep_alpha.sh and the
# job script scripts/sweep_slurm.sh writes (run here by hand, sbatch faked), and nothing they hold
# runs: the marker files the names would create never appear. The sweep's JSON files stay valid.
set -uo pipefail
ENWANDA=${1:?usage: names_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

cd "$work" || exit 1
# every command below runs in $work: a name that ran as code would leave a file named PWNED... here
# shellcheck disable=SC2016  # the $() and backquotes are meant literally: they must never run
hostile='-x$(touch PWNED1)`touch PWNED2`;touch PWNED3;'"'"'q"d'$'\n''e'
no_marker() { [ -z "$(find "$work" -name 'PWNED*' -print -quit)" ]; }

m="$work/$hostile model" data="$work/$hostile text.txt"
"$ENWANDA" synth --shape tiny --seed 3 --out "$work/plain" -q && mv "$work/plain" "$m"
for _ in 1 2 3; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$data"
check "synth writes a model under a hostile name" '[ -f "$m/config.json" ] && no_marker'

"$ENWANDA" prune --model "$m" --method wanda --sparsity 0.5 --calib "$data" --calib-sampling windows --nsamples 2 --seqlen 16 \
  --out "$work/$hostile pruned" -q > "$work/prune.log" 2>&1
rc=$?
check "prune with hostile model, data and output names: done, nothing ran" '[ $rc = 0 ] && [ -f "$work/$hostile pruned/config.json" ] && no_marker' ||
  tail -3 "$work/prune.log"
# a leading "-" given relative to the working directory, as --flag=VALUE
"$ENWANDA" eval ppl "--model=$hostile model" "--data=$hostile text.txt" --seqlen 16 --slices 2 "--json=$hostile ppl.json" -q \
  > "$work/ppl.log" 2>&1
rc=$?
check "eval ppl with names that start with - (as --flag=VALUE): done, nothing ran" '[ $rc = 0 ] && jq -e .ppl "$work/$hostile ppl.json" > /dev/null && no_marker' ||
  tail -3 "$work/ppl.log"

# the sweep: every name hostile, the zero-shot data too
mc="$work/$hostile mc.jsonl"
for i in 0 1 2; do printf '{"context": "The river rose. Did it rise? Answer:", "choices": ["no", "yes"], "label": %d}\n' $((i % 2)); done > "$mc"
mkdir -p "$work/bin"
# shellcheck disable=SC2054  # commas separate the sweep's list values
sweep=(--enwanda "$ENWANDA" --model "$hostile model" --calib "$hostile text.txt" --eval-data "$hostile text.txt"
       --methods wanda --nsamples 2 --seqlen 16 --eval-seqlen 16 --slices 2 --zeroshot "mc=$hostile mc.jsonl")
"$SRC/scripts/sweep_alpha.sh" "${sweep[@]}" --out "$hostile sweep" > "$work/sweep.log" 2>&1
rc=$?
r="$work/$hostile sweep"
check "sweep_alpha.sh with hostile names (relative, leading -): exit 0, nothing ran" '[ $rc = 0 ] && no_marker' || tail -5 "$work/sweep.log"
check "sweep.json, settings.json and the cell's JSON are valid and hold the names as they are" '
  [ "$(jq -r .model "$r/sweep.json")" = "$work/$hostile model" ] && [ "$(jq -r .calib "$r/settings.json")" = "$data" ] &&
  [ "$(jq -r .method "$r/cells/wanda-s0.5-seed0.json")" = wanda ]'
check "the figure: PNG drawn, the model name a single-quoted gnuplot string" '
  [ "$(head -c 8 "$r/ppl_vs_alpha.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] &&
  grep -qF "'"'"''"'"'q\"d'"'"'.\"\\n\".'"'"'e model" "$r/plot_data/ppl_vs_alpha_png.gp"'
"$ENWANDA" report "--title=$hostile" --no-figures -q -- "$hostile sweep" > "$work/report.log" 2>&1  # a leading -: after --
rc=$?
check "report with a hostile directory (after --) and --title (its line break a space): done, nothing ran" '[ $rc = 0 ] &&
  grep -qxF "# ${hostile//$'"'"'\n'"'"'/ }" "$r/summary.md" && no_marker' ||
  tail -3 "$work/report.log"
"$ENWANDA" report "$r" "--title=$hostile" -q > "$work/report2.log" 2>&1
rc=$?
check "report with figures, hostile title and directory: done, nothing ran" '[ $rc = 0 ] && [ -s "$r/ppl_vs_alpha.svg" ] && no_marker' ||
  tail -3 "$work/report2.log"

# the Slurm wrapper: sbatch faked (it records its arguments), the job script run by hand as Slurm would
cat > "$work/bin/sbatch" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$@" >> "$SBATCH_LOG"
echo $((1000 + $(grep -c -- --parsable "$SBATCH_LOG")))
EOF
chmod +x "$work/bin/sbatch"
export SBATCH_LOG=$work/sbatch.log
PATH="$work/bin:$PATH" "$SRC/scripts/sweep_slurm.sh" --gpus-per-task 0 -- "${sweep[@]}" --out "$hostile slurm" > "$work/slurm.log" 2>&1
rc=$?
job="$work/$hostile slurm/slurm/job.sh"
check "sweep_slurm.sh submits 3 jobs of its job script, nothing ran" '[ $rc = 0 ] && [ "$(grep -c "slurm/job\.sh$" "$SBATCH_LOG")" = 3 ] &&
  [ "$(grep -cxE "prepare|cell|report" "$SBATCH_LOG")" = 3 ] && no_marker' ||
  cat "$work/slurm.log"
check "the job script is clean bash (bash -n, shellcheck)" 'bash -n "$job" && { ! command -v shellcheck > /dev/null || shellcheck -S warning "$job"; }'
(bash "$job" prepare && SLURM_ARRAY_TASK_ID=0 bash "$job" cell && bash "$job" report) > "$work/jobs.log" 2>&1
rc=$?
check "the job script's phases (prepare, cell 0, report) run the sweep, nothing ran" '[ $rc = 0 ] &&
  [ "$(tail -n +2 "$work/$hostile slurm/results.csv" | wc -l)" = 2 ] && no_marker' || tail -5 "$work/jobs.log"
check "a name's code never ran anywhere" 'no_marker'
finish
