#!/usr/bin/env bash
# Agreement of enwanda with the independent Python reference (tests/reference/reference.py) on a
# tiny GQA checkpoint: every mask of every method/geometry (α ∈ {0, 0.5, 1}, unstructured and 2:4),
# SparseGPT's weights, RIA, OWL's per-layer sparsities, --no-sequential and --stat-norm tokens,
# perplexity within 1e-5 relative (also from a text over the 64 KB tokenisation chunk, which the
# reference encodes whole), zero-shot log-likelihoods within 1e-5 and equal acc/acc_norm for every task (with BOS, and with
# --no-bos for boolq, winogrande and mc).
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
# four layers, so OWL's outlier ratios spread over more than two values
"$ENWANDA" synth --shape tiny --layers 4 --seed 5 --out "$work/model4" -q

# $tokens: the calibration windows, drawn with the model's own tokenizer (an .npy carries its tokenizer's
# fingerprint, and a model with another tokenizer refuses it); default those of the 2-layer model
check_masks() {  # name, enwanda flags..., -- reference flags...  ($model: the checkpoint, default the 2-layer one)
  local name=$1 model=${model:-$work/model}; shift
  local eflags=() rflags=()
  while [ "$1" != "--" ]; do eflags+=("$1"); shift; done; shift
  rflags=("$@")
  local calib=(--calib-tokens "${tokens:-$work/calib.npy}")  # magnitude reads none, except under OWL
  [[ " ${eflags[*]} " == *" --method magnitude "* && " ${eflags[*]} " != *" --allocation owl "* ]] && calib=()
  "$ENWANDA" prune --model "$model" "${calib[@]}" --out "$work/p-$name" -q "${eflags[@]}"
  if out=$("$PY" "$REF" masks --model "$model" --tokens "${tokens:-$work/calib.npy}" --pruned "$work/p-$name" "${rflags[@]}"); then
    echo "ok   masks $name: $out"
  else
    echo "FAIL masks $name: $out"; fail=1
  fi
  rm -rf "$work/p-$name"
}

check_ppl() {  # model name under $work: perplexity on the calibration windows within 1e-5 of the reference's
  local m=$1 ours ref_ppl
  "$ENWANDA" eval ppl --model "$work/$m" --data-tokens "${tokens:-$work/calib.npy}" --json "$work/ppl-$m.json" -q > /dev/null
  ref_ppl=$("$PY" "$REF" ppl --model "$work/$m" --tokens "${tokens:-$work/calib.npy}")
  ours=$("$PY" -c "import json; print(json.load(open('$work/ppl-$m.json'))['ppl'])")
  if "$PY" -c "import sys; a,b=float('$ours'),float('$ref_ppl'); sys.exit(0 if abs(a-b)/b <= 1e-5 else 1)"; then
    echo "ok   ppl ($m): enwanda $ours, reference $ref_ppl"
  else
    echo "FAIL ppl ($m): enwanda $ours, reference $ref_ppl"; fail=1
  fi
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

# SparseGPT (masks identical, weights within 1e-5 relative; one 128-column block, and blocks of 16),
# RIA, the dense pass without --sequential, statistics divided by tokens
check_masks "sparsegpt" --method sparsegpt -- --method sparsegpt
check_masks "sparsegpt-2of4" --method sparsegpt --structure 2:4 -- --method sparsegpt --structure 2:4
check_masks "sparsegpt-b16-s0.7" --method sparsegpt --sparsegpt-block 16 --sparsity 0.7 --sparsegpt-damp 0.05 \
  -- --method sparsegpt --sparsegpt-block 16 --sparsity 0.7 --sparsegpt-damp 0.05
check_masks "ria" --method ria -- --method ria
check_masks "ria-2of4-a1" --method ria --structure 2:4 --ria-power 1 -- --method ria --structure 2:4 --ria-power 1
check_masks "en-no-sequential" --no-sequential -- --no-sequential
check_masks "wanda-no-sequential-4of8" --method wanda --no-sequential --structure 4:8 \
  -- --method wanda --no-sequential --structure 4:8
# (the modified geometry: α·L1/n + (1−α)·sqrt(L2sq/n) ranks differently for another n; the original
# geometry scales both terms by 1/n and would not notice a wrong divisor)
check_masks "en-modified-stat-norm-tokens" --stat-norm tokens -- --stat-norm tokens
# OWL on four layers: per-layer sparsities (and outlier ratios) to 1e-9, masks of each method
model=$work/model4 check_masks "owl-en" --allocation owl -- --allocation owl
model=$work/model4 check_masks "owl-sparsegpt-l0.2" --allocation owl --method sparsegpt --owl-lambda 0.2 \
  -- --allocation owl --method sparsegpt --owl-lambda 0.2
model=$work/model4 check_masks "owl-ria-m3" --allocation owl --method ria --owl-m 3 -- --allocation owl --method ria --owl-m 3
model=$work/model4 check_masks "owl-magnitude-s0.7" --allocation owl --method magnitude --sparsity 0.7 \
  -- --allocation owl --method magnitude --sparsity 0.7

# other families and configs: biases (llama's attention_bias/mlp_bias, qwen2's q/k/v), sliding
# windows shorter than the windows (mistral; qwen2 from max_window_layers on; qwen3 by layer_types),
# qwen3's q/k norms, YaRN RoPE written as transformers 5's rope_parameters; a bf16 checkpoint and a
# sharded one (the output's index compared). Perplexity within 1e-5 and masks of three methods.
"$PY" - "$work" <<'PYEOF'
import json, sys
w = sys.argv[1]
def config(name, **fields):
    c = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 3,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 512,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}
    c.update(fields)
    json.dump(c, open(f"{w}/{name}.json", "w"), indent=1)
