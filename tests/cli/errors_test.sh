#!/usr/bin/env bash
# shellcheck disable=SC2046  # $(prune_args M) prints flags meant to be split into words
# Bad input, faults and interruption through the real CLI. Each case checks the exit code, that
# stderr is one "enwanda: error:" line naming the culprit, that --out and its temporary sibling
# do not exist afterwards, and that the input checkpoint is unchanged.
set -uo pipefail
ENWANDA=${1:?usage: errors_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
pass=0; fail=0

"$ENWANDA" synth --shape tiny --seed 1 --out "$work/good" -q || { echo "synth failed"; exit 1; }
"$ENWANDA" synth --shape tiny --seed 1 --shard-mib 0 --out "$work/sharded" -q || exit 1
for i in 1 2 3 4; do cat "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"
"$ENWANDA" calib --model "$work/good" --calib "$work/corpus.txt" --nsamples 4 --seqlen 32 --out "$work/calib.npy" -q || exit 1

sums() { find "$1" -type f -print0 | sort -z | xargs -0 md5sum; }
temp_left() { [ -n "$(find "$work" -maxdepth 1 -name '.out.tmp*' -print -quit)" ]; }  # out's temporary sibling

# expect NAME CODE PATTERN MODEL -- ARGS...   (runs `enwanda ARGS`, out dir is $work/out)
expect() {
  local name=$1 code=$2 pattern=$3 model=$4; shift 5
  local before=""; [ -d "$model" ] && before=$(sums "$model")
  "$ENWANDA" "$@" > "$work/stdout" 2> "$work/stderr"; local rc=$?
  local err; err=$(grep -v '^[0-9:]* info ' "$work/stderr")
  local ok=1 why=""
  [ "$rc" = "$code" ] || { ok=0; why="exit $rc, expected $code"; }
  [ "$(grep -c . <<< "$err")" = 1 ] || { ok=0; why="$why; stderr is not one line"; }
  grep -q "^enwanda: error: " <<< "$err" || { ok=0; why="$why; no 'enwanda: error:' prefix"; }
  grep -qF -- "$pattern" <<< "$err" || { ok=0; why="$why; message lacks '$pattern'"; }
  grep -qiE 'segmentation|terminate called|Exception raised from|frame #' <<< "$err" && { ok=0; why="$why; crash text"; }
  [ -e "$work/out" ] && { ok=0; why="$why; --out left behind"; }
  temp_left && { ok=0; why="$why; temporary directory left behind"; }
  [ -n "$before" ] && [ "$before" != "$(sums "$model")" ] && { ok=0; why="$why; input modified"; }
  if [ $ok = 1 ]; then pass=$((pass+1)); echo "ok   $name"; else fail=$((fail+1)); echo "FAIL $name: $why"; echo "     stderr: $err"; fi
  rm -rf "$work/out"
}

# a copy of the good model with one change; prints its path
variant() { rm -rf "${work:?}/$1"; cp -r "$work/${2:-good}" "$work/$1"; echo "$work/$1"; }
prune_args() { echo prune --model "$1" --calib-tokens "$work/calib.npy" --out "$work/out"; }
patch_header() {  # model, python expression transforming header dict h -> writes new file keeping data
  "$PY" - "$1/model.safetensors" "$2" <<'PYEOF'
import json, struct, sys
p, expr = sys.argv[1], sys.argv[2]
b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); data = b[8 + n:]
exec(expr)
t = json.dumps(h).encode() if not isinstance(h, bytes) else h
open(p, "wb").write(struct.pack("<Q", len(t)) + t + data)
PYEOF
}
first_tensor='k = [x for x in h if x != "__metadata__"]'

m=$(variant truncated); truncate -s -100 "$m/model.safetensors"
expect "truncated shard" 3 "truncated" "$m" -- $(prune_args "$m")
m=$(variant hdrlen); "$PY" -c "import struct,sys; f=open('$m/model.safetensors','r+b'); f.write(struct.pack('<Q', 10**7))"
expect "header length beyond the file" 3 "runs past the end" "$m" -- $(prune_args "$m")
m=$(variant hdrbig); "$PY" -c "import struct; f=open('$m/model.safetensors','r+b'); f.write(struct.pack('<Q', 200_000_000))"
expect "header over 100 MB" 3 "exceeds the 100 MB limit" "$m" -- $(prune_args "$m")
m=$(variant notjson); patch_header "$m" 'h = b"{this is not json"'
expect "header not JSON" 3 "not valid UTF-8 JSON" "$m" -- $(prune_args "$m")
m=$(variant notobj); patch_header "$m" 'h = b"[1,2,3]"'
expect "header not an object" 3 "does not start with a JSON object" "$m" -- $(prune_args "$m")
m=$(variant dup); patch_header "$m" 'h = json.dumps(h).encode(); h = h[:-1] + b", \"model.norm.weight\": " + json.dumps(json.loads(h)["model.norm.weight"]).encode() + b"}"'
expect "duplicate tensor names" 3 "duplicate tensor name" "$m" -- $(prune_args "$m")
m=$(variant overlap); patch_header "$m" "$first_tensor"'; h["model.norm.weight"]["data_offsets"] = [0, 256]'
expect "offsets overlapping" 3 "model.safetensors" "$m" -- $(prune_args "$m")
m=$(variant gap); patch_header "$m" 'e = max((v for k, v in h.items() if k != "__metadata__"), key=lambda v: v["data_offsets"][1]); e["data_offsets"] = [e["data_offsets"][0] + 4, e["data_offsets"][1] + 4]'
expect "offsets gapped" 3 "gap in the data buffer" "$m" -- $(prune_args "$m")
m=$(variant order); patch_header "$m" 'e = h["model.norm.weight"]; e["data_offsets"] = e["data_offsets"][::-1]'
expect "offsets out of order" 3 "end before they begin" "$m" -- $(prune_args "$m")
m=$(variant pastend); patch_header "$m" 'e = max((v for k, v in h.items() if k != "__metadata__"), key=lambda v: v["data_offsets"][1]); e["shape"][0] *= 2; e["data_offsets"][1] += e["data_offsets"][1] - e["data_offsets"][0]'
expect "offsets past the end" 3 "truncated download" "$m" -- $(prune_args "$m")
m=$(variant size); patch_header "$m" 'h["model.norm.weight"]["shape"] = [63]'
expect "byte size not matching dtype x shape" 3 "needs 252" "$m" -- $(prune_args "$m")
m=$(variant dtype); patch_header "$m" 'h["model.norm.weight"]["dtype"] = "F12"'
expect "unknown dtype" 3 "unknown dtype" "$m" -- $(prune_args "$m")
m=$(variant overflow); patch_header "$m" 'h["model.norm.weight"]["shape"] = [2**40, 2**40]'
expect "shape product overflows" 3 "overflows" "$m" -- $(prune_args "$m")

