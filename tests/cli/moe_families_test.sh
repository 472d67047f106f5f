#!/usr/bin/env bash
# The mixture-of-experts families through the CLI: synth a tiny checkpoint of each (mixtral,
# qwen2_moe, qwen3_moe, olmoe), evaluate it from text, inspect it (family, experts, MoE layout,
# synth --layers keeping the layout); prune refuses them by name until experts are pruned.
set -uo pipefail
ENWANDA=${1:?usage: moe_families_test.sh path/to/enwanda}
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
for i in 1 2 3 4; do cat "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"

for shape in tiny-mixtral tiny-qwen2-moe tiny-qwen3-moe tiny-olmoe; do
  m=$work/$shape
  "$ENWANDA" synth --shape "$shape" --seed 2 --out "$m" -q
  info=$("$ENWANDA" inspect "$m")
  type=${shape#tiny-}; type=${type//-/_}
  check "$shape: inspect names the family ($type) and the experts" \
    "[[ \"\$info\" == *'(model_type $type)'* && \"\$info\" == *'experts: '* ]]"
  dense=$("$ENWANDA" eval ppl --model "$m" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}')
  check "$shape: evaluates ($dense)" "[ -n '$dense' ]"
  err=$("$ENWANDA" prune --model "$m" --calib "$work/corpus.txt" --nsamples 2 --seqlen 16 --out "$m-p" -q 2>&1)
  code=$?
  check "$shape: prune refuses a mixture of experts by name, leaving no output (exit $code)" \
    "[ $code = 3 ] && [[ \"\$err\" == *'mixture of experts'* ]] && [ ! -e '$m-p' ]"
done
check "tiny-qwen3-moe: inspect shows the MoE layout (layer 1 only)" \
  "[[ \"\$(\"\$ENWANDA\" inspect \"\$work/tiny-qwen3-moe\")\" == *'MoE layers: 1'$'\n'* ]]"
check "tiny-qwen2-moe: inspect --json gives the shared expert's size" \
  "\"\$ENWANDA\" inspect --json \"\$work/tiny-qwen2-moe\" | \"\$PY\" -c 'import json,sys; j=json.load(sys.stdin); assert j[\"config\"][\"experts\"][\"shared_expert_intermediate_size\"] == 96'"
# --layers keeps the layout: 6 qwen3_moe layers by step 2 and mlp_only_layers [3] -> MoE layers 1 and 5
"$ENWANDA" synth --shape tiny-qwen3-moe --layers 6 --seed 2 --out "$work/q6" -q
check "synth --layers keeps the MoE rule (layers 1 and 5 of 6)" \
  "[[ \"\$(\"\$ENWANDA\" inspect \"\$work/q6\")\" == *'MoE layers: 1, 5'$'\n'* ]]"

# inspect on a dense N:M output: every group follows the pattern, and a group that does not is counted
"$ENWANDA" synth --shape tiny --seed 2 --out "$work/d" -q
"$ENWANDA" prune --model "$work/d" --calib "$work/corpus.txt" --nsamples 2 --seqlen 32 --structure 2:4 --out "$work/d24" -q
check "inspect: a 2:4 output follows its pattern" "[[ \"\$(\"\$ENWANDA\" inspect \"\$work/d24\")\" == *'2:4 pattern: every group follows it'* ]]"
cp -r "$work/d24" "$work/d24x"
"$PY" - "$work/d24x/model.safetensors" <<'PYEOF'
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); off = 8 + n + h["model.layers.0.mlp.up_proj.weight"]["data_offsets"][0]
row = [struct.unpack("<f", b[off + 4 * i:off + 4 * i + 4])[0] for i in range(4)]
for i, x in enumerate(row):  # fill the zeros of the first group: it keeps all four
    if x == 0.0: b[off + 4 * i:off + 4 * i + 4] = struct.pack("<f", 0.5)
open(p, "wb").write(b)
PYEOF
check "inspect: a group with too few zeros is reported" "[[ \"\$(\"\$ENWANDA\" inspect \"\$work/d24x\")\" == *'2:4 pattern: 1 groups of the linears have too few zeros'* ]]"
check "inspect names the dense family too (Llama, model_type llama)" "[[ \"\$(\"\$ENWANDA\" inspect \"\$work/d\")\" == *': Llama (model_type llama), 2 layers'* ]]"
finish
