#!/usr/bin/env bash
# MMLU against the independent reference (tests/reference/lmeval_reference.py, written from
# lm-evaluation-harness 0.4's task YAMLs, sampler and metrics) on a tiny checkpoint: every
# log-likelihood within 1e-5, each subject's acc, each category's and mmlu's size-weighted acc and
# pooled stderr equal, 0-shot and 2-shot (first_n from dev.jsonl), in enwanda's JSON and in the
# lm-eval layout. The task files are written here: four subjects in three categories, one of a
# single question (its stderr "N/A", which makes its category's N/A), questions with surrounding
# whitespace (a no-break space among it) that doc_to_text strips, and a test question that is also
# the first dev record (the sampler skips it).
# lambada_openai the same way, with and without BOS: every document's log-likelihood within 1e-5, its
# is_greedy, acc and perplexity (lm-eval's exp(-mean loglik)), in the JSON, the results and the samples
# (resps [loglikelihood, is_greedy]); the documents (written by the reference) include texts ending in the
# model's greedy word, a single word (empty context) and a double space.
set -euo pipefail
indent() { while IFS= read -r line; do echo "       $line"; done <<< "$1"; }
ENWANDA=${1:?usage: run_lmeval_reference_test.sh path/to/enwanda}
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
REF="$(dirname "$0")/lmeval_reference.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

"$ENWANDA" synth --shape tiny --seed 4 --out "$work/model" -q
"$PY" - "$work/mmlu" <<'PYEOF'
import json, os, sys
root = sys.argv[1]
words = "the river rose over the old stone bridge while a quiet bird sang of rain and 東京 light".split()
def pick(i, n):
    return " ".join(words[(i * 3 + k) % len(words)] for k in range(n))
def record(subject, i):
    q = pick(i, 4 + i % 3) + "?"
    if i % 3 == 1:
        q = "  \u00a0" + q + " \n"
    return {"question": q, "subject": subject, "choices": [pick(i + k, 1 + k % 2) for k in range(4)], "answer": (i * 7) % 4}
for subject, n_test in [("abstract_algebra", 4), ("anatomy", 3), ("philosophy", 1), ("marketing", 5)]:
    os.makedirs(f"{root}/{subject}")
    dev = [record(subject, 100 + i) for i in range(5)]
    test = [record(subject, i) for i in range(n_test)]
    if subject == "marketing":
        test[2] = dev[0]
    for name, docs in (("dev", dev), ("test", test)):
        with open(f"{root}/{subject}/{name}.jsonl", "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
PYEOF

for shots in 0 2; do
  rm -rf "$work/out"
  "$ENWANDA" eval zeroshot --model "$work/model" --task mmlu --data-dir "$work/mmlu" --num-fewshot "$shots" \
    --json "$work/mmlu$shots.json" --output-path "$work/out" -q > "$work/printed$shots"
  results=$(find "$work/out" -name 'results_*.json')
  if out=$("$PY" "$REF" mmlu --model "$work/model" --dir "$work/mmlu" --num-fewshot "$shots" --result "$work/mmlu$shots.json" \
           --lmeval-results "$results"); then
    echo "ok   mmlu $shots-shot:"; indent "$out"
  else
    echo "FAIL mmlu $shots-shot:"; indent "$out"; fail=1
  fi
done
"$PY" "$REF" lambada-data --model "$work/model" --data "$work/lambada.jsonl"
for bos in "" --no-bos; do
  rm -rf "$work/out"
  "$ENWANDA" eval zeroshot --model "$work/model" --task lambada_openai --data "$work/lambada.jsonl" ${bos:+"$bos"} \
    --json "$work/lambada.json" --overwrite --output-path "$work/out" --log-samples -q > "$work/printed_lambada"
  results=$(find "$work/out" -name 'results_*.json')
  samples=$(find "$work/out" -name 'samples_lambada_openai_*.jsonl')
  if out=$("$PY" "$REF" lambada --model "$work/model" --data "$work/lambada.jsonl" --result "$work/lambada.json" \
           --lmeval-results "$results" --samples "$samples" ${bos:+"$bos"}); then
    echo "ok   lambada_openai ${bos:-with BOS}:"; indent "$out"
  else
    echo "FAIL lambada_openai ${bos:-with BOS}:"; indent "$out"; fail=1
  fi
done
[ $fail = 0 ] && echo "lm-eval reference agreement: all checks passed" || echo "lm-eval reference agreement: FAILURES"
exit $fail
