#!/usr/bin/env bash
# Agreement of enwanda with the independent Python reference (tests/reference/reference.py) on a
# tiny GQA checkpoint: every mask of every method/geometry (α ∈ {0, 0.5, 1}, unstructured and 2:4),
# perplexity within 1e-5 relative (also from a text over the 64 KB tokenisation chunk, which the
# reference encodes whole), zero-shot log-likelihoods within 1e-4 for each task format (with BOS,
# and with --no-bos for boolq and mc).
set -euo pipefail
ENWANDA=${1:?usage: run_reference_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/reference.py"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

"$ENWANDA" synth --shape tiny --seed 3 --out "$work/model" -q
for i in 1 2 3 4 5 6; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"
"$ENWANDA" calib --model "$work/model" --calib "$work/corpus.txt" --nsamples 6 --seqlen 48 --seed 1 --out "$work/calib.npy" -q

check_masks() {  # name, enwanda flags..., -- reference flags...
  local name=$1; shift
  local eflags=() rflags=()
  while [ "$1" != "--" ]; do eflags+=("$1"); shift; done; shift
  rflags=("$@")
  "$ENWANDA" prune --model "$work/model" --calib-tokens "$work/calib.npy" --out "$work/p-$name" -q "${eflags[@]}"
  if out=$("$PY" "$REF" masks --model "$work/model" --tokens "$work/calib.npy" --pruned "$work/p-$name" "${rflags[@]}"); then
    echo "ok   masks $name: $out"
  else
    echo "FAIL masks $name: $out"; fail=1
  fi
  rm -rf "$work/p-$name"
}

for structure in unstructured 2:4; do
  s_e=(--structure "$structure"); s_r=(); [ "$structure" = 2:4 ] && s_r=(--structure 2:4)
  for geometry in original modified; do
    for alpha in 0 0.5 1; do
      check_masks "en-$geometry-$alpha-${structure/:/of}" --method en --geometry "$geometry" --alpha "$alpha" "${s_e[@]}" \
        -- --method en --geometry "$geometry" --alpha "$alpha" "${s_r[@]}"
    done
  done
  check_masks "wanda-${structure/:/of}" --method wanda "${s_e[@]}" -- --method wanda "${s_r[@]}"
  check_masks "magnitude-${structure/:/of}" --method magnitude "${s_e[@]}" -- --method magnitude "${s_r[@]}"
done
check_masks "en-modified-0.5-s0.3" --sparsity 0.3 -- --sparsity 0.3
# Wanda++ regional-gradient scores (RGS only; RO changes weights and is tested in regional_test)
check_masks "wanda++-rgs" --method wanda++ --no-ro -- --method wanda++
check_masks "en++-original-0.5-rgs" --method en++ --geometry original --alpha 0.5 --no-ro --rgs-scale 30 \
  -- --method en++ --geometry original --alpha 0.5 --rgs-scale 30

# perplexity on the same windows: the dense model, a pruned one, and one whose linears are all zero
# (written by the reference)
"$ENWANDA" prune --model "$work/model" --calib-tokens "$work/calib.npy" --out "$work/pruned" -q
"$PY" - "$work/model" "$work/zeroed" "$REF" <<'PYEOF'
import importlib.util, os, shutil, sys
spec = importlib.util.spec_from_file_location("reference", sys.argv[3]); ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
t = ref.read_safetensors(os.path.join(src, "model.safetensors"))
ref.write_safetensors(os.path.join(dst, "model.safetensors"),
                      {k: (v * 0 if k.endswith("_proj.weight") else v) for k, v in t.items()})
PYEOF
for m in model pruned zeroed; do  # model = the dense checkpoint
  "$ENWANDA" eval ppl --model "$work/$m" --data-tokens "$work/calib.npy" --json "$work/ppl-$m.json" -q > /dev/null
  ref_ppl=$("$PY" "$REF" ppl --model "$work/$m" --tokens "$work/calib.npy")
  ours=$("$PY" -c "import json; print(json.load(open('$work/ppl-$m.json'))['ppl'])")
  if "$PY" -c "import sys; a,b=float('$ours'),float('$ref_ppl'); sys.exit(0 if abs(a-b)/b <= 1e-5 else 1)"; then
    echo "ok   ppl ($m model): enwanda $ours, reference $ref_ppl"
  else
    echo "FAIL ppl ($m model): enwanda $ours, reference $ref_ppl"; fail=1
  fi
done

# perplexity from text over the 64 KB chunk size, in WikiText's layout: enwanda encodes it in
# word-aligned chunks on several threads, the reference encodes it whole
"$PY" - "$SRC/data/tokenizer_corpus.txt" "$work/long.txt" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
out = []
for rep in range(16):
    out.append(f" = Section {rep} = \n \n")
    out += [f" {line} \n" for line in lines]
open(sys.argv[2], "w", encoding="utf-8").write("".join(out))
PYEOF
"$ENWANDA" eval ppl --model "$work/model" --data "$work/long.txt" --seqlen 128 --json "$work/ppl-text.json" -q > /dev/null
ref_ppl=$("$PY" "$REF" ppl --model "$work/model" --text "$work/long.txt" --seqlen 128)
if "$PY" - "$work/ppl-text.json" "$ref_ppl" "$work/long.txt" <<'PYEOF'
import json, os, sys
r = json.load(open(sys.argv[1])); ref = float(sys.argv[2])
assert os.path.getsize(sys.argv[3]) > 64 * 1024, "the text must exceed one 64 KB chunk"
print(f"     text {os.path.getsize(sys.argv[3])} bytes, {r['windows']} windows: enwanda {r['ppl']}, reference {ref}")
sys.exit(0 if abs(r["ppl"] - ref) / ref <= 1e-5 else 1)
PYEOF
then echo "ok   ppl from text in chunks"; else echo "FAIL ppl from text in chunks"; fail=1; fi

# zero-shot: one small file per format
"$PY" - "$work" <<'PYEOF'
import json, sys
w = sys.argv[1]
words = "the river rose slowly through the night and by morning the lower fields were under water".split()
with open(f"{w}/boolq.jsonl", "w") as f:
    for i in range(6):
        f.write(json.dumps({"passage": " ".join(words[i:i + 8]), "question": "is the " + words[i + 1] + " wet",
                            "label": i % 2}) + "\n")
with open(f"{w}/hellaswag.jsonl", "w") as f:
    for i in range(4):
        f.write(json.dumps({"activity_label": "Baking bread", "ctx_a": "A man mixes flour [title] and water.",
                            "ctx_b": "then he " + words[i], "endings": [" ".join(words[i + k:i + k + 4]) for k in range(4)],
                            "label": str(i % 4)}) + "\n")
with open(f"{w}/mc.jsonl", "w") as f:
    for i in range(4):
        f.write(json.dumps({"context": "Question: what rose? Answer:", "choices": ["the river", "the sky", "a bird"],
                            "label": i % 3}) + "\n")
    f.write(json.dumps({"context": "", "choices": ["the river", "the sky"], "label": 0}) + "\n")
with open(f"{w}/phish.jsonl", "w") as f:
    for i in range(4):
        f.write(json.dumps({"text": " ".join(words[i:i + 6]), "label": i % 2}) + "\n")
PYEOF
zs_flags=()  # given to both: --no-bos
run_zs() {  # task data [template choices]
  local task=$1 data=$2 extra=("${zs_flags[@]}")
  [ $# -ge 4 ] && extra+=(--template "$3" --choices "$4")
  "$ENWANDA" eval zeroshot --model "$work/model" --task "$task" --data "$work/$data" "${extra[@]}" --json "$work/zs.json" -q > /dev/null
  if out=$("$PY" "$REF" zeroshot --model "$work/model" --task "$task" --data "$work/$data" --result "$work/zs.json" "${extra[@]}"); then
    echo "ok   $out ($data${zs_flags[*]:+, ${zs_flags[*]}})"
  else
    echo "FAIL $out ($data${zs_flags[*]:+, ${zs_flags[*]}})"; fail=1
  fi
}
run_zs boolq boolq.jsonl
run_zs hellaswag hellaswag.jsonl
run_zs mc mc.jsonl
run_zs mc phish.jsonl "Email: {text}
Is this email a phishing attempt? Answer:" "no,yes"
zs_flags=(--no-bos)
run_zs boolq boolq.jsonl
run_zs mc mc.jsonl

[ $fail = 0 ] && echo "reference agreement: all checks passed" || echo "reference agreement: FAILURES"
exit $fail
