#!/usr/bin/env bash
# Nothing enwanda did not write is ever replaced: every command that writes (prune, synth, calib,
# eval --json, --save-stats) refuses (exit 2, one line naming what would have been destroyed)
# before any work, and the files stay byte for byte; --overwrite replaces enwanda's own outputs only.
set -uo pipefail
ENWANDA=${1:?usage: overwrite_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"
sums() { find "$1" -type f -print0 | sort -z | xargs -0 md5sum; }

# refused NAME PATTERN DIR_THAT_MUST_NOT_CHANGE -- ARGS...: exit 2, one error line with PATTERN, DIR unchanged
refused() {
  local name=$1 pattern=$2 keep=$3; shift 4
  local before; before=$(sums "$keep")
  "$ENWANDA" "$@" > "$work/stdout" 2> "$work/stderr"; local rc=$?
  check "$name" '[ $rc = 2 ] && [ "$(grep -vc "^[0-9:]* info " "$work/stderr")" = 1 ] &&
    grep -q "^enwanda: error: " "$work/stderr" && grep -qF -- "$pattern" "$work/stderr" && [ "$before" = "$(sums "$keep")" ] ||
    { echo "     rc $rc: $(cat "$work/stderr")"; false; }'
}

sb=$work/sandbox
mkdir -p "$sb/keep"
echo "my notes" > "$sb/keep/notes.txt"
"$ENWANDA" synth --shape tiny --seed 4 --out "$sb/model" -q
for _ in 1 2 3 4; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$sb/corpus.txt"
"$ENWANDA" calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/calib.npy" -q
check "calib writes enwanda's mark into the .npy header, which numpy still reads" \
  '"$PY" -c "import numpy as np, sys; a = np.load(sys.argv[1]); assert a.shape == (4, 32)" "$sb/calib.npy" &&
   head -c 256 "$sb/calib.npy" > "$work/head" && grep -qa "# enwanda" "$work/head"'
prune=(prune --model "$sb/model" --calib-tokens "$sb/calib.npy")

# directories
refused "--out the directory holding the model, with --overwrite" "holds $sb/model, an input of this run" "$sb" -- \
  "${prune[@]}" --out "$sb" --overwrite
(cd "$sb/keep" && "$ENWANDA" prune --model ../model --calib-tokens ../calib.npy --out . --overwrite > /dev/null 2> "$work/stderr"); rc=$?
check "--out . is the current directory: refused (exit 2), notes kept" \
  '[ $rc = 2 ] && grep -q "is the current directory or one of its parents" "$work/stderr" && [ "$(cat "$sb/keep/notes.txt")" = "my notes" ]'
(cd "$sb/keep" && "$ENWANDA" prune --model ../model --calib-tokens ../calib.npy --out .. --overwrite > /dev/null 2> "$work/stderr"); rc=$?
check "--out .. (a parent of the current directory) refused" '[ $rc = 2 ] && [ "$(cat "$sb/keep/notes.txt")" = "my notes" ]'
refused "--out a directory of someone else's files, with --overwrite" "holds files enwanda did not write (notes.txt)" "$sb" -- \
  "${prune[@]}" --out "$sb/keep" --overwrite
refused "--out inside the model" "(an input of this run) or inside it" "$sb" -- "${prune[@]}" --out "$sb/model/pruned"
mkdir "$sb/calibdir" && cp "$sb/calib.npy" "$sb/calibdir/"
refused "--out the directory holding --calib-tokens" "holds $sb/calibdir/calib.npy, an input of this run" "$sb" -- \
  prune --model "$sb/model" --calib-tokens "$sb/calibdir/calib.npy" --out "$sb/calibdir" --overwrite
refused "--out under a missing directory: named, not created" "the directory $sb/nope/a does not exist" "$sb" -- \
  "${prune[@]}" --out "$sb/nope/a/b"
check "the missing parents were not created" '[ ! -e "$sb/nope" ]'

# enwanda's own output: replaced with --overwrite, refused without; a foreign file in it protects it
"$ENWANDA" "${prune[@]}" --out "$sb/p" -q
check "the report lists the files of the output" '"$PY" -c "
import json, os, sys
d = sys.argv[1]; files = json.load(open(os.path.join(d, \"enwanda_report.json\")))[\"files\"]
assert sorted(files) == sorted(os.listdir(d)), (files, os.listdir(d))" "$sb/p"'
refused "enwanda's output without --overwrite" "already exists; pass --overwrite to replace it" "$sb" -- "${prune[@]}" --out "$sb/p"
"$ENWANDA" "${prune[@]}" --out "$sb/p" --overwrite --sparsity 0.3 -q; rc=$?
check "enwanda's output replaced with --overwrite" '[ $rc = 0 ] && grep -q "\"sparsity\": 0.3" "$sb/p/enwanda_report.json"'
echo "mine" > "$sb/p/README.user"
refused "enwanda's output holding a file the user added" "holds README.user, which enwanda did not write" "$sb" -- \
  "${prune[@]}" --out "$sb/p" --overwrite
"$ENWANDA" synth --shape tiny --seed 5 --out "$sb/s" -q
"$ENWANDA" synth --shape tiny --seed 6 --out "$sb/s" --overwrite -q; rc=$?
check "synth replaces its own output with --overwrite" '[ $rc = 0 ]'
check "a synth checkpoint is not reported as pruned" 'shown=$("$ENWANDA" inspect "$sb/s") && ! grep -q "pruned by: ." <<< "$shown"'
refused "synth over someone else's directory" "holds files enwanda did not write" "$sb" -- \
  synth --shape tiny --out "$sb/keep" --overwrite

# files
echo "not tokens" > "$sb/notes.npy"
refused "calib --out an existing file" "already exists; pass --overwrite" "$sb" -- \
  calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/notes.npy"
refused "calib --out someone else's file, with --overwrite" "exists and enwanda did not write it" "$sb" -- \
  calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/notes.npy" --overwrite
refused "calib --out its own calibration text" "is $sb/corpus.txt, an input of this run" "$sb" -- \
  calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/corpus.txt" --overwrite
"$ENWANDA" calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/calib.npy" --overwrite -q; rc=$?
check "calib replaces its own .npy with --overwrite" '[ $rc = 0 ] && "$PY" -c "import numpy as np, sys; assert np.load(sys.argv[1]).shape == (2, 16)" "$sb/calib.npy"'
"$ENWANDA" calib --model "$sb/model" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/calib.npy" --overwrite -q
echo '{"mine": 1}' > "$sb/keep/r.json"
refused "eval ppl --json over someone else's JSON, with --overwrite" "exists and enwanda did not write it" "$sb" -- \
  eval ppl --model "$sb/model" --data-tokens "$sb/calib.npy" --json "$sb/keep/r.json" --overwrite
refused "eval ppl --json into a missing directory, before the evaluation" "the directory $sb/none does not exist" "$sb" -- \
  eval ppl --model "$sb/model" --data-tokens "$sb/calib.npy" --json "$sb/none/r.json"
check "no result printed before the refusal" '[ ! -s "$work/stdout" ]'
"$ENWANDA" eval ppl --model "$sb/model" --data-tokens "$sb/calib.npy" --json "$sb/r.json" -q > /dev/null
refused "eval ppl --json over its own result without --overwrite" "already exists; pass --overwrite" "$sb" -- \
  eval ppl --model "$sb/model" --data-tokens "$sb/calib.npy" --json "$sb/r.json"
"$ENWANDA" eval ppl --model "$sb/model" --data-tokens "$sb/calib.npy" --json "$sb/r.json" --overwrite -q > /dev/null; rc=$?
check "eval ppl --json replaces its own result with --overwrite" '[ $rc = 0 ] && grep -q "\"enwanda_version\"" "$sb/r.json"'
refused "--save-stats over the calibration tokens" "is $sb/calib.npy, an input of this run" "$sb" -- \
  "${prune[@]}" --out "$sb/q" --no-sequential --save-stats "$sb/calib.npy" --overwrite
refused "--save-stats over someone else's file" "exists and enwanda did not write it" "$sb" -- \
  "${prune[@]}" --out "$sb/q" --no-sequential --save-stats "$sb/keep/notes.txt" --overwrite
check "nothing half-written left in the sandbox" '[ -z "$(find "$sb" -name "*.tmp*" -o -name ".*tmp-*")" ] && [ ! -e "$sb/q" ]'
finish