config("qwen2-window", model_type="qwen2", use_sliding_window=True, sliding_window=12, max_window_layers=1,
       tie_word_embeddings=True, rms_norm_eps=1e-6)
config("qwen3-types", model_type="qwen3", head_dim=24, attention_bias=True, use_sliding_window=True, sliding_window=20,
       layer_types=["sliding_attention", "full_attention", "sliding_attention"])
config("llama-yarn-v5", rope_parameters={"rope_type": "yarn", "rope_theta": 50000.0, "factor": 4.0,
       "original_max_position_embeddings": 32}, max_position_embeddings=128, attention_bias=True)
PYEOF
family_models=(tiny-llama-bias tiny-mistral tiny-qwen2 tiny-qwen3)
for shape in "${family_models[@]}"; do "$ENWANDA" synth --shape "$shape" --seed 4 --out "$work/$shape" -q; done
for c in qwen2-window qwen3-types llama-yarn-v5; do
  "$ENWANDA" synth --shape "$work/$c.json" --seed 4 --out "$work/$c" -q; family_models+=("$c")
done
"$ENWANDA" synth --shape tiny --dtype bf16 --seed 6 --out "$work/bf16" -q
"$ENWANDA" synth --shape tiny --layers 6 --shard-mib 1 --seed 6 --out "$work/sharded" -q
family_models+=(bf16 sharded)
for m in "${family_models[@]}"; do
  tokens=$work/calib-$m.npy
  "$ENWANDA" calib --model "$work/$m" --calib "$work/corpus.txt" --nsamples 6 --seqlen 48 --seed 1 --out "$tokens" -q
  check_ppl "$m"
  model=$work/$m check_masks "$m-en" -- --method en
  model=$work/$m check_masks "$m-sparsegpt-2of4" --method sparsegpt --structure 2:4 -- --method sparsegpt --structure 2:4
  model=$work/$m check_masks "$m-wanda++-rgs" --method wanda++ --no-ro -- --method wanda++
done
unset tokens
"$ENWANDA" prune --model "$work/sharded" --calib-tokens "$work/calib.npy" --out "$work/p-sharded" -q
if "$PY" - "$work/sharded" "$work/p-sharded" <<'PYEOF'
import json, os, sys
a, b = (json.load(open(os.path.join(d, "model.safetensors.index.json")))["weight_map"] for d in sys.argv[1:3])
shards = sorted(set(a.values()))
print(f"     {len(a)} tensors in {len(shards)} shards")
sys.exit(0 if a == b and len(shards) > 1 and all(os.path.exists(os.path.join(sys.argv[2], s)) for s in shards) else 1)
PYEOF
then echo "ok   sharded output: the same index as the input"; else echo "FAIL sharded output index differs"; fail=1; fi

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
  check_ppl "$m"
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

# zero-shot: one small file per task, named {task}.jsonl as `--task wanda7 --data-dir` reads them.
# Choices mix ASCII with accents, CJK and emoji, so acc_norm by bytes and by code points disagree.
mkdir "$work/zs"
"$PY" - "$work/zs" <<'PYEOF'
import json, sys
w = sys.argv[1]
words = ("the river rose slowly through the night and by morning the lower fields were under water "
         "café naïve 東京 河川 🌊 über straße").split()
# byte-fallback pieces make CJK and emoji cost a token per byte, and rare letters a token each: between
# such choices, dividing by bytes and by code points pick different answers
odd = ["東京河川", "zq xj", "🌊 über", "qz jx vk", "河川", "naïve 東京"]
def pick(i, n):
    return " ".join(words[(i * 7 + k) % len(words)] for k in range(n))
def choice(i, k):
    return odd[(i + k) % len(odd)] if k < 2 else pick(i + k, 1 + (k * 3) % 4)
