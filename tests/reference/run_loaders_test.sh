#!/usr/bin/env bash
# The papers' calibration and evaluation tokens (tests/reference/loaders.py: locuslab/wanda's get_c4 and
# get_wikitext2 with Python's own random, HF datasets' wikitext rows, special-token literals split as
# transformers' slow LlamaTokenizer splits them): on a C4-like .json.gz and a WikiText-like text that
# loaders.py makes, `enwanda calib --out` windows and `enwanda tokenize` ids equal the reference's
# element for element (seeds 0, 1, 2^40; seqlen 64 and 512), and `eval ppl --rows hf` gives the
# reference's windows and perplexity within 1e-6; tokenizer_config.json's legacy=false and
# add_prefix_space=false encode as transformers' LlamaTokenizer does.
set -uo pipefail
ENWANDA=${1:?usage: run_loaders_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
HERE="$(cd "$(dirname "$0")" && pwd)"
LOADERS="$HERE/loaders.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

same_npy() {  # label a.npy b.npy: equal shapes and elements
  if out=$("$PY" - "$2" "$3" <<'PYEOF'
import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print(f"{a.shape[0]} x {a.shape[1]}" if a.ndim == 2 else str(a.shape))
sys.exit(0 if a.shape == b.shape and (a == b).all() else 1)
PYEOF
  ); then ok "$1: $out windows equal"; else bad "$1: enwanda's windows differ from the reference's ($out)"; fi
}

"$ENWANDA" synth --shape tiny --seed 3 --out "$work/model" -q || { echo "FAIL synth"; exit 1; }
"$PY" "$LOADERS" make-data --model "$work/model" --out "$work/data" || { echo "FAIL make-data"; exit 1; }
c4=$work/data/c4-train.00000-of-01024.json.gz
wiki=$work/data/wiki.test.raw

for seqlen in 64 512; do
  for seed in 0 1 1099511627776; do
    for loader in "documents $c4 file" "windows $wiki hf" "windows $wiki file"; do
      read -r sampling data rows <<< "$loader"
      flags=(--calib "$data" --nsamples 8 --seqlen "$seqlen" --seed "$seed")
      label="calib $sampling --rows $rows seqlen $seqlen seed $seed"
      if ! "$ENWANDA" calib --model "$work/model" "${flags[@]}" --calib-sampling "$sampling" --rows "$rows" \
          --out "$work/e.npy" --overwrite -q 2> "$work/err"; then
        bad "$label: enwanda calib failed: $(tail -1 "$work/err")"; continue
      fi
      "$PY" "$LOADERS" calib --model "$work/model" "${flags[@]}" --sampling "$sampling" --rows "$rows" --out "$work/r.npy"
      same_npy "$label" "$work/e.npy" "$work/r.npy"
    done
  done
done

# a model whose only tokenizer is a tokenizer.json: the reference encodes through HF tokenizers' Node binding
# shellcheck source=tests/tokenizer/node_tokenizers.sh
. "$HERE/../tokenizer/node_tokenizers.sh" || exit 1
"$ENWANDA" synth --shape smollm2-135m --layers 1 --dtype bf16 --seed 1 --out "$work/hf" -q || { echo "FAIL synth smollm2"; exit 1; }
for loader in "documents $c4 file" "windows $wiki hf"; do
  read -r sampling data rows <<< "$loader"
  flags=(--calib "$data" --nsamples 4 --seqlen 64 --seed 1 --rows "$rows")
  label="tokenizer.json model: calib $sampling --rows $rows"
  if "$ENWANDA" calib --model "$work/hf" "${flags[@]}" --calib-sampling "$sampling" --out "$work/e.npy" --overwrite -q 2> "$work/err"; then
    "$PY" "$LOADERS" calib --model "$work/hf" "${flags[@]}" --sampling "$sampling" --out "$work/r.npy"
    same_npy "$label" "$work/e.npy" "$work/r.npy"
  else bad "$label: enwanda calib failed: $(tail -1 "$work/err")"; fi
done

for rows in hf file; do
  for split in "" --split-special-tokens; do
    want=$("$PY" "$LOADERS" tokenize --model "$work/model" --text "$wiki" --rows "$rows" $split)
    got=$("$ENWANDA" tokenize --model "$work/model" --text "$wiki" --rows "$rows" $split -q)
    n=$(wc -w <<< "$want")
    if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "tokenize --rows $rows $split: $n ids equal"
    else bad "tokenize --rows $rows $split: ids differ ($n in the reference, $(wc -w <<< "$got") from enwanda)"; fi
  done
done
# the literals are really there, and matched: with and without --split-special-tokens the ids differ
a=$("$ENWANDA" tokenize --model "$work/model" --text "$wiki" --rows hf -q)
b=$("$ENWANDA" tokenize --model "$work/model" --text "$wiki" --rows hf --split-special-tokens -q)
if [ "$a" != "$b" ]; then ok "special-token literals change the ids"; else bad "--split-special-tokens changed nothing"; fi
log=$("$ENWANDA" tokenize --model "$work/model" --text "$wiki" --rows hf 2>&1 > /dev/null)
if [[ "$log" == *"special-token literal(s) in the text"* ]]; then ok "literal count logged: ${log##*] }"
else bad "no log line counting the literals: $log"; fi

# tokenizer_config.json's legacy=false (and add_prefix_space=false): sentencepiece without its dummy
# prefix, as transformers' LlamaTokenizer; literals glued to words, "▁" in the text, leading spaces
printf '<s>Hello world</s>next <unk>x \xe2\x96\x81odd  two  spaces\n<unk>\n y<unk>' > "$work/tricky.txt"
cat "$wiki" >> "$work/tricky.txt"
for config in '{"legacy": false}' '{"legacy": false, "add_prefix_space": false}' '{"legacy": null}'; do
  rm -rf "$work/m2"; cp -r "$work/model" "$work/m2"; printf '%s' "$config" > "$work/m2/tokenizer_config.json"
  for split in "" --split-special-tokens; do
    want=$("$PY" "$LOADERS" tokenize --model "$work/m2" --text "$work/tricky.txt" $split)
    got=$("$ENWANDA" tokenize --model "$work/m2" --text "$work/tricky.txt" $split -q)
    if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "tokenizer_config $config $split: $(wc -w <<< "$want") ids equal"
    else bad "tokenizer_config $config $split: ids differ from the reference's"; fi
  done
done
legacy=$("$ENWANDA" tokenize --model "$work/model" --text "$work/tricky.txt" -q)
printf '{"legacy": false}' > "$work/m2/tokenizer_config.json"
modern=$("$ENWANDA" tokenize --model "$work/m2" --text "$work/tricky.txt" -q)
if [ "$legacy" != "$modern" ]; then ok "legacy=false changes the ids"; else bad "legacy=false changed nothing"; fi
printf '{"legacy": "no"}' > "$work/m2/tokenizer_config.json"
if err=$("$ENWANDA" tokenize --model "$work/m2" --text "$work/tricky.txt" -q 2>&1 >/dev/null); then bad "legacy \"no\" accepted"
elif [[ "$err" == *tokenizer_config.json*legacy* ]]; then ok "legacy \"no\" refused: $err"
else bad "legacy \"no\": unclear error: $err"; fi

for seqlen in 64 512; do
  "$ENWANDA" eval ppl --model "$work/model" --data "$wiki" --rows hf --seqlen "$seqlen" --json "$work/ppl.json" --overwrite -q > /dev/null
  "$PY" "$LOADERS" windows --model "$work/model" --text "$wiki" --rows hf --seqlen "$seqlen" --out "$work/w.npy"
  ref=$("$PY" "$HERE/reference.py" ppl --model "$work/model" --tokens "$work/w.npy")
  if out=$("$PY" - "$work/ppl.json" "$work/w.npy" "$ref" <<'PYEOF'
import json, sys
import numpy as np
r = json.load(open(sys.argv[1])); w = np.load(sys.argv[2]); ref = float(sys.argv[3])
print(f"{r['windows']} windows (reference {w.shape[0]}): enwanda {r['ppl']:.10f}, reference {ref:.10f}")
sys.exit(0 if r["windows"] == w.shape[0] and abs(r["ppl"] - ref) <= 1e-6 * ref else 1)
PYEOF
  ); then ok "eval ppl --rows hf seqlen $seqlen: $out"; else bad "eval ppl --rows hf seqlen $seqlen: $out"; fi
done

# --protocol wanda: get_c4 with seed 0 and --seqlen max (the tiny config's 512); --nsamples given overrides the preset's 128
if "$ENWANDA" calib --model "$work/model" --calib "$c4" --protocol wanda --nsamples 4 --out "$work/e.npy" --overwrite -q; then
  "$PY" "$LOADERS" calib --model "$work/model" --calib "$c4" --sampling documents --nsamples 4 --seqlen 512 --seed 0 --out "$work/r.npy"
  same_npy "calib --protocol wanda" "$work/e.npy" "$work/r.npy"
else bad "calib --protocol wanda failed"; fi
"$ENWANDA" eval ppl --model "$work/model" --data "$wiki" --protocol wanda --json "$work/pw.json" --overwrite -q > /dev/null
if out=$("$PY" - "$work/pw.json" "$wiki" <<'PYEOF'
import hashlib, json, os, sys
r = json.load(open(sys.argv[1])); s = r["settings"]; f = s["files"][0]
want = {"protocol": "wanda", "rows": "hf", "seqlen": 512}
got = {k: s[k] for k in want}
print(got, f["path"], f["bytes"])
sys.exit(0 if got == want and len(s["files"]) == 1 and f["path"] == os.path.abspath(sys.argv[2])
         and f["bytes"] == os.path.getsize(sys.argv[2])
         and f["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest() else 1)
PYEOF
); then ok "eval ppl --protocol wanda: $out"; else bad "eval ppl --protocol wanda JSON: $out"; fi
# --protocol sparsegpt: get_c4 with seed 0 (the preset's seqlen 2048 overridden: the tiny model's records are short)
if "$ENWANDA" calib --model "$work/model" --calib "$c4" --protocol sparsegpt --nsamples 4 --seqlen 64 --out "$work/e.npy" --overwrite -q; then
  "$PY" "$LOADERS" calib --model "$work/model" --calib "$c4" --sampling documents --nsamples 4 --seqlen 64 --seed 0 --out "$work/r.npy"
  same_npy "calib --protocol sparsegpt" "$work/e.npy" "$work/r.npy"
else bad "calib --protocol sparsegpt failed"; fi
"$ENWANDA" eval ppl --model "$work/model" --data "$wiki" --protocol sparsegpt --json "$work/ps.json" --overwrite -q > /dev/null 2>&1
if out=$("$PY" -c "import json,sys; s=json.load(open(sys.argv[1]))['settings']; g={k: s[k] for k in ('protocol','rows','seqlen')}; print(g); sys.exit(g != {'protocol': 'sparsegpt', 'rows': 'hf', 'seqlen': 2048})" "$work/ps.json" 2>&1)
then ok "eval ppl --protocol sparsegpt: $out"; else bad "eval ppl --protocol sparsegpt JSON: $out"; fi
# sparsegpt's C4 validation text: " ".join of the first 1100 records, cut to 256 x seqlen ids
"$ENWANDA" eval ppl --model "$work/model" --data "$c4" --c4-validation --seqlen 64 --json "$work/pc.json" --overwrite -q > /dev/null
"$PY" "$LOADERS" windows --model "$work/model" --text "$c4" --c4-validation --seqlen 64 --out "$work/w.npy"
ref=$("$PY" "$HERE/reference.py" ppl --model "$work/model" --tokens "$work/w.npy")
if out=$("$PY" - "$work/pc.json" "$work/w.npy" "$ref" <<'PYEOF'
import json, sys
import numpy as np
r = json.load(open(sys.argv[1])); w = np.load(sys.argv[2]); ref = float(sys.argv[3])
print(f"{r['windows']} windows (reference {w.shape[0]}): enwanda {r['ppl']:.10f}, reference {ref:.10f}")
sys.exit(0 if r["windows"] == w.shape[0] and abs(r["ppl"] - ref) <= 1e-6 * ref else 1)
PYEOF
); then ok "eval ppl --c4-validation: $out"; else bad "eval ppl --c4-validation: $out"; fi

[ $fail = 0 ] && echo "loaders agreement: all checks passed" || echo "loaders agreement: FAILURES"
exit $fail
