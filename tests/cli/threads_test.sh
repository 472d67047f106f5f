#!/usr/bin/env bash
# Threads: --threads wins, else $OMP_NUM_THREADS, else the cores available; the count is logged
# and recorded (eval ppl's JSON, zero-shot's JSON, the prune report); more than 4x the hardware
# threads (or 1024) is refused before any work, and a bad OMP_NUM_THREADS is ignored with a warning.
set -uo pipefail
ENWANDA=${1:?usage: threads_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

"$ENWANDA" synth --shape tiny --seed 3 --out "$work/model" -q
text="$SRC/data/tokenizer_corpus.txt"
threads_of() { "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['settings']['threads'])" "$1"; }
ppl() { "$ENWANDA" eval ppl --model "$work/model" --data "$text" --seqlen 32 --json "$work/$1.json" --overwrite "${@:2}"; }

log=$(OMP_NUM_THREADS=1 ppl omp1 2>&1)
check "OMP_NUM_THREADS=1 gives one thread, logged and recorded" '[ "$(threads_of "$work/omp1.json")" = 1 ] && [[ $log = *"cpu, Float, 1 threads"* ]]'
OMP_NUM_THREADS=3 ppl omp3 -q > /dev/null 2>&1
check "OMP_NUM_THREADS=3 gives three" '[ "$(threads_of "$work/omp3.json")" = 3 ]'
OMP_NUM_THREADS=3 ppl flag2 -q --threads 2 > /dev/null 2>&1
check "--threads wins over OMP_NUM_THREADS" '[ "$(threads_of "$work/flag2.json")" = 2 ]'
log=$(OMP_NUM_THREADS=lots ppl bad 2>&1)
rc=$?
check "a bad OMP_NUM_THREADS is ignored with a warning" '[ $rc = 0 ] && [[ $log = *"OMP_NUM_THREADS=lots is not a positive number; ignored"* ]]'
cores=$(nproc)
log=$(unset OMP_NUM_THREADS; ppl default 2>&1)
check "no --threads, no OMP_NUM_THREADS: the cores available ($cores), or 1 on busy cores, saying so" \
  'n=$(threads_of "$work/default.json"); [ "$n" = "$cores" ] || { [ "$n" = 1 ] && [[ $log = *"cores are busy (load average"* ]]; }'

hardware=$(getconf _NPROCESSORS_ONLN)
limit=$((4 * hardware)); [ $limit -gt 1024 ] && limit=1024
err=$(ppl over -q --threads $((limit + 1)) 2>&1)
rc=$?
check "--threads $((limit + 1)) (over 4x the $hardware hardware threads) refused, exit 2" \
  '[ $rc = 2 ] && [[ $err = *"--threads $((limit + 1)) is more than $limit"* ]] && [ ! -e "$work/over.json" ]'
ppl at_limit -q --threads "$limit" > /dev/null 2>&1
check "--threads $limit (the limit) runs" '[ "$(threads_of "$work/at_limit.json")" = "$limit" ]'
err=$(OMP_NUM_THREADS=100000 ppl omp_over -q 2>&1)
check "OMP_NUM_THREADS over the limit is capped, with a warning" \
  '[ "$(threads_of "$work/omp_over.json")" = "$limit" ] && [[ $err = *"OMP_NUM_THREADS=100000 is more than $limit"* ]]'
err=$("$ENWANDA" prune --model "$work/model" --calib "$text" --nsamples 2 --seqlen 16 --threads 100000 --out "$work/p" -q 2>&1)
rc=$?
check "prune --threads 100000 refused before any work" '[ $rc = 2 ] && [[ $err = *"--threads 100000 is more than"* ]] && [ ! -e "$work/p" ]'

OMP_NUM_THREADS=1 "$ENWANDA" prune --model "$work/model" --calib "$text" --nsamples 2 --seqlen 16 --out "$work/p1" -q
check "the prune report records the threads used" 'grep -q "\"threads\": 1," "$work/p1/enwanda_report.json"'
finish