m=$(variant missingshard sharded); rm "$(find "$m" -name 'model-00002*' -print -quit)"
expect "index names a missing shard" 3 "which does not exist" "$m" -- $(prune_args "$m")
m=$(variant wrongfile sharded); "$PY" - "$m/model.safetensors.index.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1])); wm = j["weight_map"]
wm["model.norm.weight"] = wm["model.embed_tokens.weight"]
json.dump(j, open(sys.argv[1], "w"))
PYEOF
expect "tensor mapped to the wrong file" 3 "does not contain it" "$m" -- $(prune_args "$m")

cfg() { "$PY" - "$1/config.json" "$2" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(c, open(sys.argv[1], "w"))
PYEOF
}
m=$(variant layers); cfg "$m" 'c["num_hidden_layers"] = 3'
expect "missing layer tensor" 3 "model.layers.2.self_attn.q_proj.weight\" is missing (config says 3 layers)" "$m" -- $(prune_args "$m")
m=$(variant shape); cfg "$m" 'c["intermediate_size"] = 160'
expect "wrong tensor shape for the config" 3 "has shape [176, 64], config implies [160, 64]" "$m" -- $(prune_args "$m")
m=$(variant nofield); cfg "$m" 'del c["hidden_size"]'
expect "config missing a required field" 3 "\"hidden_size\" is missing" "$m" -- $(prune_args "$m")
m=$(variant mtype); cfg "$m" 'c["model_type"] = "gpt_neox"'
expect "unsupported model_type" 3 "unsupported model_type \"gpt_neox\"" "$m" -- $(prune_args "$m")
m=$(variant heads); cfg "$m" 'c["num_attention_heads"] = 5'
expect "heads not dividing hidden size" 3 "does not divide hidden_size" "$m" -- $(prune_args "$m")
m=$(variant kvheads); cfg "$m" 'c["num_key_value_heads"] = 3'
expect "kv heads not dividing heads" 3 "does not divide num_attention_heads" "$m" -- $(prune_args "$m")
m=$(variant bias); cfg "$m" 'c["attention_bias"] = True'
expect "attention_bias without the biases" 3 "model.layers.0.self_attn.q_proj.bias\" is missing, but config.json's attention_bias says the linear has a bias" "$m" -- $(prune_args "$m")
m=$(variant qwen2); cfg "$m" 'c["model_type"] = "qwen2"'
expect "qwen2 without its q/k/v biases" 3 "q_proj.bias\" is missing, but config.json's model_type qwen2" "$m" -- $(prune_args "$m")
m=$(variant qwen3); cfg "$m" 'c["model_type"] = "qwen3"'
expect "qwen3 without q_norm" 3 "model.layers.0.self_attn.q_norm.weight\" is missing" "$m" -- $(prune_args "$m")
m=$(variant pickle); rm "$m/model.safetensors"; touch "$m/pytorch_model.bin"
expect "PyTorch pickle instead of safetensors" 3 "pytorch_model.bin is a PyTorch pickle" "$m" -- $(prune_args "$m")
m=$(variant notok); rm "$m/tokenizer.model"
expect "neither tokenizer.model nor tokenizer.json" 3 "neither tokenizer.model nor tokenizer.json found" "$m" -- prune --model "$m" --calib "$work/corpus.txt" --nsamples 2 --seqlen 16 --out "$work/out"
m=$(variant badtok); echo "garbage" > "$m/tokenizer.model"
expect "corrupt tokenizer.model" 3 "not a valid sentencepiece model" "$m" -- prune --model "$m" --calib "$work/corpus.txt" --nsamples 2 --seqlen 16 --out "$work/out"

g=$work/good
expect "model directory missing" 3 "nope: model directory does not exist" "" -- prune --model "$work/nope" --calib-tokens "$work/calib.npy" --out "$work/out"
expect "model given as a file" 3 "model.safetensors: is a file; --model takes the checkpoint's directory" "" -- \
  eval ppl --model "$g/model.safetensors" --data "$work/corpus.txt"
# an output larger than the disk is refused before anything is written (hidden 65536, 1024 layers: 270 TiB)
cat > "$work/huge.json" <<'JSON'
{"model_type": "llama", "hidden_size": 65536, "intermediate_size": 262144, "num_hidden_layers": 1024,
 "num_attention_heads": 64, "num_key_value_heads": 64, "vocab_size": 32000}
