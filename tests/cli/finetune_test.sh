#!/usr/bin/env bash
# enwanda finetune's outputs and refusals on a tiny checkpoint pruned to 50%: the adapter in PEFT's
# layout (keys, fp32, adapter_config.json's keys and values); --merge under --mask keep keeps every
# zero (inspect's sparsity per linear unchanged) while the adapted weights change; --mask none
# refuses --merge without --merge-dense, and with it the report shows the densified linears;
# hostile inputs (ids >= vocab, windows longer than the model's positions, targets matching
# nothing, an adapter of another model or rank) are refused before any work with no output left;
# a NaN loss stops with exit 3 before the step's update; SIGINT stops at a step boundary with
# exit 130, the saved state kept and no partial adapter.
set -uo pipefail
ENWANDA=${1:?usage: finetune_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

# expect NAME CODE PATTERN -- ARGS...: exit CODE, the error line holds PATTERN, no adapter written
expect() {
  local name=$1 code=$2 pattern=$3; shift 3
  "$ENWANDA" "$@" --out "$work/refused" > "$work/stdout" 2> "$work/stderr"; local rc=$?
  check "$name" '[ $rc = "$code" ] && grep -q "^enwanda: error: " "$work/stderr" && grep -qF -- "$pattern" "$work/stderr" &&
    [ ! -e "$work/refused" ] || { echo "     rc $rc: $(cat "$work/stderr")"; false; }'
}

"$ENWANDA" synth --shape tiny --seed 3 --out "$work/model" -q
"$ENWANDA" prune --model "$work/model" --method magnitude --sparsity 0.5 --out "$work/pruned" -q
for _ in 1 2 3; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"
"$ENWANDA" calib --model "$work/model" --calib "$work/corpus.txt" --nsamples 4 --seqlen 32 --seed 1 --out "$work/w.npy" -q
ft=(finetune --model "$work/pruned" --windows "$work/w.npy" --steps 3 --batch 2 --lr 1e-3 -q)

# 1. PEFT's layout
"$ENWANDA" "${ft[@]}" --lora-r 4 --lora-alpha 8 --lora-targets q_proj,down_proj --out "$work/ad" --merge "$work/merged"
check "adapter_model.safetensors: PEFT's keys, fp32, A [r, in] and B [out, r]" '"$PY" - "$work/ad" <<"PY"
import json, struct, sys
blob = open(sys.argv[1] + "/adapter_model.safetensors", "rb").read()
h = json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]])
meta = h.pop("__metadata__")
assert meta["format"] == "pt", meta
want = {f"base_model.model.model.layers.{i}.{m}.lora_{w}.weight" for i in (0, 1) for m in ("self_attn.q_proj", "mlp.down_proj") for w in "AB"}
assert set(h) == want, sorted(h)
assert all(v["dtype"] == "F32" for v in h.values())
assert h["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]["shape"] == [4, 64]
assert h["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"]["shape"] == [4, 176]
assert h["base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"]["shape"] == [64, 4]
c = json.load(open(sys.argv[1] + "/adapter_config.json"))
for k, v in {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "lora_dropout": 0, "target_modules": ["q_proj", "down_proj"],
             "bias": "none", "task_type": "CAUSAL_LM", "fan_in_fan_out": False, "inference_mode": True}.items():
    assert c[k] == v, (k, c[k])
assert c["enwanda"]["mask"] == "keep" and "base_model_name_or_path" in c
r = json.load(open(sys.argv[1] + "/enwanda_finetune.json"))
assert len(r["steps"]) == 3 and all(s["loss"] > 0 and s["grad_norm"] > 0 for s in r["steps"]), r["steps"]
assert r["tokens_per_second"] > 0 and r["peak_rss_mib"] > 0 and "finetune" in r["command"]
PY'

# 2. --merge with --mask keep: the same zeros, other weights
"$ENWANDA" inspect --model "$work/pruned" --json > "$work/before.json"
"$ENWANDA" inspect --model "$work/merged" --json > "$work/after.json"
check "--merge --mask keep: inspect shows the same sparsity per linear" \
  '"$PY" -c "import json, sys; a, b = (json.load(open(f))[\"layers\"] for f in sys.argv[1:]); assert a == b, (a, b)" "$work/before.json" "$work/after.json"'
check "--merge --mask keep: the adapted linears changed, zeros exactly where the pruned model has them, the others byte for byte" \
  '"$PY" - "$work/pruned" "$work/merged" <<"PY"
import sys
sys.path.insert(0, "'"$SRC"'/tests/reference")
from reference import read_safetensors
a, b = (read_safetensors(d + "/model.safetensors") for d in sys.argv[1:])
for name in a:
    adapted = name.endswith(("q_proj.weight", "down_proj.weight"))
    if adapted:
        assert not a[name].equal(b[name]), name
        assert ((a[name] == 0) == (b[name] == 0)).all(), name
    else:
        assert a[name].equal(b[name]), name
PY'

# 3. --mask none and merging
expect "--merge with --mask none needs --merge-dense" 2 "--merge-dense" "${ft[@]}" --mask none --merge "$work/m2"
check "... and wrote no merged checkpoint" '[ ! -e "$work/m2" ]'
"$ENWANDA" "${ft[@]}" --mask none --out "$work/ad-none" --merge "$work/m-none" --merge-dense
check "--merge-dense: the report gives each linear's sparsity before and after (densified)" \
  '"$PY" -c "import json, sys; s = json.load(open(sys.argv[1]))[\"merge_sparsity\"]; assert len(s) == 4 and all(v[\"before\"] == 0.5 and v[\"after\"] < 0.01 for v in s.values()), s" "$work/ad-none/enwanda_finetune.json"'

# 4. hostile inputs
"$PY" -c "import numpy as np, sys; w = np.load(sys.argv[1]); w[1, 5] = 512; np.save(sys.argv[2], w)" "$work/w.npy" "$work/big-id.npy"
expect "windows with an id >= vocab" 3 "big-id.npy" finetune --model "$work/pruned" --windows "$work/big-id.npy" --steps 1
"$PY" -c "import numpy as np, sys; np.save(sys.argv[1], np.ones((1, 600), dtype=np.int64))" "$work/long.npy"
expect "windows longer than max_position_embeddings" 3 "max_position_embeddings" \
  finetune --model "$work/pruned" --windows "$work/long.npy" --steps 1
expect "a target that matches no linear" 2 "'qproj' matches no dense linear" "${ft[@]}" --lora-targets q_proj,qproj
expect "--adapter-init of another rank" 3 "lora_A.weight has shape" "${ft[@]}" --adapter-init "$work/ad/adapter_model.safetensors" \
  --lora-targets q_proj,down_proj --lora-r 8
expect "--adapter-init with other targets" 3 "no tensor base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight" \
  "${ft[@]}" --adapter-init "$work/ad/adapter_model.safetensors" --lora-targets q_proj,v_proj --lora-r 4
"$ENWANDA" synth --shape tiny-qwen3 --seed 3 --out "$work/qwen3" -q
"$ENWANDA" finetune --model "$work/qwen3" --windows "$work/w.npy" --steps 1 --lora-r 4 --out "$work/ad-qwen3" -q
expect "--adapter-init of another model (q_proj 128 wide)" 3 "an adapter of another model" \
  "${ft[@]}" --adapter-init "$work/ad-qwen3/adapter_model.safetensors" --lora-r 4
expect "--resume without a saved state" 2 "no saved state" "${ft[@]}" --resume
expect "--micro-batch above --batch" 2 "--micro-batch" "${ft[@]}" --micro-batch 3

# 5. a loss that is NaN: A = B = 1e20 make W_eff infinite (the adapter file itself is finite)
"$PY" - "$work/ad/adapter_model.safetensors" "$work/huge.safetensors" "$SRC/tests/reference" <<"PY"
import sys
sys.path.insert(0, sys.argv[3])
from reference import read_safetensors
from lora_reference import write_safetensors
write_safetensors(sys.argv[2], {k: v * 0 + 1e20 for k, v in read_safetensors(sys.argv[1]).items()})
PY
"$ENWANDA" "${ft[@]}" --lora-r 4 --lora-alpha 8 --lora-targets q_proj,down_proj --adapter-init "$work/huge.safetensors" \
  --save-every 1 --out "$work/nan" > "$work/nan.log" 2>&1; rc=$?
check "a NaN loss stops with exit 3 naming the step, without an adapter or a state" \
  '[ $rc = 3 ] && grep -q "step 0: the loss is" "$work/nan.log" && [ ! -e "$work/nan" ] && [ ! -e "$work/nan.state.safetensors" ] ||
   { echo "     rc $rc: $(cat "$work/nan.log")"; false; }'

# 6. SIGINT stops at a step boundary: the state saved so far stands, no adapter, no temporaries
"$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --steps 1000000 --save-every 2 --out "$work/int" \
  > "$work/int.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e "$work/int.state.safetensors" ] && break; sleep 0.1; done
kill -INT "$pid"; wait "$pid"; rc=$?
check "SIGINT: exit 130, the saved state kept, no adapter and no temporaries" \
  '[ $rc = 130 ] && [ -e "$work/int.state.safetensors" ] && [ ! -e "$work/int" ] &&
   [ -z "$(find "$work" -maxdepth 1 -name ".int*tmp*")" ] || { echo "     rc $rc: $(tail -3 "$work/int.log")"; ls -a "$work"; false; }'
"$ENWANDA" finetune --model "$work/pruned" --windows "$work/w.npy" --steps 1000000 --save-every 2 --out "$work/int" \
  --resume > "$work/int2.log" 2>&1 &
pid=$!
sleep 2; kill -INT "$pid"; wait "$pid"
check "... and --resume continues from it" 'grep -q "resumed from .* steps done" "$work/int2.log" || { cat "$work/int2.log"; false; }'

finish
