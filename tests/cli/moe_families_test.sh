#!/usr/bin/env bash
# The mixture-of-experts families end to end through the CLI, from text calibration: synth a tiny
# checkpoint of each (mixtral, qwen2_moe, qwen3_moe, olmoe), prune it expert by expert, evaluate
# both. The output holds exactly the input's tensors with the same names, dtypes and shapes;
# routers, shared_expert_gate, norms, biases and embeddings are byte for byte the input's; every
# pruned linear (attention and every expert) is at the sparsity; the report lists each layer's
# tokens per expert. Methods not defined for MoE are refused by name. inspect names the family and
# the MoE layout (synth --layers keeping it) and checks N:M patterns.
set -uo pipefail
ENWANDA=${1:?usage: moe_families_test.sh path/to/enwanda}
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
for i in 1 2 3 4; do cat "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"

# every tensor of input and output: same names, dtypes and shapes; all but the pruned linears'
# weights byte-identical; the pruned linears' zero fractions (printed as "name fraction")
compare() {
  "$PY" - "$1" "$2" <<'PYEOF'
import array, json, struct, sys
def read(d):
    b = open(d + "/model.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); data = b[8 + n:]
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in h.items() if k != "__metadata__"}
a, b = read(sys.argv[1]), read(sys.argv[2])
if a.keys() != b.keys(): sys.exit("tensor names differ")
pruned = lambda k: k.startswith("model.layers.") and k.endswith("_proj.weight") or ".experts." in k
for k in a:
    if a[k][:2] != b[k][:2]: sys.exit(f"{k}: dtype/shape differ")
    if not pruned(k) and a[k][2] != b[k][2]: sys.exit(f"{k}: not byte-identical")
for k in sorted(a):
    if pruned(k):
        zeros = sum(1 for x in array.array("f", b[k][2]) if x == 0.0)
        print(k, zeros / (len(b[k][2]) // 4))
PYEOF
}

for shape in tiny-mixtral tiny-qwen2-moe tiny-qwen3-moe tiny-olmoe; do
  m=$work/$shape
  "$ENWANDA" synth --shape "$shape" --seed 2 --out "$m" -q
  info=$("$ENWANDA" inspect "$m")
  type=${shape#tiny-}; type=${type//-/_}
  check "$shape: inspect names the family ($type) and the experts" \
    "[[ \"\$info\" == *'(model_type $type)'* && \"\$info\" == *'experts: '* ]]"
  "$ENWANDA" prune --model "$m" --calib "$work/corpus.txt" --nsamples 4 --seqlen 48 --out "$m-p" -q
  check "$shape: prunes from text" "[ -f '$m-p/model.safetensors' ]"
  check "$shape: the output's config is the input's" "cmp -s '$m/config.json' '$m-p/config.json'"
  fractions=$(compare "$m" "$m-p")
  check "$shape: same tensor names, dtypes and shapes; routers, gates, norms, biases, embeddings byte for byte" "[ -n \"\$fractions\" ]"
  check "$shape: every attention and expert linear at sparsity 0.5" \
    "echo \"\$fractions\" | awk '{ if (\$2 < 0.49 || \$2 > 0.51) bad = 1 } END { exit bad }'"
  check "$shape: experts are among the pruned linears" "[[ \"\$fractions\" == *'experts.3.'* ]]"
  report=$m-p/enwanda_report.json
  check "$shape: the report lists the tokens per expert of each MoE layer" \
    "\"\$PY\" -c 'import json,sys; r=json.load(open(sys.argv[1])); t=[l[\"experts\"][\"tokens_per_expert\"] for l in r[\"layers\"] if \"experts\" in l]; assert t and all(sum(x) > 0 for x in t)' '$report'"
  dense=$("$ENWANDA" eval ppl --model "$m" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}')
  pruned=$("$ENWANDA" eval ppl --model "$m-p" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}')
  check "$shape: evaluates dense ($dense) and pruned ($pruned), and pruning changed it" \
    "[ -n '$dense' ] && [ -n '$pruned' ] && [ '$dense' != '$pruned' ]"
done
# methods not defined for mixtures of experts are refused by name, before any work
for flags in "--method ria" "--method wanda++" "--method dsnot" "--allocation owl" "--no-sequential" "--ignore re:.*q_proj"; do
  # shellcheck disable=SC2086
  err=$("$ENWANDA" prune --model "$work/tiny-mixtral" --calib "$work/corpus.txt" --nsamples 2 --seqlen 16 --out "$work/r" $flags -q 2>&1)
  code=$?
  check "mixtral: $flags refused for MoE (exit $code: $err)" "[ $code = 2 ] && [[ \"\$err\" == *'mixture of experts'* ]] && [ ! -e '$work/r' ]"
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