JSON
expect "output larger than the free disk space" 4 "is free on $work" "" -- synth --shape "$work/huge.json" --out "$work/out"
expect "calibration path missing" 3 "does not exist" "$g" -- prune --model "$g" --calib "$work/nope.txt" --out "$work/out"
: > "$work/empty.txt"
expect "calibration text empty" 3 "text is empty" "$g" -- prune --model "$g" --calib "$work/empty.txt" --out "$work/out"
head -c 200 "$work/corpus.txt" > "$work/short.txt"  # shorter than one window (get_wikitext2 draws windows that may overlap)
expect "calibration shorter than one window" 3 "a window of --seqlen 512 needs at least 513" "$g" -- prune --model "$g" --calib "$work/short.txt" --out "$work/out"
"$PY" -c "import numpy as np; np.save('$work/f32.npy', np.zeros((2, 8), np.float32)); np.save('$work/r1.npy', np.zeros(8, np.int64)); np.save('$work/big.npy', np.full((2, 8), 100000, np.int64))"
expect ".npy with wrong dtype" 3 "must be int32 or int64" "$g" -- prune --model "$g" --calib-tokens "$work/f32.npy" --out "$work/out"
expect ".npy with wrong rank" 3 "rank 2" "$g" -- prune --model "$g" --calib-tokens "$work/r1.npy" --out "$work/out"
expect ".npy ids >= vocab_size" 3 "found 100000" "$g" -- prune --model "$g" --calib-tokens "$work/big.npy" --out "$work/out"

expect "alpha above 1" 2 "--alpha: 1.5 is out of range; expected a number in [0, 1]" "$g" -- $(prune_args "$g") --alpha 1.5
expect "alpha below 0" 2 "--alpha: -0.5 is out of range; expected a number in [0, 1]" "$g" -- $(prune_args "$g") --alpha -0.5
expect "sparsity 1" 2 "--sparsity: 1 is out of range; expected a fraction in [0, 1), e.g. 0.5" "$g" -- $(prune_args "$g") --sparsity 1
expect "N:M with N >= M" 2 "need 0 < N < M" "$g" -- $(prune_args "$g") --structure 4:4
expect "M not dividing in_features" 2 "does not divide in_features=176" "$g" -- $(prune_args "$g") --structure 2:32
expect "TF32 on the CPU" 2 "--regional-tf32 needs --device cuda" "$g" -- $(prune_args "$g") --method wanda++ --regional-tf32 --device cpu
expect "TF32 without Wanda++" 2 "--regional-tf32 applies to --method wanda++ and en++ only" "$g" -- $(prune_args "$g") --regional-tf32
# flags the method or structure would ignore (an α sweep over --method wanda would write identical models)
expect "alpha with wanda" 2 "--alpha applies to --method en and en++ only" "$g" -- $(prune_args "$g") --method wanda --alpha 0.3
expect "an en preset with --method wanda" 2 "--alpha applies to --method en and en++ only" "$g" -- $(prune_args "$g") \
  --config "$ENWANDA_SOURCE_DIR/configs/tiny-demo.json" --method wanda
echo '{"alpha": 0.5, "bogus": 1}' > "$work/preset.json"
expect "preset key that is no option" 2 '"bogus" is not an option of enwanda prune' "$g" -- $(prune_args "$g") --config "$work/preset.json"
# a preset for a two-word subcommand; the command line overrides it
echo '{"slices": 2, "seqlen": 32}' > "$work/preset.json"
if "$ENWANDA" eval ppl --config "$work/preset.json" --model "$g" --data "$work/corpus.txt" -q > "$work/stdout" 2>&1 &&
   grep -q "windows 2/" "$work/stdout" &&
   "$ENWANDA" eval ppl --model "$g" --data "$work/corpus.txt" --slices 3 --config "$work/preset.json" -q > "$work/stdout" 2>&1 &&
   grep -q "windows 3/" "$work/stdout"; then
  pass=$((pass+1)); echo "ok   eval ppl --config, overridden by the command line"
else fail=$((fail+1)); echo "FAIL eval ppl --config: $(tail -1 "$work/stdout")"; fi
expect "RGS flag without Wanda++" 2 "--rgs-scale applies to --method wanda++ and en++ only" "$g" -- $(prune_args "$g") --rgs-scale 10
expect "RO flag with --no-ro" 2 "--ro-iters has no effect with --no-ro" "$g" -- $(prune_args "$g") --method wanda++ --no-ro --ro-iters 2
# SparseGPT, RIA and OWL: their flags only with them, and the combinations they cannot take
expect "SparseGPT flag with en" 2 "--sparsegpt-damp applies to --method sparsegpt only" "$g" -- $(prune_args "$g") --sparsegpt-damp 0.1
expect "RIA flag with wanda" 2 "--ria-power applies to --method ria only" "$g" -- $(prune_args "$g") --method wanda --ria-power 1
expect "OWL flag without OWL" 2 "--owl-lambda applies to --allocation owl only" "$g" -- $(prune_args "$g") --owl-lambda 0.1
expect "unknown allocation" 2 "--allocation must be uniform or owl, got owls" "$g" -- $(prune_args "$g") --allocation owls
expect "OWL with N:M" 2 "--allocation owl with --structure 2:4 is not supported" "$g" -- $(prune_args "$g") --allocation owl --structure 2:4
expect "SparseGPT block not a multiple of M" 2 "--sparsegpt-block 130 must be a multiple of M=4" "$g" -- $(prune_args "$g") \
  --method sparsegpt --structure 2:4 --sparsegpt-block 130
expect "SparseGPT with --load-stats" 2 "--method sparsegpt needs each input's XᵀX" "$g" -- $(prune_args "$g") \
  --method sparsegpt --no-sequential --load-stats "$work/calib.npy"
