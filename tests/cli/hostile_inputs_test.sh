#!/usr/bin/env bash
# Hostile file contents and flag values: each is refused with one line naming the file (exit 3) or
# the flag (exit 2), or the work is done; none crashes the binary (a regex that recurses per
# character, JSON nested 100,000 deep), costs memory beyond its limit (a gzip bomb), lets a
# statistics file of the wrong shape, dtype or values through, or clamps a number.
set -uo pipefail
ENWANDA=${1:?usage: hostile_inputs_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

# expect NAME CODE PATTERN -- ARGS...: exit CODE with one "enwanda: error:" line holding PATTERN
expect() {
  local name=$1 code=$2 pattern=$3; shift 4
  "$ENWANDA" "$@" > "$work/stdout" 2> "$work/stderr"; local rc=$?
  check "$name" '[ $rc = "$code" ] && [ "$(grep -c "^enwanda: error: " "$work/stderr")" = 1 ] && grep -qF -- "$pattern" "$work/stderr" ||
    { echo "     rc $rc: $(tail -c 600 "$work/stderr")"; false; }'
}

sb=$work/sandbox
mkdir -p "$sb"
"$ENWANDA" synth --shape tiny --seed 4 --out "$sb/m" -q
for _ in 1 2 3 4; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$sb/corpus.txt"
"$ENWANDA" calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 4 --seqlen 32 --out "$sb/calib.npy" -q

# 1. .npy headers: a header NumPy itself reads only with max_header_size raised is refused by its
# size, in format 1.0 and 2.0; one under the limit with odd spacing is read (NumPy agrees)
"$PY" - "$sb" <<'EOF'
import struct, sys
import numpy as np
sb = sys.argv[1]
data = np.load(sb + "/calib.npy").astype("<i8")
def save(name, header, version):
    header = header + " " * ((64 - (len(header) + 12 + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    with open(sb + "/" + name, "wb") as f:
        f.write(b"\x93NUMPY" + bytes([version, 0]) + size + header.encode("latin1") + data.tobytes())
rows, cols = data.shape
for v in (1, 2):
    save("shape_spaces_v%d.npy" % v, "{'descr': '<i8', 'fortran_order': False, 'shape': (%d," % rows + " " * 60000 + "%d), }" % cols, v)
save("descr_spaces_v2.npy", "{'descr':" + " " * 500000 + "'<i8', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols), 2)
save("spaced_ok.npy", "{ 'shape' : ( %d ,%s%d , ) , 'fortran_order':False,'descr' : '<i8' }" % (rows, " " * 5000, cols), 1)
save("extra_key.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (%d, %d), 'x': 1}" % (rows, cols), 1)
assert (np.load(sb + "/spaced_ok.npy") == data).all()
EOF
for f in shape_spaces_v1 shape_spaces_v2 descr_spaces_v2; do
  expect ".npy $f: refused by its header's size" 3 "$sb/$f.npy: .npy header of" -- \
    eval ppl --model "$sb/m" --data-tokens "$sb/$f.npy"
done
expect ".npy with a key NumPy does not write" 3 "unexpected or repeated key 'x'" -- eval ppl --model "$sb/m" --data-tokens "$sb/extra_key.npy"
"$ENWANDA" eval ppl --model "$sb/m" --data-tokens "$sb/spaced_ok.npy" > "$work/a" 2> "$work/err"; rc=$?
"$ENWANDA" eval ppl --model "$sb/m" --data-tokens "$sb/calib.npy" > "$work/b" 2> /dev/null
check ".npy with 5,000 spaces in its shape (under the limit, as NumPy reads it): the same perplexity" \
  '[ $rc = 0 ] && [ -s "$work/a" ] && cmp -s "$work/a" "$work/b" || { cat "$work/err"; false; }'

# 2. tokenizer_config.json nested 100,000 deep: refused by the JSON depth limit, naming the file
cp -r "$sb/m" "$sb/deep"
"$PY" -c "import sys; open(sys.argv[1], 'w').write('{\"legacy\": ' + '[' * 100000 + ']' * 100000 + '}')" "$sb/deep/tokenizer_config.json"
expect "tokenizer_config.json nested 100,000 deep" 3 "$sb/deep/tokenizer_config.json: JSON nested deeper than 256" -- \
  calib --model "$sb/deep" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/deep.npy"
printf '{"legacy": [1, 2]}' > "$sb/deep/tokenizer_config.json"
expect "tokenizer_config.json legacy not a boolean" 3 "\"legacy\" must be true, false or null, not array" -- \
  calib --model "$sb/deep" --calib "$sb/corpus.txt" --nsamples 2 --seqlen 16 --out "$sb/deep.npy"

# 3. a gzip bomb (256 MiB of text in 256 KB) against --calib-max-mib 64: refused, and its peak
# memory above the same run on a small gzip file stays under the limit plus 16 MiB
"$PY" -c "
import gzip, sys
with gzip.open(sys.argv[1], 'wb', compresslevel=9) as f:
    line = b'the quick brown fox jumps over the lazy dog\n' * 23831
    for _ in range(256): f.write(line)
with gzip.open(sys.argv[2], 'wb') as f: f.write(open(sys.argv[3], 'rb').read())
" "$sb/bomb.txt.gz" "$sb/small.txt.gz" "$sb/corpus.txt"
peak_kib() { /usr/bin/time -f "%M" -o "$work/time" "$ENWANDA" "$@" > /dev/null 2> "$work/stderr"; tail -1 "$work/time"; }
bomb=$(peak_kib calib --model "$sb/m" --calib "$sb/bomb.txt.gz" --calib-max-mib 64 --nsamples 2 --seqlen 16 --out "$sb/x.npy")
bomb_err=$(cat "$work/stderr")
small=$(peak_kib calib --model "$sb/m" --calib "$sb/small.txt.gz" --calib-max-mib 64 --nsamples 2 --seqlen 16 --out "$sb/y.npy")
echo "     peak RSS: bomb refused $bomb KiB, small file read $small KiB"
check "gzip bomb refused by name" '[[ $bomb_err == *"$sb/bomb.txt.gz: inflates to more than 64 MiB of text"* ]] || { echo "$bomb_err"; false; }'
check "gzip bomb costs under the limit + 16 MiB" '[ $((bomb - small)) -lt $(( (64 + 16) * 1024 )) ]'

# 4. statistics files: each damaged copy refused (exit 3) before any work, naming the file and tensor
"$ENWANDA" prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --no-sequential --save-stats "$sb/stats.safetensors" --out "$sb/P" -q
"$PY" - "$sb" <<'EOF'
import json, struct, sys
import numpy as np
sb = sys.argv[1]
raw = open(sb + "/stats.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
tensors = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
           for k, v in header.items()}
def write(name, change):
    t = {k: v.copy() for k, v in tensors.items()}
    change(t)
    h, off, blobs = {"__metadata__": meta}, 0, []
    for k, v in t.items():
        b = v.tobytes()
        h[k] = {"dtype": {"float32": "F32", "int32": "I32"}[str(v.dtype)], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hb = json.dumps(h).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    open(sb + "/" + name, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
L1 = "model.layers.0.self_attn.q_proj.l1"
L2 = "model.layers.1.mlp.down_proj.l2sq"
write("cut.safetensors", lambda t: t.update({L1: t[L1][:-1]}))
write("reshaped.safetensors", lambda t: t.update({L2: t[L2].reshape(-1, 16)}))
write("i32.safetensors", lambda t: t.update({L1: t[L1].astype("<i4")}))
def nan(t): t[L1][3] = np.nan
def neg(t): t[L1][3] = -1.0
def inf(t): t[L2][0] = np.inf
write("nan.safetensors", nan)
write("negative.safetensors", neg)
write("inf.safetensors", inf)
write("missing.safetensors", lambda t: t.pop(L2))
write("extra.safetensors", lambda t: t.update({"model.layers.99.self_attn.q_proj.l1": t[L1]}))
EOF
for c in "cut:model.layers.0.self_attn.q_proj.l1 has shape [" "reshaped:model.layers.1.mlp.down_proj.l2sq has shape [" \
         "i32:model.layers.0.self_attn.q_proj.l1 is I32" "nan:model.layers.0.self_attn.q_proj.l1 holds a negative, NaN or infinite value" \
         "negative:model.layers.0.self_attn.q_proj.l1 holds a negative, NaN" "inf:model.layers.1.mlp.down_proj.l2sq holds a negative, NaN" \
         "missing:no statistic model.layers.1.mlp.down_proj.l2sq" "extra:tensor \"model.layers.99.self_attn.q_proj.l1\" is not a statistic"; do
  expect "--load-stats ${c%%:*}" 3 "$sb/${c%%:*}.safetensors: ${c#*:}" -- \
    prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --no-sequential --load-stats "$sb/${c%%:*}.safetensors" --out "$sb/Q"
done
check "no output left by a refused --load-stats" '[ ! -e "$sb/Q" ]'

# 5. integers: refused beyond 64 bits or as non-decimal text, never clamped, wrapped or read as octal
expect "calib --seed 2^64+5" 2 "--seed: 18446744073709551621 is out of range" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --seed 18446744073709551621 --nsamples 2 --seqlen 16 --out "$sb/s.npy"
expect "calib --seed -2^63-1" 2 "--seed: -9223372036854775809 is out of range" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --seed -9223372036854775809 --nsamples 2 --seqlen 16 --out "$sb/s.npy"
expect "prune --alps-iters 2^63" 2 "--alps-iters: 9223372036854775808 is out of range" -- \
  prune --model "$sb/m" --calib-tokens "$sb/calib.npy" --method alps --alps-iters 9223372036854775808 --out "$sb/Q"
expect "calib --nsamples 0x10" 2 "--nsamples: \"0x10\" is not a decimal integer" -- \
  calib --model "$sb/m" --calib "$sb/corpus.txt" --nsamples 0x10 --seqlen 16 --out "$sb/s.npy"

# 6. eval ppl: flags that shape text refused with --data-tokens (not recorded as if applied); a
# --seqlen whose 256x overflows gives a clean error; the JSON carries what reproduces the number
for flag in --c4-validation "--rows hf" --split-special-tokens "--data-field body"; do
  # shellcheck disable=SC2086  # the flag and its value as two words
  expect "eval ppl --data-tokens with $flag" 2 "${flag%% *} applies to --data text" -- \
    eval ppl --model "$sb/m" --data-tokens "$sb/calib.npy" $flag
done
expect "eval ppl --c4-validation --seqlen 2^55" 3 "fewer than one window of --seqlen 36028797018963968" -- \
  eval ppl --model "$sb/m" --data "$sb/corpus.txt" --c4-validation --seqlen 36028797018963968
enw=$(cd "$(dirname "$ENWANDA")" && pwd)/$(basename "$ENWANDA")
(cd "$sb" && "$enw" eval ppl --model m --data corpus.txt --seqlen 64 --slices 2 --json ppl.json -q > /dev/null)
check "eval ppl JSON: absolute paths, data sha256, the BOS rule and the reproducing command" \
  '"$PY" -c "
import hashlib, json, sys
r = json.load(open(sys.argv[1] + \"/ppl.json\")); s = r[\"settings\"]
assert s[\"model\"] == sys.argv[1] + \"/m\" and s[\"data\"] == [sys.argv[1] + \"/corpus.txt\"], s
assert s[\"files\"][0][\"sha256\"] == hashlib.sha256(open(sys.argv[1] + \"/corpus.txt\", \"rb\").read()).hexdigest()
assert s[\"bos\"][\"rule\"].startswith(\"once, before the text\") and s[\"bos\"][\"id\"] == 1, s[\"bos\"]
assert r[\"reproduce\"].endswith(\"eval ppl --model m --data corpus.txt --seqlen 64 --slices 2 --json ppl.json -q\") and r[\"cwd\"] == sys.argv[1]
" "$(cd "$sb" && pwd -P)"'

finish
