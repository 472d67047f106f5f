#!/usr/bin/env bash
# Hostile inputs and ways a run ends: no output may be, or lie inside, an input of its run whatever
# mark it carries; the log file is appended to and is never a file of the run; temporaries of dead
# runs are removed; a closed console or stdout is handled; damaged checkpoints, configs, option
# values and foreign calibration tokens are refused before any work.
set -uo pipefail
ENWANDA=${1:?usage: hostile_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"
sums() { find "$1" -type f -print0 | sort -z | xargs -0 md5sum; }

# expect NAME CODE PATTERN DIR_THAT_MUST_NOT_CHANGE -- ARGS...: exit CODE, the error line has PATTERN, DIR unchanged
expect() {
  local name=$1 code=$2 pattern=$3 keep=$4; shift 5
  local before; before=$(sums "$keep")
  "$ENWANDA" "$@" > "$work/stdout" 2> "$work/stderr"; local rc=$?
  check "$name" '[ $rc = "$code" ] && grep -q "^enwanda: error: " "$work/stderr" && grep -qF -- "$pattern" "$work/stderr" &&
    [ "$before" = "$(sums "$keep")" ] || { echo "     rc $rc: $(cat "$work/stderr")"; false; }'
}

sb=$work/sandbox
mkdir -p "$sb"
"$ENWANDA" synth --shape tiny --seed 4 --out "$sb/m" -q
for _ in 1 2 3 4; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$sb/corpus.txt"
"$ENWANDA" calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/calib.npy" -q
"$ENWANDA" prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/P" -q  # an earlier enwanda output

"$ENWANDA" prune --model "$sb/P" --calib-tokens "$sb/calib.npy" --out "$sb/P2" -q 2> /dev/null
check "pruning a pruned model records the chain: the input's own report" \
  '"$PY" -c "import json, sys; r = json.load(open(sys.argv[1])); i = r[\"settings\"][\"input_report\"]; assert i[\"settings\"][\"input_report\"][\"command\"] == \"synth\"; assert \"--out $sb/P \" in i[\"reproduce\"]" "$sb/P2/enwanda_report.json"'
check "reproduce writes every setting, defaults included" \
  '"$PY" -c "import json, sys; r = json.load(open(sys.argv[1])); assert \" --alpha 0.5 --sparsity 0.5 --allocation uniform --seed 0 --stat-norm sequences --sequential --device auto --dtype auto --batch-size 0 --threads 0\" in r[\"reproduce\"], r[\"reproduce\"]" "$sb/P2/enwanda_report.json"'

# 1. outputs inside an input, whatever mark they carry
expect "--save-stats inside the input model, with --overwrite" 2 "an input of this run, or inside it" "$sb" -- \
  prune --model "$sb/P" --calib-tokens "$sb/calib.npy" --out "$sb/Q" --no-sequential --save-stats "$sb/P/model.safetensors" --overwrite
expect "calib --out a shard of its model, with --overwrite" 2 "an input of this run, or inside it" "$sb" -- \
  calib --model "$sb/P" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/P/model.safetensors" --overwrite
expect "eval ppl --json the model's report, with --overwrite" 2 "an input of this run, or inside it" "$sb" -- \
  eval ppl --model "$sb/P" --data-tokens "$sb/calib.npy" --json "$sb/P/enwanda_report.json" --overwrite

# the log file: never a file of the run, appended to, an unwritable one is exit 4 naming it
expect "--log-file the calibration text" 2 "--log-file $sb/corpus.txt is $sb/corpus.txt, a file of this run" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/c2.npy" --log-file "$sb/corpus.txt"
expect "--log-file MODEL/config.json" 2 "a file of this run, or inside it" "$sb" -- \
  eval ppl --model "$sb/m" --data-tokens "$sb/calib.npy" --log-file "$sb/m/config.json"
expect "--log-file in a missing directory: exit 4 naming it" 4 "--log-file $sb/none/run.log: cannot open it for appending" "$sb" -- \
  eval ppl --model "$sb/m" --data-tokens "$sb/calib.npy" --log-file "$sb/none/run.log"
echo "an earlier line" > "$sb/run.log"
for n in 1 2; do
  "$ENWANDA" calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/c$n.npy" --log-file "$sb/run.log" 2> /dev/null
done
check "the log file is appended to, never truncated" \
  '[ "$(head -1 "$sb/run.log")" = "an earlier line" ] && [ "$(grep -c "info wrote $sb/c[12].npy" "$sb/run.log")" = 2 ]'

# shard names in the index: refused before any work
mkdir "$sb/badindex"
cp "$sb/m/"* "$sb/badindex/"
rm "$sb/badindex/enwanda_report.json"
"$PY" - "$sb/badindex" <<'PY'
import json, os, sys
d = sys.argv[1]
os.rename(os.path.join(d, "model.safetensors"), os.path.join(d, "weights.safetensors"))
with open(os.path.join(d, "weights.safetensors"), "rb") as f:
    n = int.from_bytes(f.read(8), "little"); header = json.loads(f.read(n))
names = [k for k in header if k != "__metadata__"]
wm = {k: "weights.safetensors" for k in names}
wm[names[0]] = "enwanda_report.json"
json.dump({"metadata": {}, "weight_map": wm}, open(os.path.join(d, "model.safetensors.index.json"), "w"))
PY
expect "an index naming enwanda_report.json as a shard" 3 "invalid shard file \"enwanda_report.json\"" "$sb/badindex" -- \
  prune --model "$sb/badindex" --calib-tokens "$sb/calib.npy" --out "$sb/bi"
check "no output for the bad index" '[ ! -e "$sb/bi" ] && [ -z "$(find "$sb" -maxdepth 1 -name ".bi.tmp*")" ]'

# 2. temporaries of dead runs are removed with one line; a closed console does not stop the run
sh -c 'exit 0' & wait $!; dead=$!
mkdir "$sb/.p2.tmp-$dead" && echo "half a model" > "$sb/.p2.tmp-$dead/model.safetensors"
"$ENWANDA" prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/p2" 2> "$work/stderr"; rc=$?
check "a dead run's temporary directory is removed, in one line" \
  '[ $rc = 0 ] && [ ! -e "$sb/.p2.tmp-$dead" ] && [ "$(grep -c "removed $sb/.p2.tmp-$dead, left by an enwanda run (process $dead) that is gone" "$work/stderr")" = 1 ]'
"$ENWANDA" prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/p3" --log-file "$sb/p3.log" 2>&1 | true
rc=${PIPESTATUS[0]}
check "a closed console (2>&1 | true): the run completes and the log file goes on" \
  '[ $rc = 0 ] && [ -f "$sb/p3/enwanda_report.json" ] && grep -q "info pruned $sb/m -> $sb/p3" "$sb/p3.log"'
"$ENWANDA" inspect --json "$sb/m" > /dev/full 2> "$work/stderr"; rc=$?
check "inspect --json > /dev/full: exit 4 with the reason" '[ $rc = 4 ] && grep -q "No space left on device" "$work/stderr"'
"$ENWANDA" eval ppl --model "$sb/m" --data-tokens "$sb/calib.npy" -q > /dev/full 2> "$work/stderr"; rc=$?
check "eval ppl > /dev/full: exit 4" '[ $rc = 4 ] && grep -q "standard output: No space left on device" "$work/stderr"'
"$ENWANDA" tokenize --model "$sb/m" --text "$sb/corpus.txt" >&- 2> "$work/stderr"; rc=$?
check "tokenize with stdout closed: exit 4" '[ $rc = 4 ] && grep -q "cannot write the result to standard output" "$work/stderr"'

# 5. no silent garbage
cp -r "$sb/m" "$sb/nan"
"$PY" - "$sb/nan/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    n = int.from_bytes(f.read(8), "little"); header = json.loads(f.read(n))
    start = header["model.layers.1.mlp.down_proj.weight"]["data_offsets"][0]
    assert header["model.layers.1.mlp.down_proj.weight"]["dtype"] == "F32"
    f.seek(8 + n + start + 4 * 7); f.write(struct.pack("<f", float("nan")))
PY
expect "prune of a checkpoint with a NaN weight: the tensor named" 3 "tensor model.layers.1.mlp.down_proj.weight holds 1 NaN or infinite values" "$sb/nan" -- \
  prune --model "$sb/nan" --calib-tokens "$sb/calib.npy" --out "$sb/pn"
check "no output for the NaN checkpoint" '[ ! -e "$sb/pn" ] && [ -z "$(find "$sb" -maxdepth 1 -name ".pn.tmp*")" ]'
expect "eval ppl of a checkpoint with a NaN weight" 3 "model.layers.1.mlp.down_proj.weight holds 1 NaN" "$sb/nan" -- \
  eval ppl --model "$sb/nan" --data-tokens "$sb/calib.npy"
for bad in '"rope_theta": 0' '"rms_norm_eps": -1e-6'; do
  rm -rf "$sb/cfg"; cp -r "$sb/m" "$sb/cfg"
  "$PY" -c "import json, sys; c = json.load(open(sys.argv[1])); c.update(json.loads('{' + sys.argv[2] + '}')); json.dump(c, open(sys.argv[1], 'w'))" \
    "$sb/cfg/config.json" "$bad"
  key=$(cut -d'"' -f2 <<< "$bad")
  expect "config $bad refused" 3 "$key must be a finite number" "$sb/cfg" -- eval ppl --model "$sb/cfg" --data-tokens "$sb/calib.npy"
done
prune=(prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/o")
expect "--ro-lr inf" 2 "inf is not a finite number" "$sb" -- "${prune[@]}" --method wanda++ --ro-lr inf
expect "--rgs-scale nan" 2 "nan is not a finite number" "$sb" -- "${prune[@]}" --method wanda++ --rgs-scale nan
expect "--alpha -inf" 2 "-inf is not a finite number" "$sb" -- "${prune[@]}" --alpha=-inf
expect "--sparsity 50: said to be a fraction" 2 "a fraction: 0.5 for 50%" "$sb" -- "${prune[@]}" --sparsity 50
expect "--nsamples contradicting --calib-tokens" 2 "holds 4 sequences of 32 tokens; --nsamples/--seqlen contradict it" "$sb" -- \
  "${prune[@]}" --nsamples 8
# calibration flags given to magnitude (as loops over methods pass them): one warning, not read,
# and the report says calibration was not used; statistics files are still refused
"$ENWANDA" prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --seed 3 --method magnitude --out "$sb/mag" > /dev/null 2> "$work/stderr"
rc=$?
check "--method magnitude with calibration flags: runs, one warning, the report says calibration was not used" \
  '[ $rc = 0 ] && [ "$(grep -c "warning --calib-tokens, --seed: no effect with --method magnitude" "$work/stderr")" = 1 ] &&
   "$PY" -c "import json, sys; c = json.load(open(sys.argv[1]))[\"settings\"][\"calibration\"]; assert c[\"used\"] is False and c[\"ignored_flags\"] == [\"--calib-tokens\", \"--seed\"] and c[\"files\"] == [], c" "$sb/mag/enwanda_report.json" ||
   { cat "$work/stderr"; false; }'
rm -rf "$sb/mag"
expect "--method magnitude with --save-stats" 2 "--save-stats has no effect with --method magnitude" "$sb" -- \
  "${prune[@]}" --method magnitude --save-stats "$sb/s.safetensors"
# 3. a dangling symlink as --out: refused before any work
ln -s "$sb/nowhere/x" "$sb/dangling"
expect "--out a dangling symlink" 2 "--out $sb/dangling is a symlink to $sb/nowhere/x, which does not exist" "$sb" -- \
  prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/dangling"
expect "calib --out a dangling symlink" 2 "is a symlink to $sb/nowhere/x, which does not exist" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/dangling"
rm "$sb/dangling"

echo '{"method": true}' > "$sb/preset1.json"
expect "a preset giving a value option true" 2 "\"method\" takes a value (TEXT), not true" "$sb" -- \
  prune --config "$sb/preset1.json" --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/o"
echo '{"sequential": "yes"}' > "$sb/preset2.json"
expect "a preset giving a switch a string" 2 "$sb/preset2.json: \"sequential\" is a switch: expected true or false, got \"yes\"" "$sb" -- \
  prune --config "$sb/preset2.json" --model "$sb/m" --calib-tokens "$sb/calib.npy" --out "$sb/o"

expect "--nsamples 2^63-1 --seqlen 2: checked, the limit named" 2 "calibration tokens is over the limit of 2147483648" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 9223372036854775807 --seqlen 2 --out "$sb/big.npy"
expect "--calib-mult 2^62" 2 "over the limit of 2147483648" "$sb" -- \
  prune --model "$sb/m" --calib "$sb/corpus.txt" --calib-mult 4611686018427387904 --out "$sb/o"

# zero-shot: a context longer than the window is cut on the left (counted); a record over 16 MiB is refused
"$PY" - "$sb/long.jsonl" "$sb/huge.jsonl" <<'PY'
import json, sys
words = "the river rose and the town slept " * 400
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"context": words + "Did it rise? Answer:", "choices": ["no", "yes"], "label": 1}) + "\n")
    f.write(json.dumps({"context": "Did it rise? Answer:", "choices": ["no", "yes"], "label": 1}) + "\n")
