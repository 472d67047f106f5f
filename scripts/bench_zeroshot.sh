#!/usr/bin/env bash
# CPU throughput of `enwanda eval zeroshot`: requests (one per example and choice) per second on a
# synthetic 2-layer hidden-1024 checkpoint, with a task file whose contexts vary in length as real
# ones do (ARC-like: 4 choices per question; contexts of 10 to 300 words).
#   scripts/bench_zeroshot.sh [--enwanda PATH] [--examples N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
enw=build/enwanda; examples=150; threads=$(nproc)
while [ $# -gt 0 ]; do case $1 in
  --enwanda) enw=$2; shift 2 ;; --examples) examples=$2; shift 2 ;; --threads) threads=$2; shift 2 ;;
  *) echo "unknown $1" >&2; exit 2 ;; esac; done
[ -x "$enw" ] || { echo "build first: cmake --build build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/shape.json" <<'JSON'
{"model_type": "llama", "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 2,
 "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 512, "max_position_embeddings": 2048}
JSON
"$enw" synth --shape "$work/shape.json" --out "$work/m" -q
/usr/bin/python3 - "$work/mc.jsonl" "$examples" data/tokenizer_corpus.txt <<'PYEOF'
import json, random, sys
words = open(sys.argv[3], encoding="utf-8").read().split()
rng = random.Random(0)
def text(n):
    i = rng.randrange(len(words) - n)
    return " ".join(words[i:i + n])
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        f.write(json.dumps({"context": "Question: " + text(rng.randint(10, 300)) + "?\nAnswer:",
                            "choices": [text(rng.randint(1, 12)) for _ in range(4)], "label": rng.randrange(4)}) + "\n")
PYEOF
start=$(date +%s.%N)
"$enw" eval zeroshot --model "$work/m" --task mc --data "$work/mc.jsonl" --threads "$threads" --json "$work/r.json" -q > /dev/null
end=$(date +%s.%N)
/usr/bin/python3 - "$work/r.json" "$start" "$end" "$threads" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = float(sys.argv[3]) - float(sys.argv[2])
n = sum(len(e["logliks"]) for e in r["tasks"]["mc"]["examples"])
print(f"eval zeroshot, 2-layer hidden-1024 model, {sys.argv[4]} threads: {n} requests in {t:.1f} s = {n / t:.2f} requests/s "
      f"(acc {r['tasks']['mc']['acc']:.4f})")
PYEOF
