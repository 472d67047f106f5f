#!/usr/bin/env bash
# What a run records, and the calibration protocol it follows. The report holds absolute paths of
# the model, the output and every calibration file (with its size and sha256); `inspect` prints a
# command that reproduces the run: run again, it writes the same weights byte for byte, for flag
# sets that touch every family of options. --calib-sampling documents draws each window inside one
# JSON-lines record longer than seqlen (Wanda's C4 protocol). -v gives each linear's cut and each
# layer's phase times.
set -uo pipefail
ENWANDA=$(realpath "${1:?usage: provenance_test.sh path/to/enwanda}")
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
cd "$work" || exit 1
"$ENWANDA" synth --shape tiny --layers 3 --seed 8 --out model -q
mkdir docs
"$PY" - "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt" <<'PYEOF'
import json, sys
# each document repeats its own word, so a window that spans two documents is told apart
words = sorted({w for w in open(sys.argv[1], encoding="utf-8").read().split() if w.isalpha() and len(w) >= 4})
# documents of many lengths: some shorter than any window (never drawn), some long
with open("docs/a.jsonl", "w") as f:
    for d in range(40):
        n = 4 if d % 3 == 0 else 8 + 3 * d
        f.write(json.dumps({"text": " ".join([words[d]] * n), "id": d}) + "\n")
with open("docs/b.jsonl", "w") as f:
    for d in range(10):
        f.write(json.dumps({"text": " ".join([words[40 + d]] * 60)}) + "\n")
with open("short.jsonl", "w") as f:
    for d in range(5):
        f.write(json.dumps({"text": "a few words"}) + "\n")
PYEOF
field() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

# the report's paths and files
"$ENWANDA" prune --model model --calib docs --nsamples 4 --seqlen 32 --out out1 -q
check "settings.model and settings.out are absolute" \
  "[ \"\$(field out1/enwanda_report.json \"r['settings']['model']\")\" = '$work/model' ] && [ \"\$(field out1/enwanda_report.json \"r['settings']['out']\")\" = '$work/out1' ]"
want_files=$(for f in docs/a.jsonl docs/b.jsonl; do echo "$work/$f $(stat -c %s "$f") $(sha256sum "$f" | cut -c1-64)"; done)
got_files=$(field out1/enwanda_report.json "'\\n'.join(f\"{x['path']} {x['bytes']} {x['sha256']}\" for x in r['settings']['calibration']['files'])")
check "each calibration file of a directory: absolute path, size, sha256" "[ \"\$got_files\" = \"\$want_files\" ]"
"$ENWANDA" calib --model model --calib docs --nsamples 4 --seqlen 32 --out calib.npy -q
"$ENWANDA" prune --model model --calib-tokens calib.npy --out out2 -q
check "--calib-tokens: its path, size and sha256" \
  "[ \"\$(field out2/enwanda_report.json \"r['settings']['calibration']['files'][0]['sha256']\")\" = \"\$(sha256sum calib.npy | cut -c1-64)\" ]"

# the reproducing command, run again
reproduces() {  # name, prune flags...
  local name=$1; shift
  rm -rf "run-$name" "again-$name"
  "$ENWANDA" prune --model model --out "run-$name" -q "$@" 2> stderr || { echo "     prune failed: $(cat stderr)"; return 1; }
  local cmd; cmd=$("$ENWANDA" inspect "run-$name" | sed -n 's/^pruned by: //p')
  echo "     $cmd"
  [ "$cmd" = "$(field "run-$name/enwanda_report.json" "r['reproduce']")" ] || return 1
  cmd=${cmd/--out $work\/run-$name/--out $work/again-$name}
  eval "${cmd/enwanda /\"\$ENWANDA\" } -q" || return 1
  cmp -s "run-$name/model.safetensors" "again-$name/model.safetensors"
}
check "wanda++ with RO settings, documents sampling and a seed: reproduced byte for byte" \
  "reproduces rgs --method wanda++ --ro-iters 2 --ro-samples 3 --ro-lr 1e-6 --rgs-scale 40 --calib docs --calib-sampling documents --nsamples 6 --seqlen 24 --seed 5"
check "sparsegpt with OWL, its own flags and tokens-normed statistics: reproduced" \
  "reproduces sgpt --method sparsegpt --sparsegpt-damp 0.05 --sparsegpt-block 16 --allocation owl --owl-lambda 0.1 --owl-m 3 --sparsity 0.6 --calib docs/b.jsonl --nsamples 4 --seqlen 40 --calib-mult 2"