with open(sys.argv[2], "w") as f:
    f.write(json.dumps({"context": "x" * (17 << 20), "choices": ["no", "yes"], "label": 1}) + "\n")
PY
"$ENWANDA" eval zeroshot --model "$sb/m" --task mc --data "$sb/long.jsonl" --json "$sb/long.json" > /dev/null 2> "$work/stderr"; rc=$?
check "a context longer than the window: cut on the left, counted in the result" \
  '[ $rc = 0 ] && [ "$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))[\"tasks\"][\"mc\"][\"truncated_inputs\"])" "$sb/long.json")" = 2 ] &&
   grep -q "2 of 4 inputs were longer than the model" "$work/stderr"'
expect "a zero-shot record over 16 MiB" 3 "$sb/huge.jsonl:1: a record of" "$sb" -- \
  eval zeroshot --model "$sb/m" --task mc --data "$sb/huge.jsonl"

# 6. small things
expect "synth --layers 0" 2 "--layers: Value 0 not in range" "$sb" -- synth --shape tiny --layers 0 --out "$sb/s0"
expect "synth --shard-mib -1" 2 "--shard-mib: Value -1 not in range" "$sb" -- synth --shape tiny --shard-mib -1 --out "$sb/s0"

# 3. paths that are not UTF-8 work, and the report keeps them (each invalid byte as \xNN)
latin=$sb/$'caf\xe9'
cp -r "$sb/m" "$latin-model"
"$ENWANDA" prune --model "$latin-model" --calib-tokens "$sb/calib.npy" --out "$latin-out" -q 2> "$work/stderr"; rc=$?
check "a Latin-1 --model and --out: pruned, the report records the paths escaped" \
  '[ $rc = 0 ] && "$PY" -c "import json, sys; r = json.load(open(sys.argv[1], \"rb\")); assert \"caf\\\\xE9-model\" in r[\"reproduce\"], r[\"reproduce\"]" "$latin-out/enwanda_report.json" ||
   { cat "$work/stderr"; false; }'