expect "SparseGPT dampening not positive" 2 "--sparsegpt-damp: 0 is out of range; expected a number > 0" "$g" -- $(prune_args "$g") --method sparsegpt --sparsegpt-damp 0
expect "OWL spread past sparsity 1" 2 "(>= 1); lower --owl-lambda or --sparsity" "$g" -- $(prune_args "$g") --allocation owl --sparsity 0.95
expect "sparsity contradicting N:M" 2 "--sparsity 0.3 contradicts it" "$g" -- $(prune_args "$g") --structure 2:4 --sparsity 0.3
expect "--ignore matching no linear" 2 "--ignore re:.*o_prj matches no linear of the checkpoint" "$g" -- $(prune_args "$g") --ignore 're:.*o_prj'
expect "--targets without re: is an exact name" 2 "--targets mlp.down_proj matches no linear" "$g" -- $(prune_args "$g") --targets mlp.down_proj
expect "--targets regex that does not compile" 2 "--targets re:model.(: the regular expression does not compile" "$g" -- $(prune_args "$g") --targets 're:model.('
expect "--sparsity-of unknown type" 2 "unknown linear type gate_proj" "$g" -- $(prune_args "$g") --sparsity-of gate_proj=0.5
expect "--sparsity-of a type twice" 2 "--sparsity-of gives q twice" "$g" -- $(prune_args "$g") --sparsity-of q=0.5 --sparsity-of q=0.6
expect "--sparsity-of with N:M" 2 "--sparsity-of sets unstructured sparsities" "$g" -- $(prune_args "$g") --structure 2:4 --sparsity-of q=0.5
expect "unknown subcommand" 2 'unknown subcommand "prunee" of enwanda; there are: prune, calib' "" -- prunee --model "$g"
expect "unknown eval subcommand" 2 'unknown subcommand "perplexity" of enwanda eval; there are: ppl, zeroshot' "" -- eval perplexity
expect "eval without its subcommand" 2 "enwanda eval needs a subcommand: ppl, zeroshot" "" -- eval --model "$g"
# a mistyped option is named (with the nearest one) before a required option is missed
expect "mistyped option, required one missing" 2 "unknown option --modle of enwanda prune; did you mean --model?" "" -- prune --modle "$g"
expect "mistyped option with =" 2 "unknown option --sparsty of enwanda prune; did you mean --sparsity?" "$g" -- $(prune_args "$g") --sparsty=0.6
expect "unknown option, nothing near" 2 "unknown option --xyzzy of enwanda eval ppl; see enwanda eval ppl --help" "" -- eval ppl --xyzzy 3
expect "unknown flag" 2 "--no-such-flag" "$g" -- $(prune_args "$g") --no-such-flag
expect "out equal to model" 2 "(an input of this run) or inside it" "$g" -- prune --model "$g" --calib-tokens "$work/calib.npy" --out "$g"
mkdir -p "$work/out"; touch "$work/out/precious"
"$ENWANDA" $(prune_args "$g") -q 2> "$work/stderr"; rc=$?
if [ $rc = 2 ] && grep -q "already exists; pass --overwrite" "$work/stderr" && [ -e "$work/out/precious" ]; then
  pass=$((pass+1)); echo "ok   existing --out refused"; else fail=$((fail+1)); echo "FAIL existing --out refused (rc $rc)"; fi
rm -rf "$work/out"
# "out/" and "out/." name the directory out: the pruned model lands there, nothing else is left
for o in "$work/out/" "$work/out/."; do
  if "$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --out "$o" -q 2> "$work/stderr" && [ -f "$work/out/config.json" ] &&
     [ -f "$work/out/model.safetensors" ] && [ "$(find "$work/out" -name '.*' | wc -l)" = 0 ] && ! temp_left; then
    pass=$((pass+1)); echo "ok   --out ${o#"$work/"}"
  else fail=$((fail+1)); echo "FAIL --out ${o#"$work/"}: $(tail -1 "$work/stderr")"; fi
  rm -rf "$work/out"
done
# the set-up (scripts/install_deps.sh) selects OpenBLAS's OpenMP build; its pthreads build would
# contend with libtorch's threads, and enwanda says so
"$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --out "$work/out" -q 2> "$work/stderr"
if grep -q '"blas": "OpenBLAS (OpenMP)"' "$work/out/enwanda_report.json" && [ ! -s "$work/stderr" ]; then
  pass=$((pass+1)); echo "ok   OpenBLAS's OpenMP build is loaded, no warning"
else fail=$((fail+1)); echo "FAIL OpenBLAS's OpenMP build: $(grep -o '"blas": "[^"]*"' "$work/out/enwanda_report.json") $(cat "$work/stderr")"; fi
# inspect takes the directory as its argument or as --model
shown=$("$ENWANDA" inspect "$work/out")
if grep -q "linear sparsity (fraction of exact zeros): 0.500000" <<< "$shown" &&
   "$ENWANDA" inspect --model "$work/out" --json | "$PY" -c "import json, sys; assert abs(json.load(sys.stdin)['linear_sparsity'] - 0.5) < 1e-9"; then
  pass=$((pass+1)); echo "ok   inspect DIR and inspect --model DIR --json"
else fail=$((fail+1)); echo "FAIL inspect: $("$ENWANDA" inspect "$work/out" 2>&1 | tail -1)"; fi
rm -rf "$work/out"
pthread_blas=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ -f "$pthread_blas/libopenblas.so.0" ]; then
  LD_LIBRARY_PATH=$pthread_blas "$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --out "$work/out" --threads 2 -q 2> "$work/stderr"
  if grep -q "OpenBLAS's pthreads build is loaded" "$work/stderr"; then
    pass=$((pass+1)); echo "ok   OpenBLAS's pthreads build warns"
  else fail=$((fail+1)); echo "FAIL OpenBLAS's pthreads build warns: $(cat "$work/stderr")"; fi
  rm -rf "$work/out"