check "en original geometry, 2:4, no sequential, stat-norm tokens from --calib-tokens: reproduced" \
  "reproduces en --geometry original --alpha 0.3 --structure 2:4 --no-sequential --stat-norm tokens --calib-tokens calib.npy"
check "the reproducing command never carries --overwrite" "! grep -q -- --overwrite run-*/enwanda_report.json"

# --calib-sampling documents: each window lies inside one record (BOS included) longer than seqlen
"$ENWANDA" calib --model model --calib docs --calib-sampling documents --nsamples 24 --seqlen 32 --seed 2 --out docs.npy -q
"$ENWANDA" calib --model model --calib docs --nsamples 24 --seqlen 32 --seed 2 --out joined.npy -q
check "documents sampling: every window is a slice of one record's tokens; the joined mode's are not" "'$PY' - <<'PYEOF'
import glob, json, numpy as np, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file='model/tokenizer.model')
docs = [[sp.bos_id()] + sp.encode(json.loads(l)['text']) for f in sorted(glob.glob('docs/*.jsonl')) for l in open(f)]
def inside(row):
    row = list(row)
    return any(len(d) > len(row) and any(d[i:i + len(row)] == row for i in range(len(d) - len(row))) for d in docs)
a, b = np.load('docs.npy'), np.load('joined.npy')
ok_docs = all(inside(r) for r in a)
some_joined_outside = not all(inside(r) for r in b)
bos_rows = sum(int(r[0] == sp.bos_id()) for r in a)
print(f'     documents: {len(a)} windows inside one record ({bos_rows} start at BOS); joined: some span records: {some_joined_outside}')
raise SystemExit(0 if ok_docs and some_joined_outside else 1)
PYEOF"
"$ENWANDA" calib --model model --calib docs --calib-sampling documents --nsamples 24 --seqlen 32 --seed 3 --out docs3.npy -q
check "documents sampling follows the seed" "! cmp -s docs.npy docs3.npy"
"$ENWANDA" prune --model model --calib docs --calib-sampling documents --nsamples 4 --seqlen 32 --out out3 -q
check "the report records the sampling mode" "[ \"\$(field out3/enwanda_report.json \"r['settings']['calibration']['sampling']\")\" = documents ]"
"$ENWANDA" calib --model model --calib short.jsonl --calib-sampling documents --nsamples 2 --seqlen 32 --out x.npy 2> stderr; rc=$?
check "no record longer than seqlen: refused (exit 3), saying so" "[ $rc = 3 ] && grep -q 'none of its 5 documents has more than 32 tokens' stderr && [ ! -e x.npy ]"
cat "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt" > plain.txt
"$ENWANDA" prune --model model --calib plain.txt --calib-sampling documents --out x 2> stderr; rc=$?
check "documents sampling of plain text: refused (exit 3), naming the file" "[ $rc = 3 ] && grep -q 'plain.txt: --calib-sampling documents draws JSON-lines records' stderr && [ ! -e x ]"
"$ENWANDA" prune --model model --calib-tokens calib.npy --calib-sampling documents --out x 2> stderr; rc=$?
check "--calib-sampling with --calib-tokens: refused (exit 2)" "[ $rc = 2 ] && grep -q 'applies to --calib text' stderr"
"$ENWANDA" prune --model model --calib docs --calib-sampling books --out x 2> stderr; rc=$?
check "an unknown sampling mode: refused (exit 2)" "[ $rc = 2 ] && grep -q 'must be windows or documents' stderr"

# -v: each linear's cut and each layer's phase times
"$ENWANDA" prune --model model --calib-tokens calib.npy --out outv -v 2> verbose.log
check "-v: a line per linear with its sparsity and magnitude cut" \
  "[ \"\$(grep -c 'layer [0-9] [a-z_.]*_proj: sparsity 0.5000, largest |w| pruned [0-9.e-]*, smallest |w| kept' verbose.log)\" = 21 ]"
check "-v: a line per layer with its phase times" \
  "[ \"\$(grep -c 'achieved 0.5000; seconds: load [0-9.]*, statistics [0-9.]*, pruning [0-9.]*, writing [0-9.]*, next inputs' verbose.log)\" = 3 ]"
finish