# 4. nesting: every JSON enwanda reads stops at 256 levels, with the file named
rm -rf "$sb/deep"; cp -r "$sb/m" "$sb/deep"
"$PY" -c "import sys; open(sys.argv[1], 'w').write('{\"a\": ' + '[' * 100000 + ']' * 100000 + '}')" "$sb/deep/config.json"
expect "config.json nested 100,000 deep" 3 "$sb/deep/config.json: JSON nested deeper than 256 levels" "$sb/deep" -- \
  eval ppl --model "$sb/deep" --data-tokens "$sb/calib.npy"
cp "$sb/deep/config.json" "$sb/deep-preset.json"
expect "a --config preset nested 100,000 deep" 2 "JSON nested deeper than 256 levels" "$sb" -- \
  eval ppl --config "$sb/deep-preset.json" --model "$sb/m" --data-tokens "$sb/calib.npy"
echo '{"hidden_size": 64,' > "$sb/cfg/config.json"
expect "a broken config.json: plain words, no nlohmann code" 3 "not valid JSON: parse error at line" "$sb/cfg" -- \
  eval ppl --model "$sb/cfg" --data-tokens "$sb/calib.npy"
check "no [json.exception...] in the message" '! grep -q "json.exception" "$work/stderr"'

cat > "$sb/other.json" <<'JSON'
{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512}
JSON
"$ENWANDA" synth --shape "$sb/other.json" --out "$sb/other" -q
"$ENWANDA" calib --model "$sb/other" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/other.npy" -q
expect "calibration tokens of another tokenizer" 3 "was tokenised by another tokenizer" "$sb" -- \
  prune --model "$sb/m" --calib-tokens "$sb/other.npy" --out "$sb/o"