else
  echo "skipped OpenBLAS's pthreads build warns: $pthread_blas/libopenblas.so.0 is not installed (libopenblas0-pthread)"
fi
expect "--out the root" 2 "is the file system's root" "$g" -- prune --model "$g" --calib-tokens "$work/calib.npy" --out / --overwrite

touch "$work/afile"
expect "--out under a file" 2 "afile is not a directory" "$g" -- prune --model "$g" --calib-tokens "$work/calib.npy" --out "$work/afile/out"
# disk full during the write: the file size limit makes writes fail with EFBIG (SIGXFSZ ignored)
before=$(sums "$g")
(ulimit -f 200; "$ENWANDA" $(prune_args "$g") 2> "$work/stderr"); rc=$?
if [ $rc = 4 ] && grep -q "enwanda: error: .*File too large" "$work/stderr" && [ ! -e "$work/out" ] && ! temp_left && [ "$before" = "$(sums "$g")" ]; then
  pass=$((pass+1)); echo "ok   disk full during the write"; else fail=$((fail+1)); echo "FAIL disk full during the write (rc $rc): $(tail -1 "$work/stderr")"; fi

# disk full while writing a calibration .npy: the previous file stays whole, no temporary is left
cp "$work/calib.npy" "$work/calib-copy.npy"
(ulimit -f 1; "$ENWANDA" calib --model "$g" --calib "$work/corpus.txt" --nsamples 8 --seqlen 32 --out "$work/calib-copy.npy" --overwrite -q 2> "$work/stderr"); rc=$?
if [ $rc = 4 ] && grep -q "enwanda: error: cannot write .*calib-copy.npy .*File too large" "$work/stderr" &&
   cmp -s "$work/calib.npy" "$work/calib-copy.npy" && [ -z "$(find "$work" -maxdepth 1 -name '.calib-copy.npy.tmp*' -print -quit)" ]; then
  pass=$((pass+1)); echo "ok   disk full writing calib .npy keeps the old file"
else fail=$((fail+1)); echo "FAIL disk full writing calib .npy (rc $rc): $(tail -1 "$work/stderr")"; fi

# zero-shot data
zs() { echo eval zeroshot --model "$g" --task "$1" --data "$work/zs.jsonl"; }
echo '{"context": "Is it?", "choices": ["no", "yes"], "label": 2}' > "$work/zs.jsonl"
expect "zero-shot label not a choice" 3 "label 2 is not a choice index" "$g" -- $(zs mc)
echo '{"passage": "p"}' > "$work/zs.jsonl"
expect "zero-shot example without its fields" 3 "zs.jsonl:1: not a valid boolq example" "$g" -- $(zs boolq)
"$PY" -c "import json; print(json.dumps({'context': 'Is it?', 'choices': ['no', ' '.join(['river'] * 600)], 'label': 0}))" > "$work/zs.jsonl"
expect "zero-shot choice longer than the context window" 3 "longer than the model's context window (512)" "$g" -- $(zs mc)
expect "zero-shot template without an mc task" 2 "--template and --choices apply to --task mc only" "$g" -- \
  eval zeroshot --model "$g" --task boolq --data "$work/zs.jsonl" --template "Q: {text}"
expect "ppl --seqlen with --data-tokens" 2 "--seqlen applies to --data text" "$g" -- \
  eval ppl --model "$g" --data-tokens "$work/calib.npy" --seqlen 16
expect "zero-shot unknown task" 2 "--task must be one of boolq, rte, hellaswag, winogrande, arc_easy, arc_challenge, openbookqa, piqa, mc, lambada_openai, mmlu or wanda7; got lambada" "$g" -- $(zs lambada)
echo '{"question": "q?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "C"}' > "$work/zs.jsonl"
expect "zero-shot answerKey not among the labels" 3 'zs.jsonl:1: not a valid arc_easy example: answerKey "C" is not one of choices.label ["A","B"]' "$g" -- $(zs arc_easy)
echo '{"sentence": "a _ b", "option1": "x", "option2": "y", "answer": "3"}' > "$work/zs.jsonl"
expect "zero-shot winogrande answer not 1 or 2" 3 'not a valid winogrande example: field "answer" must be "1" or "2", got "3"' "$g" -- $(zs winogrande)
expect "zero-shot wanda7 without --data-dir" 2 "--task wanda7 reads {task}.jsonl from --data-dir DIR" "$g" -- \
  eval zeroshot --model "$g" --task wanda7 --data "$work/zs.jsonl"
mkdir -p "$work/zsdir" && cp "$work/zs.jsonl" "$work/zsdir/boolq.jsonl"
expect "zero-shot --data-dir without a task's file" 3 "zsdir/rte.jsonl: task data for rte does not exist" "$g" -- \
  eval zeroshot --model "$g" --task wanda7 --data-dir "$work/zsdir"
expect "zero-shot --data and --data-dir" 2 "give either --data per --task or one --data-dir, not both" "$g" -- \
  eval zeroshot --model "$g" --task boolq --data "$work/zs.jsonl" --data-dir "$work/zsdir"
expect "negative --threads" 2 "--threads: Value -3 not in range" "$g" -- $(prune_args "$g") --threads -3
expect "negative --batch-size" 2 "--batch-size: Value -1 not in range" "$g" -- eval ppl --model "$g" --data "$work/corpus.txt" --batch-size -1

