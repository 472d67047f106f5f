#!/usr/bin/env bash
# Each model family end to end through the CLI, from text calibration: synth a tiny checkpoint of
# the family, prune it, evaluate the result. The output keeps the input's config, biases and norms
# byte for byte and holds exactly the input's tensors. `synth --shape CONFIG.json` keeps the config
# it was given (rope_scaling, torch_dtype, token ids, tied embeddings: no lm_head). A sliding window
# at least as long as the windows changes nothing; a shorter one does.
set -uo pipefail
ENWANDA=${1:?usage: families_test.sh path/to/enwanda}
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
for i in 1 2 3 4; do cat "${ENWANDA_SOURCE_DIR}/data/tokenizer_corpus.txt"; done > "$work/corpus.txt"

tensors() {  # prints "name dtype shape" per tensor of a checkpoint, sorted
  "$PY" - "$1" <<'PYEOF'
import glob, json, struct, sys
for p in sorted(glob.glob(sys.argv[1] + "/*.safetensors")):
    b = open(p, "rb").read(8); n = struct.unpack("<Q", b)[0]
    h = json.loads(open(p, "rb").read(8 + n)[8:])
    for k, v in sorted(h.items()):
        if k != "__metadata__": print(k, v["dtype"], v["shape"])
PYEOF
}
same_unpruned() {  # input, output: every tensor but the seven linears' weights byte-identical
  "$PY" - "$1" "$2" <<'PYEOF'
import json, struct, sys
def read(d):
    b = open(d + "/model.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); data = b[8 + n:]
    return {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
a, b = read(sys.argv[1]), read(sys.argv[2])
linear = lambda k: k.endswith("_proj.weight")
sys.exit(0 if a.keys() == b.keys() and all(a[k] == b[k] for k in a if not linear(k)) else 1)
PYEOF
}

for shape in tiny-llama-bias tiny-mistral tiny-qwen2 tiny-qwen3 tiny-gemma2 tiny-gemma3; do
  m=$work/$shape
  "$ENWANDA" synth --shape "$shape" --seed 2 --out "$m" -q
  "$ENWANDA" prune --model "$m" --calib "$work/corpus.txt" --nsamples 4 --seqlen 48 --out "$m-p" -q
  check "$shape: prunes from text" "[ -f '$m-p/model.safetensors' ]"
  check "$shape: the output's config is the input's" "cmp -s '$m/config.json' '$m-p/config.json'"
  check "$shape: biases, norms and embeddings carried byte for byte, no tensor added or lost" "same_unpruned '$m' '$m-p'"
  dense=$("$ENWANDA" eval ppl --model "$m" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}')
  pruned=$("$ENWANDA" eval ppl --model "$m-p" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}')
  check "$shape: evaluates dense ($dense) and pruned ($pruned), and pruning changed it" \
    "[ -n '$dense' ] && [ -n '$pruned' ] && [ '$dense' != '$pruned' ]"
done
has_tensor() { local t; t=$(tensors "$1") && grep -q "$2" <<< "$t"; }  # checkpoint, pattern
check "tiny-qwen2 has q/k/v biases and no o_proj bias; tied: no lm_head" \
  "has_tensor '$work/tiny-qwen2' 'layers.1.self_attn.v_proj.bias' && ! has_tensor '$work/tiny-qwen2' 'o_proj.bias\|lm_head'"
check "tiny-qwen3 has q_norm and k_norm of head_dim 32" \
  "has_tensor '$work/tiny-qwen3' 'layers.0.self_attn.k_norm.weight F32 \[32\]'"
check "tiny-gemma2 has four norms a layer; tied: no lm_head" \
  "has_tensor '$work/tiny-gemma2' 'layers.1.pre_feedforward_layernorm.weight' && has_tensor '$work/tiny-gemma2' 'layers.1.post_feedforward_layernorm.weight' && ! has_tensor '$work/tiny-gemma2' lm_head"
desc=$("$ENWANDA" inspect --model "$work/tiny-gemma3" --json -q 2>&1)
check "inspect describes gemma3_text: (1 + w) norms, GeGLU, both RoPE bases, windows" \
  "grep -q '\"norm\": \"rms (1 + w)\"' <<< '$desc' && grep -q 'gelu_pytorch_tanh' <<< '$desc' && grep -q '\"rope_local_base_freq\": 10000' <<< '$desc'"

# the sliding window: the mistral checkpoint with its window (16) against the same weights with a
# window as long as the evaluation windows (48, no effect) and without any (null)
ppl_with_window() {
  rm -rf "$work/w"; cp -r "$work/tiny-mistral" "$work/w"
  "$PY" -c "import json; p='$work/w/config.json'; c=json.load(open(p)); c['sliding_window']=$1; json.dump(c, open(p, 'w'))"
  "$ENWANDA" eval ppl --model "$work/w" --data "$work/corpus.txt" --seqlen 48 --slices 4 -q | awk '{print $2}'
}
w16=$(ppl_with_window 16); w48=$(ppl_with_window 48); wnone=$(ppl_with_window None)
check "mistral: a window as long as the sequence equals none ($w48 = $wnone); a shorter one differs ($w16)" \
  "[ '$w48' = '$wnone' ] && [ '$w16' != '$wnone' ]"

# synth --shape CONFIG.json keeps the config it was given
"$PY" - "$work/given.json" <<'PYEOF'
import json, sys
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 600,
           "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
           "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                            "original_max_position_embeddings": 64},
           "torch_dtype": "bfloat16", "bos_token_id": 5, "eos_token_id": [7, 8], "tie_word_embeddings": True,
           "custom_field": "kept"}, open(sys.argv[1], "w"))