def write(name, docs):
    with open(f"{w}/{name}.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
write("boolq", [{"passage": pick(i, 8), "question": "is the " + pick(i + 1, 1) + " wet", "label": i % 2} for i in range(12)])
write("rte", [{"sentence1": pick(i, 9), "sentence2": pick(i + 3, 4) + ".", "label": i % 2, "idx": i} for i in range(6)]
      + [{"premise": pick(i, 7), "hypothesis": pick(i + 2, 3) + ".", "label": (i + 1) % 2} for i in range(2)])
write("hellaswag", [{"activity_label": "Baking bread", "ctx_a": "A man mixes flour [title] and water.",
                     "ctx_b": "then he " + pick(i, 1), "endings": [choice(i, k) for k in range(4)],
                     "label": str(i % 4)} for i in range(12)])
write("winogrande", [{"sentence": pick(i, 4) + " _ " + pick(i + 2, 5) + ".", "option1": pick(i + 4, 1),
                      "option2": pick(i + 5, 2), "answer": str(1 + i % 2)} for i in range(12)])
def lettered(i, keys):
    return {"text": [choice(i, k) for k in range(len(keys))], "label": keys}
write("arc_easy", [{"id": str(i), "question": pick(i, 6) + "?", "choices": lettered(i, ["A", "B", "C", "D"]),
                    "answerKey": "ABCD"[i % 4]} for i in range(12)])
write("arc_challenge", [{"id": str(i), "question": pick(i + 1, 5) + "?", "choices": lettered(i, ["1", "2", "3"]),
                         "answerKey": "123"[i % 3]} for i in range(12)])
write("openbookqa", [{"id": str(i), "question_stem": pick(i, 5), "choices": lettered(i + 1, ["A", "B", "C", "D"]),
                      "answerKey": " " + "ABCD"[(i + 1) % 4]} for i in range(12)])
write("piqa", [{"goal": pick(i, 5), "sol1": choice(i, 0), "sol2": choice(i, 1), "label": i % 2} for i in range(12)])
write("mc", [{"context": "Question: what rose? Answer:", "choices": ["the river", "the sky", "a 東京 bird"], "label": i % 3}
             for i in range(4)] + [{"context": "", "choices": ["the river", "the sky"], "label": 0}])
write("phish", [{"text": pick(i, 6), "label": i % 2} for i in range(4)])
PYEOF
compare_zs() {  # task data result [reference flags...]
  local task=$1 data=$2 result=$3; shift 3
  if out=$("$PY" "$REF" zeroshot --model "$work/model" --task "$task" --data "$data" --result "$result" "$@"); then
    echo "ok   $out${*:+ ($*)}"
  else
    echo "FAIL $out${*:+ ($*)}"; fail=1
  fi
}
"$ENWANDA" eval zeroshot --model "$work/model" --task wanda7 --data-dir "$work/zs" --json "$work/w7.json" -q > "$work/w7.txt"
for task in boolq rte hellaswag winogrande arc_easy arc_challenge openbookqa; do
  compare_zs "$task" "$work/zs/$task.jsonl" "$work/w7.json"
done
if grep -q "BoolQ.*RTE.*HellaSwag.*WinoGrande.*ARC-e.*ARC-c.*OBQA.*Mean" "$work/w7.txt"; then echo "ok   wanda7 table printed"
else echo "FAIL wanda7 table missing:"; cat "$work/w7.txt"; fail=1; fi
"$ENWANDA" eval zeroshot --model "$work/model" --task piqa --data "$work/zs/piqa.jsonl" --task mc --data "$work/zs/mc.jsonl" \
  --json "$work/pm.json" -q > /dev/null
compare_zs piqa "$work/zs/piqa.jsonl" "$work/pm.json"
compare_zs mc "$work/zs/mc.jsonl" "$work/pm.json"
template=$'Email: {text}\nIs this email a phishing attempt? Answer:'
"$ENWANDA" eval zeroshot --model "$work/model" --task mc --data "$work/zs/phish.jsonl" --template "$template" --choices no,yes \
  --json "$work/ph.json" -q > /dev/null
compare_zs mc "$work/zs/phish.jsonl" "$work/ph.json" --template "$template" --choices no,yes
"$ENWANDA" eval zeroshot --model "$work/model" --task boolq --data "$work/zs/boolq.jsonl" --task winogrande \
  --data "$work/zs/winogrande.jsonl" --task mc --data "$work/zs/mc.jsonl" --no-bos --json "$work/nb.json" -q > /dev/null
for task in boolq winogrande mc; do compare_zs "$task" "$work/zs/$task.jsonl" "$work/nb.json" --no-bos; done

[ $fail = 0 ] && echo "reference agreement: all checks passed" || echo "reference agreement: FAILURES"
exit $fail