# token ids: below 2^24 in any tokenizer.json, and below the model's vocab_size
for id in 4611686018427387904 1000; do
  rm -rf "$sb/tokid"; cp -r "$sb/other" "$sb/tokid"
  "$PY" - "$sb/tokid/tokenizer.json" "$id" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["added_tokens"].append({"id": int(sys.argv[2]), "content": "<far>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True})
json.dump(t, open(sys.argv[1], "w"))
PY
  want="token \"<far>\" has id $id, outside [0, 16777216)"; [ "$id" = 1000 ] && want="token \"<far>\" has id 1000, beyond the model's vocab_size 512"
  expect "a tokenizer.json id of $id" 3 "$want" "$sb/tokid" -- tokenize --model "$sb/tokid" --text "$sb/corpus.txt"
done
# 3. calibration from a stream: a FIFO and /dev/fd/N (process substitution) are read once, hashed while read
sha() { sha256sum "$1" | cut -d' ' -f1; }
mkfifo "$sb/fifo"
cat "$sb/corpus.txt" > "$sb/fifo" &
"$ENWANDA" prune --model "$sb/m" --calib "$sb/fifo" --nsamples 4 --seqlen 32 --out "$sb/pf" -q 2> "$work/stderr"; rc=$?
wait
check "--calib a FIFO: pruned, the report records its bytes and sha256 as read" \
  '[ $rc = 0 ] && "$PY" -c "import json, sys; f = json.load(open(sys.argv[1]))[\"settings\"][\"calibration\"][\"files\"][0]; assert (f[\"bytes\"], f[\"sha256\"]) == (int(sys.argv[2]), sys.argv[3]), f" \
     "$sb/pf/enwanda_report.json" "$(stat -c %s "$sb/corpus.txt")" "$(sha "$sb/corpus.txt")" || { cat "$work/stderr"; false; }'
"$ENWANDA" calib --model "$sb/m" --calib <(gzip -c "$sb/corpus.txt") --nsamples 4 --seqlen 32 --out "$sb/c-sub.npy" -q 2> "$work/stderr"; rc=$?
"$ENWANDA" calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/c-file.npy" -q
check "--calib <(gzip -c FILE): the same windows as the file itself" \
  '[ $rc = 0 ] && cmp -s "$sb/c-sub.npy" "$sb/c-file.npy" || { cat "$work/stderr"; false; }'

# 4. bounded calibration text: a gzip bomb stops at --calib-max-mib, and so does plain text over it
head -c $((3 << 20)) /dev/zero | tr '\0' 'a' | gzip -c > "$sb/bomb.txt.gz"
expect "a gzip bomb: refused at --calib-max-mib" 3 "$sb/bomb.txt.gz: inflates to more than 1 MiB of text, the limit (--calib-max-mib raises it)" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/bomb.txt.gz" --calib-max-mib 1 --nsamples 2 --seqlen 16 --out "$sb/cb.npy"
head -c $((2 << 20)) /dev/zero | tr '\0' 'a' > "$sb/big.txt"
expect "plain text over --calib-max-mib" 3 "$sb/big.txt: holds more than 1 MiB of text, the limit (--calib-max-mib raises it)" "$sb" -- \
  prune --model "$sb/m" --calib "$sb/big.txt" --calib-max-mib 1 --nsamples 2 --seqlen 16 --out "$sb/o"

# 6. a JSON array is not JSON lines (the conversion named); --calib-field reads another field
"$PY" - "$sb/corpus.txt" "$sb/array.json" "$sb/text.jsonl" "$sb/body.jsonl" <<'PY'
import json, sys
paras = [p for p in open(sys.argv[1]).read().split("\n\n") if p.strip()]
json.dump([{"text": p} for p in paras], open(sys.argv[2], "w"))
open(sys.argv[3], "w").writelines(json.dumps({"text": p}) + "\n" for p in paras)
open(sys.argv[4], "w").writelines(json.dumps({"id": i, "body": p}) + "\n" for i, p in enumerate(paras))
PY
expect "a JSON array as calibration: the conversion named" 3 "$sb/array.json: a JSON array; enwanda reads JSON lines (one {\"text\": ...} object per line). Convert it: jq -c '.[]' $sb/array.json > $sb/array.jsonl" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/array.json" --nsamples 2 --seqlen 16 --out "$sb/ca.npy"
expect "JSON lines without a \"text\" field: --calib-field named" 3 "$sb/body.jsonl:1: expected an object with a \"text\" string (--calib-field names another field)" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/body.jsonl" --nsamples 2 --seqlen 16 --out "$sb/cf.npy"
"$ENWANDA" calib --model "$sb/m" --calib "$sb/body.jsonl" --calib-field body --nsamples 4 --seqlen 16 --out "$sb/c-body.npy" -q 2> "$work/stderr"; rc=$?
"$ENWANDA" calib --model "$sb/m" --calib "$sb/text.jsonl" --nsamples 4 --seqlen 16 --out "$sb/c-text.npy" -q
check "--calib-field body: the same windows as the records' text under \"text\"" \
  '[ $rc = 0 ] && cmp -s "$sb/c-body.npy" "$sb/c-text.npy" || { cat "$work/stderr"; false; }'
# documents sampling parses a record when it is drawn; a line that opens no object is refused first
{ cat "$sb/text.jsonl"; echo "oops"; cat "$sb/text.jsonl"; } > "$sb/oops.jsonl"
oops_line=$(( $(wc -l < "$sb/text.jsonl") + 1 ))
expect "documents sampling: a line that is not an object, named before any record is drawn" 3 "$sb/oops.jsonl:$oops_line: not valid JSON" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/oops.jsonl" --calib-sampling documents --nsamples 2 --seqlen 16 --out "$sb/co.npy"
echo '{"text": 3}' > "$sb/number.jsonl"
expect "documents sampling: a drawn record without a text string, named" 3 "$sb/number.jsonl:1: expected an object with a \"text\" string" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/number.jsonl" --calib-sampling documents --nsamples 2 --seqlen 16 --out "$sb/cn.npy"
expect "eval ppl: text over --data-max-mib" 3 "$sb/big.txt: holds more than 1 MiB of text, the limit (--data-max-mib raises it)" "$sb" -- \
  eval ppl --model "$sb/m" --data "$sb/big.txt" --data-max-mib 1 --seqlen 16

# 3. symlink loops: in the model directory (refused before any work) and in a calibration directory
rm -rf "$sb/loop"; cp -r "$sb/m" "$sb/loop"; rm "$sb/loop/enwanda_report.json"
ln -s notes.txt "$sb/loop/notes.txt"
expect "a symlink loop in the model directory" 3 "$sb/loop/notes.txt: a symlink loop in the model directory" "$sb/loop" -- \
  prune --model "$sb/loop" --calib-tokens "$sb/calib.npy" --out "$sb/o"
check "no output for the looping model directory" '[ ! -e "$sb/o" ] && [ -z "$(find "$sb" -maxdepth 1 -name ".o.tmp*")" ]'
mkdir "$sb/cdir"; cp "$sb/corpus.txt" "$sb/cdir/a.txt"; ln -s b.txt "$sb/cdir/b.txt"
expect "a symlink loop in a calibration directory" 3 "$sb/cdir/b.txt: a symlink loop" "$sb" -- \
  calib --model "$sb/m" --calib "$sb/cdir" --nsamples 2 --seqlen 16 --out "$sb/cl.npy"

# 3. the free-space check counts every file the output carries, not only the weights
rm -rf "$sb/fat"; cp -r "$sb/m" "$sb/fat"; rm "$sb/fat/enwanda_report.json"
truncate -s $(( $(df -B1 --output=avail "$sb" | tail -n 1) + (1 << 30) )) "$sb/fat/notes.txt"  # sparse
expect "an output whose carried files exceed the free space" 4 "is free on $sb" "$sb/fat" -- \
  prune --model "$sb/fat" --calib-tokens "$sb/calib.npy" --out "$sb/o"
check "refused before any work (no layer pruned)" '! grep -q "layer 0" "$work/stderr"'
rm -rf "$sb/fat"
finish