PYEOF
"$ENWANDA" synth --shape "$work/given.json" --seed 1 --out "$work/given" -q
check "synth --shape CONFIG.json writes the given config back field for field" \
  "'$PY' -c \"import json,sys; a=json.load(open('$work/given.json')); b=json.load(open('$work/given/config.json')); sys.exit(0 if a==b else 1)\""
check "synth --shape CONFIG.json: torch_dtype bfloat16 gives BF16 tensors" "has_tensor '$work/given' 'model.norm.weight BF16'"
check "synth --shape CONFIG.json: tied embeddings, no lm_head tensor" "! has_tensor '$work/given' lm_head"
"$ENWANDA" synth --shape "$work/given.json" --layers 3 --dtype fp32 --seed 1 --out "$work/given3" -q
check "synth --layers and --dtype override only those fields" \
  "'$PY' -c \"import json,sys; a=json.load(open('$work/given.json')); b=json.load(open('$work/given3/config.json')); a.update(num_hidden_layers=3, torch_dtype='float32'); sys.exit(0 if a==b else 1)\""

# the hub cache, offline: the layout huggingface_hub writes (files in snapshots/<commit>/ are
# symlinks into blobs/), found by ORG/NAME under each variable huggingface_hub reads, or given as
# the repository directory
hub_repo() {  # cache dir, org, name: a repository holding tiny-qwen2 as snapshot "c0ffee", refs/main naming it
  local repo=$1/models--$2--$3
  mkdir -p "$repo/blobs" "$repo/snapshots/c0ffee" "$repo/refs"
  for f in "$work/tiny-qwen2"/*; do
    local sum; sum=$(sha256sum "$f" | cut -c1-64)
    cp "$f" "$repo/blobs/$sum"; ln -s "../../blobs/$sum" "$repo/snapshots/c0ffee/$(basename "$f")"
  done
  printf c0ffee > "$repo/refs/main"
}
hub_repo "$work/hf-hub" org tiny
mkdir -p "$work/hf-home"; hub_repo "$work/hf-home/hub" org tiny
mkdir -p "$work/xdg/huggingface"; hub_repo "$work/xdg/huggingface/hub" org tiny
mkdir -p "$work/home/.cache/huggingface"; hub_repo "$work/home/.cache/huggingface/hub" org tiny
want=$("$ENWANDA" eval ppl --model "$work/tiny-qwen2" --data "$work/corpus.txt" --seqlen 48 --slices 2 -q)
hub_ppl() { (cd "$work" && env -u HF_HUB_CACHE -u HUGGINGFACE_HUB_CACHE -u HF_HOME -u XDG_CACHE_HOME "$@" \
  "$ENWANDA" eval ppl --model org/tiny --data "$work/corpus.txt" --seqlen 48 --slices 2 -q 2>&1); }
check "ORG/NAME under \$HF_HUB_CACHE" "[ \"\$(hub_ppl HF_HUB_CACHE='$work/hf-hub')\" = '$want' ]"
check "ORG/NAME under \$HUGGINGFACE_HUB_CACHE" "[ \"\$(hub_ppl HUGGINGFACE_HUB_CACHE='$work/hf-hub')\" = '$want' ]"
check "ORG/NAME under \$HF_HOME/hub" "[ \"\$(hub_ppl HF_HOME='$work/hf-home')\" = '$want' ]"
check "ORG/NAME under \$XDG_CACHE_HOME/huggingface/hub" "[ \"\$(hub_ppl XDG_CACHE_HOME='$work/xdg')\" = '$want' ]"
check "ORG/NAME under ~/.cache/huggingface/hub" "[ \"\$(hub_ppl HOME='$work/home')\" = '$want' ]"
check "the repository directory itself" "[ \"\$('$ENWANDA' eval ppl --model '$work/hf-hub/models--org--tiny' --data '$work/corpus.txt' --seqlen 48 --slices 2 -q)\" = '$want' ]"
(cd "$work" && HF_HUB_CACHE="$work/hf-hub" "$ENWANDA" prune --model org/tiny --calib "$work/corpus.txt" --nsamples 2 \
  --seqlen 32 --out "$work/hub-pruned" -q)
check "prune from ORG/NAME writes real files (not the cache's symlinks)" \
  "[ -f '$work/hub-pruned/config.json' ] && [ ! -L '$work/hub-pruned/config.json' ] && [ ! -L '$work/hub-pruned/tokenizer.model' ]"
miss=$(cd "$work" && HF_HUB_CACHE="$work/hf-hub" "$ENWANDA" eval ppl --model org/absent --data "$work/corpus.txt" 2>&1)
check "a miss says where it looked" "grep -qF '$work/hf-hub/models--org--absent' <<< \"\$miss\""
rm "$work/hf-hub/models--org--tiny/refs/main"; mkdir "$work/hf-hub/models--org--tiny/snapshots/beef"
two=$(cd "$work" && HF_HUB_CACHE="$work/hf-hub" "$ENWANDA" eval ppl --model org/tiny --data "$work/corpus.txt" 2>&1); rc=$?
check "two snapshots and no refs/main: refused, naming them (exit 3)" \
  "[ $rc = 3 ] && grep -q 'beef' <<< \"\$two\" && grep -q c0ffee <<< \"\$two\""
finish
