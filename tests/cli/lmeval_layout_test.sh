#!/usr/bin/env bash
# eval zeroshot --output-path PATH --log-samples writes lm-evaluation-harness 0.4's layout:
# tests/reference/lmeval_layout_check.py (written from lm-eval's make_table, evaluation tracker and
# metrics) reads it back, gets the table enwanda printed, and recomputes every metric and hash from
# the samples. PATH ending in .json names the results file; a symlinked output directory is refused.
set -uo pipefail
ENWANDA=$(realpath "${1:?usage: lmeval_layout_test.sh path/to/enwanda}")
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
CHECK="${ENWANDA_SOURCE_DIR:?}/tests/reference/lmeval_layout_check.py"
cd "$work" || exit 1
"$ENWANDA" synth --shape tiny --layers 2 --seed 9 --out model -q
mkdir zs
"$PY" - <<'PYEOF'
import json
words = "the river rose over the old stone bridge while a quiet bird sang of 東京 rain".split()
def pick(i, n):
    return " ".join(words[(i * 5 + k) % len(words)] for k in range(n))
def write(name, docs):
    with open(f"zs/{name}.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
write("boolq", [{"question": "is the " + pick(i, 1) + " wet", "passage": pick(i, 7), "idx": i, "label": i % 2} for i in range(5)])
write("hellaswag", [{"ind": i, "activity_label": "Baking", "ctx_a": "A man [title] mixes " + pick(i, 3) + ".", "ctx_b": "then he",
                     "endings": [pick(i + k, 1 + k) for k in range(4)], "label": str(i % 4)} for i in range(5)])
write("winogrande", [{"sentence": pick(i, 3) + " _ " + pick(i + 1, 4) + ".", "option1": pick(i + 2, 1),
                      "option2": pick(i + 3, 2), "answer": str(1 + i % 2)} for i in range(4)])
write("arc_easy", [{"id": str(i), "question": pick(i, 5) + "?", "choices": {"text": [pick(i + k, 2) for k in range(4)],
                    "label": ["A", "B", "C", "D"]}, "answerKey": "ABCD"[i % 4]} for i in range(6)])
write("one", [{"context": "Question: what rose? Answer:", "choices": ["the river", "the sky"], "label": 0}])
PYEOF

"$ENWANDA" eval zeroshot --model model --task boolq --data zs/boolq.jsonl --task hellaswag --data zs/hellaswag.jsonl \
  --task winogrande --data zs/winogrande.jsonl --task arc_easy --data zs/arc_easy.jsonl --task mc --data zs/one.jsonl \
  --output-path out --log-samples --limit 5 -q > printed; rc=$?
check "eval zeroshot --output-path --log-samples runs" "[ $rc = 0 ]"
if "$PY" "$CHECK" out printed > check.log 2>&1; then ok=1; else ok=0; fi
sed 's/^/    /' check.log
check "lm-eval's readers get the printed table, keys, hashes and metrics back" "[ $ok = 1 ]"
stderr_na=$("$PY" -c "import glob, json; r=json.load(open(glob.glob('out/*/results_*.json')[0])); print(r['results']['mc']['acc_stderr,none'], r['n-samples']['boolq'])")
check "a task of one document: stderr N/A; n-samples original and effective (--limit 5)" \
  "[ \"\$stderr_na\" = \"N/A {'original': 5, 'effective': 5}\" ]"

# PATH ending in .json: PATH's stem and the date beside it, no model directory
"$ENWANDA" eval zeroshot --model model --task boolq --data zs/boolq.jsonl --output-path res/run.json -q > /dev/null; rc=$?
found=$(find res -type f | sed 's/[0-9]/N/g')
check "PATH.json: res/run_<date>.json" "[ $rc = 0 ] && [ \"\$found\" = 'res/run_NNNN-NN-NNTNN-NN-NN.NNNNNN.json' ]"

# never through a symlink
mkdir elsewhere
ln -s "$work/elsewhere" linked
"$ENWANDA" eval zeroshot --model model --task boolq --data zs/boolq.jsonl --output-path linked -q > /dev/null 2> err; rc=$?
check "an output path through a symlink is refused (exit 4), nothing written there" \
  "[ $rc = 4 ] && [ -z \"\$(ls elsewhere)\" ]"
"$ENWANDA" eval zeroshot --model model --task boolq --data zs/boolq.jsonl --log-samples -q > /dev/null 2> err; rc=$?
check "--log-samples without --output-path: exit 2" "[ $rc = 2 ]"
finish