# interruption: a model slow enough to be caught mid-run
cat > "$work/slow.json" <<'JSON'
{"model_type": "llama", "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 12,
 "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 512}
JSON
"$ENWANDA" synth --shape "$work/slow.json" --out "$work/slow" -q
if "$ENWANDA" calib --model "$work/slow" --calib "$work/corpus.txt" --nsamples 8 --seqlen 256 --out "$work/slow.npy" -q 2> "$work/stderr"; then
  pass=$((pass+1)); echo "ok   calib of the 12-layer model"
else fail=$((fail+1)); echo "FAIL calib of the 12-layer model: $(cat "$work/stderr")"; fi
for sig in INT TERM HUP; do  # HUP: an ssh session dropping ends the run as TERM does
  case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; esac
  "$ENWANDA" prune --model "$work/slow" --calib-tokens "$work/slow.npy" --out "$work/out" --threads 1 2> "$work/stderr" &
  pid=$!
  for _ in $(seq 100); do grep -q "layer 0" "$work/stderr" 2>/dev/null && break; sleep 0.05; done
  kill -s "$sig" "$pid"; wait "$pid"; rc=$?
  if [ "$rc" = "$want" ] && [ ! -e "$work/out" ] && ! temp_left && grep -q "interrupted by SIG$sig" "$work/stderr" &&
     [ "$(grep -c "^enwanda: stopping" "$work/stderr")" = 1 ]; then
    pass=$((pass+1)); echo "ok   SIG$sig: exit $rc, \"stopping\" said once, nothing left behind"
  else
    fail=$((fail+1)); echo "FAIL SIG$sig: exit $rc (want $want); $(tail -1 "$work/stderr")"; fi
  rm -rf "$work/out"
done

# a WikiText directory (train, valid, test) as --calib: it works, and the warning says all splits are joined
mkdir -p "$work/wikitext"; cp "$work/corpus.txt" "$work/wikitext/wiki.train.raw"; cp "$work/corpus.txt" "$work/wikitext/wiki.test.raw"
if "$ENWANDA" calib --model "$g" --calib "$work/wikitext" --nsamples 2 --seqlen 32 --out "$work/wt.npy" -q 2> "$work/stderr" &&
   grep -q "holds several WikiText files (wiki.test.raw, wiki.train.raw)" "$work/stderr"; then
  pass=$((pass+1)); echo "ok   WikiText directory as --calib warns"
else fail=$((fail+1)); echo "FAIL WikiText directory as --calib warns: $(cat "$work/stderr")"; fi

# windows longer than max_position_embeddings (512 for tiny) are refused, unless asked for with
# --allow-untrained-positions; then run, with a warning. The default is max_position_embeddings.
expect "calib --seqlen past max_position_embeddings" 2 "--seqlen 600 runs past the model's max_position_embeddings (512)" "$g" -- \
  calib --model "$g" --calib "$work/corpus.txt" --nsamples 2 --seqlen 600 --out "$work/long.npy"
expect "prune --seqlen past max_position_embeddings" 2 "add --allow-untrained-positions" "$g" -- \
  prune --model "$g" --calib "$work/corpus.txt" --nsamples 2 --seqlen 513 --out "$work/long"
if "$ENWANDA" calib --model "$g" --calib "$work/corpus.txt" --nsamples 1 --out "$work/auto.npy" 2> "$work/stderr" &&
   grep -q "seqlen auto: 512 tokens (max_position_embeddings 512)" "$work/stderr" &&
   "$PY" -c "import numpy, sys; assert numpy.load(sys.argv[1]).shape == (1, 512)" "$work/auto.npy"; then
  pass=$((pass+1)); echo "ok   calib's default --seqlen is max_position_embeddings"
else fail=$((fail+1)); echo "FAIL calib's default --seqlen is max_position_embeddings: $(cat "$work/stderr")"; fi
if "$ENWANDA" calib --model "$g" --calib "$work/corpus.txt" --nsamples 2 --seqlen 600 --allow-untrained-positions --out "$work/long.npy" -q 2> "$work/stderr" &&
   grep -q "calibration sequences of 600 tokens run past the model's max_position_embeddings (512)" "$work/stderr"; then
  pass=$((pass+1)); echo "ok   calibration past max_position_embeddings warns"
else fail=$((fail+1)); echo "FAIL calibration past max_position_embeddings warns: $(cat "$work/stderr")"; fi

if "$ENWANDA" eval ppl --model "$g" --data "$work/corpus.txt" --seqlen 256 --slices 1000 > "$work/stdout" 2> "$work/stderr" &&
   grep -q -- "--slices 1000 asks for more windows than the text has" "$work/stderr"; then
  pass=$((pass+1)); echo "ok   --slices past the text's windows warns"
else fail=$((fail+1)); echo "FAIL --slices past the text's windows warns: $(cat "$work/stderr")"; fi

# one line per layer off a terminal, with the time left at the mean layer time until the last
if "$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --out "$work/eta" 2> "$work/stderr" &&
   grep -qE "\[   1/   2\] layer 0: 0\.5000 sparsity, [0-9.]+ s, about [0-9.]+ (s|min|h) left$" "$work/stderr" &&
   grep -qE "\[   2/   2\] layer 1: 0\.5000 sparsity, [0-9.]+ s$" "$work/stderr"; then
  pass=$((pass+1)); echo "ok   per-layer lines say the time left"
else fail=$((fail+1)); echo "FAIL per-layer lines say the time left: $(grep layer "$work/stderr")"; fi

# pruning enwanda's own output again works, with a warning naming what the first run did; inspect names it too
if "$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --structure 2:4 --out "$work/pruned" -q &&
   "$ENWANDA" prune --model "$work/pruned" --calib-tokens "$work/calib.npy" --out "$work/pruned2" 2> "$work/stderr" &&
   grep -qF "is the output of enwanda prune --model $work/good --calib-tokens $work/calib.npy --out $work/pruned --method en --geometry modified --alpha 0.5 --structure 2:4 --allocation uniform --seed 0 --stat-norm sequences --sequential --device auto --dtype auto --batch-size 0 --threads 0 (enwanda_report.json); pruning it prunes an already pruned model" "$work/stderr" &&
   shown=$("$ENWANDA" inspect "$work/pruned") &&
   grep -qxF "pruned by: enwanda prune --model $work/good --calib-tokens $work/calib.npy --out $work/pruned --method en --geometry modified --alpha 0.5 --structure 2:4 --allocation uniform --seed 0 --stat-norm sequences --sequential --device auto --dtype auto --batch-size 0 --threads 0" <<< "$shown" &&
   shown=$("$ENWANDA" inspect "$work/pruned2") &&
   grep -qxF "pruned by: enwanda prune --model $work/pruned --calib-tokens $work/calib.npy --out $work/pruned2 --method en --geometry modified --alpha 0.5 --sparsity 0.5 --allocation uniform --seed 0 --stat-norm sequences --sequential --device auto --dtype auto --batch-size 0 --threads 0" <<< "$shown" &&
   shown=$("$ENWANDA" inspect "$g") && ! grep -q "pruned by" <<< "$shown" &&
   "$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --out "$work/pruned3" 2> "$work/stderr3" &&
   ! grep -q "already pruned" "$work/stderr3"; then
  pass=$((pass+1)); echo "ok   pruning a pruned checkpoint warns; inspect says what pruned it"
else fail=$((fail+1)); echo "FAIL pruning a pruned checkpoint warns: $(cat "$work/stderr")"; fi

# help: every subcommand's exits 0, shows its usage as typed ("Usage: enwanda eval ppl"), lists
# --config (every command that runs takes a preset), names
# its flags plainly (CLI11 would print "--no-overlap{false}") and describes every option
for sub in prune calib eval "eval ppl" "eval zeroshot" synth inspect report; do
  # shellcheck disable=SC2086  # $sub is a subcommand path
  if "$ENWANDA" $sub --help > "$work/help" 2>&1 && grep -q -- "--help" "$work/help" && ! grep -qE '^ *-[^ ]*\{' "$work/help" &&
     grep -q "^Usage: enwanda $sub \[OPTIONS\]" "$work/help" && { [ "$sub" = eval ] || [[ "$(< "$work/help")" == *--config* ]]; } &&
     [ -z "$(awk '/^  -/ { d = substr($0, 31); gsub(/ /, "", d); if (d == "") { held = $0; next } } held != "" && substr($0, 1, 30) !~ /^ *$/ { print held } { held = "" }' "$work/help")" ]; then
    pass=$((pass+1)); echo "ok   $sub --help"
  else
    fail=$((fail+1)); echo "FAIL $sub --help: $(grep -E '^Usage|^ *-[^ ]*\{' "$work/help" | head -2)"; fi
done

# checkpoint quirks: tensors enwanda does not use (older saves' rotary_emb.inv_freq) are carried byte
# for byte with one warning; every non-weight file of the input is carried; a linear's bias is refused
add_tensors() {  # model, python statements changing dict t of name -> tensor
  "$PY" - "$1" "$ENWANDA_SOURCE_DIR/tests/reference/reference.py" "$2" <<'PYEOF'
import importlib.util, os, sys, torch
spec = importlib.util.spec_from_file_location("reference", sys.argv[2]); ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
p = os.path.join(sys.argv[1], "model.safetensors"); t = ref.read_safetensors(p)
exec(sys.argv[3])
ref.write_safetensors(p, t)
PYEOF
}
q=$(variant quirks)
add_tensors "$q" 'for i in range(2): t[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = torch.arange(8, dtype=torch.float32) / (i + 3)'
for f in added_tokens.json chat_template.jinja LICENSE.txt README.md; do echo "carried $f" > "$q/$f"; done
"$ENWANDA" prune --model "$q" --calib-tokens "$work/calib.npy" --out "$work/out" -q 2> "$work/stderr"; rc=$?
if [ $rc = 0 ] && [ "$(grep -c warning "$work/stderr")" = 1 ] &&
   grep -q "2 tensor(s) that enwanda does not use are copied to the output byte for byte: model.layers.0.self_attn.rotary_emb.inv_freq" "$work/stderr" &&
   "$PY" - "$q" "$work/out" "$ENWANDA_SOURCE_DIR/tests/reference/reference.py" <<'PYEOF'
import importlib.util, os, sys, torch
spec = importlib.util.spec_from_file_location("reference", sys.argv[3]); ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
a = ref.read_safetensors(os.path.join(sys.argv[1], "model.safetensors"))
b = ref.read_safetensors(os.path.join(sys.argv[2], "model.safetensors"))
for i in range(2):
    n = f"model.layers.{i}.self_attn.rotary_emb.inv_freq"
    assert torch.equal(a[n], b[n]), n
PYEOF
then
  ok_files=1
  for f in added_tokens.json chat_template.jinja LICENSE.txt; do cmp -s "$q/$f" "$work/out/$f" || ok_files=0; done
  grep -q "^- method: en" "$work/out/README.md" || ok_files=0  # README.md: the pruned model's own card
  if [ $ok_files = 1 ]; then pass=$((pass+1)); echo "ok   unused tensors and every non-weight file carried to the output"
  else fail=$((fail+1)); echo "FAIL non-weight files not carried: $(ls "$work/out")"; fi
else fail=$((fail+1)); echo "FAIL unused tensors (rc $rc): $(cat "$work/stderr")"; fi
rm -rf "$work/out"
b=$(variant bias)
add_tensors "$b" 't["model.layers.1.self_attn.q_proj.bias"] = torch.zeros(t["model.layers.1.self_attn.q_proj.weight"].shape[0])'
expect "a linear's bias the config does not announce" 3 "model.layers.1.self_attn.q_proj.bias\" is a bias, but config.json's attention_bias says the linear has none" \
  "$b" -- $(prune_args "$b")
expect "a bias refused by eval ppl too, before any work" 3 "q_proj.bias\" is a bias, but config.json's attention_bias" "$b" -- \
  eval ppl --model "$b" --data-tokens "$work/calib.npy"
b=$(variant mlpbias)
add_tensors "$b" 't["model.layers.0.mlp.down_proj.bias"] = torch.zeros(64)'
cfg "$b" 'c["attention_bias"] = False'
expect "an MLP bias without mlp_bias" 3 "model.layers.0.mlp.down_proj.bias\" is a bias, but config.json's mlp_bias says the linear has none" \
  "$b" -- $(prune_args "$b")

# --load-stats identifies the weights the statistics were gathered on: a model of the same shape (another
# seed), another --stat-norm and another layer count are refused, naming the setting
"$ENWANDA" prune --model "$g" --calib-tokens "$work/calib.npy" --no-sequential --save-stats "$work/stats.safetensors" \
  --out "$work/stats-out" -q || echo "FAIL could not save statistics"
rm -rf "$work/stats-out"
"$ENWANDA" synth --shape tiny --seed 99 --out "$work/other-seed" -q
expect "statistics of another model of the same shape" 3 "statistics were gathered with enwanda.model_weights" "$work/other-seed" -- \
  $(prune_args "$work/other-seed") --no-sequential --load-stats "$work/stats.safetensors"
expect "statistics with another --stat-norm" 3 "enwanda.stat_norm = sequences, this run has tokens" "$g" -- \
  $(prune_args "$g") --no-sequential --load-stats "$work/stats.safetensors" --stat-norm tokens
"$ENWANDA" synth --shape tiny --seed 7 --layers 3 --out "$work/three-layers" -q
expect "statistics of another layer count" 3 "enwanda.num_layers = 2, this run has 3" "$work/three-layers" -- \
  $(prune_args "$work/three-layers") --no-sequential --load-stats "$work/stats.safetensors"
"$ENWANDA" $(prune_args "$g") --no-sequential --load-stats "$work/stats.safetensors" -q 2> "$work/stderr"; rc=$?
if [ $rc = 0 ]; then pass=$((pass+1)); echo "ok   statistics of the same model load"; else fail=$((fail+1)); echo "FAIL same model's statistics: $(cat "$work/stderr")"; fi
rm -rf "$work/out"

# calibration files as users have them: gzip (C4's shards) read through zlib, JSON lines recognised
# by content whatever the name, binary data refused with its byte offset
"$PY" - "$work/corpus.txt" "$work/c4" <<'PYEOF'
import gzip, json, os, sys
os.makedirs(sys.argv[2], exist_ok=True)
paras = [p for p in open(sys.argv[1], encoding="utf-8").read().split("\n") if p.strip()]
lines = "".join(json.dumps({"text": p, "timestamp": "2019-04-25", "url": "https://example.org"}) + "\n" for p in paras)
open(os.path.join(sys.argv[2], "c4.jsonl"), "w", encoding="utf-8").write(lines)
open(os.path.join(sys.argv[2], "c4-train.json"), "w", encoding="utf-8").write(lines)
open(os.path.join(sys.argv[2], "c4-as.txt"), "w", encoding="utf-8").write(lines)
with gzip.open(os.path.join(sys.argv[2], "c4-train.00000-of-01024.json.gz"), "wt", encoding="utf-8") as f:
    f.write(lines)
PYEOF
calib_of() { "$ENWANDA" calib --model "$g" --calib "$1" --nsamples 4 --seqlen 32 --out "$2" -q 2> "$work/stderr"; }
calib_of "$work/c4/c4.jsonl" "$work/c4-jsonl.npy"
same=1
for f in c4-train.00000-of-01024.json.gz c4-train.json c4-as.txt; do
  if ! calib_of "$work/c4/$f" "$work/c4-$f.npy" || ! cmp -s "$work/c4-jsonl.npy" "$work/c4-$f.npy"; then
    same=0; echo "     $f: $(cat "$work/stderr")"
  fi
done
if [ $same = 1 ] && "$PY" -c "
import numpy as np, sys; a = np.load(sys.argv[1]); assert a.shape == (4, 32)" "$work/c4-jsonl.npy"; then
  pass=$((pass+1)); echo "ok   .json.gz, .json and JSON lines in a .txt give the tokens of the .jsonl"
else fail=$((fail+1)); echo "FAIL gzip / JSON lines by content"; fi
"$PY" -c "open('$work/binary.txt', 'wb').write(b'plain words here ' * 40 + b'\\x00\\x01\\x02' + b'more')"
expect "binary bytes in a text file" 3 "binary.txt: byte 680 (0x00) is a NUL: not a text file" "$g" -- \
  prune --model "$g" --calib "$work/binary.txt" --out "$work/out"
cp "$work/corpus.txt" "$work/fake.txt.gz"
expect "a .gz that is not gzip" 3 "fake.txt.gz: named .gz but not gzip-compressed" "$g" -- \
  prune --model "$g" --calib "$work/fake.txt.gz" --out "$work/out"
"$ENWANDA" calib --model "$g" --calib "$work/c4" --nsamples 4 --seqlen 32 --out "$work/c4-dir.npy" 2> "$work/stderr"
if grep -q "c4: reading 4 file(s): c4-as.txt, c4-train.00000-of-01024.json.gz, c4-train.json, c4.jsonl" "$work/stderr"; then
  pass=$((pass+1)); echo "ok   a --calib directory logs the files it reads"
else fail=$((fail+1)); echo "FAIL --calib directory log: $(cat "$work/stderr")"; fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
