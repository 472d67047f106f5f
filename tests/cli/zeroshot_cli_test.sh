#!/usr/bin/env bash
# eval zeroshot on inputs that used to give a wrong number or a crash, and what its JSON records.
# A --template must use the records' fields: a field it names and a record lacks is exit 3 naming
# the file, line and field; a template naming no field is exit 2 (every example would get the same
# prompt). A HellaSwag record with "[" and 60,000 words and no "]" is scored. The JSON carries the
# absolute model and data paths, the data's sha256, template, choices, settings and a command that,
# run again, gives the same log-likelihoods.
set -uo pipefail
ENWANDA=$(realpath "${1:?usage: zeroshot_cli_test.sh path/to/enwanda}")
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/check.sh"
cd "$work" || exit 1
"$ENWANDA" synth --shape tiny --layers 2 --seed 5 --out model -q
"$PY" - <<'PYEOF'
import json
words = "the river rose over the old stone bridge while a quiet bird sang".split()
with open("phish.jsonl", "w") as f:
    for i in range(6):
        f.write(json.dumps({"text": " ".join(words[(i + k) % len(words)] for k in range(5)), "label": i % 2}) + "\n")
with open("hella.jsonl", "w") as f:
    f.write(json.dumps({"activity_label": "Rafting", "ctx_a": "A man paddles [" + " word" * 60000, "ctx_b": "then he",
                        "endings": ["rows away.", "swims [title] home.", "sits.", "waves."], "label": "0"}) + "\n")
    f.write(json.dumps({"activity_label": "Baking", "ctx_a": "A cook [step] mixes flour.", "ctx_b": "she",
                        "endings": ["bakes it.", "eats it.", "drops it.", "sells it."], "label": "2"}) + "\n")
PYEOF

# a template naming a field the records lack: exit 3 naming file, line and field, before any work
"$ENWANDA" eval zeroshot --model model --task mc --data phish.jsonl --template 'Email: {txt} Phishing?' --choices no,yes \
  > out 2> err; rc=$?
msg=$(cat err)
check "a template's field missing from a record: exit 3" "[ $rc = 3 ]"
check "... naming the file, line and field" '[[ "$msg" == *"phish.jsonl:1: not a valid mc example: field \"txt\" is missing"* ]]'
check "... and no result printed" "[ ! -s out ]"
"$ENWANDA" eval zeroshot --model model --task mc --data phish.jsonl --template 'Email: Phishing?' --choices no,yes \
  > out 2> err; rc=$?
msg=$(cat err)
check "a template naming no field: exit 2" "[ $rc = 2 ]"
check "... saying so" '[[ "$msg" == *"names no field of the records"* ]]'

# the template fills the record's field: the prompts differ, so the log-likelihoods do
"$ENWANDA" eval zeroshot --model model --task mc --data phish.jsonl --template $'Email: {text}\nPhishing?' --choices no,yes \
  --json ph.json -q > /dev/null; rc=$?
check "a template using the records' field runs" "[ $rc = 0 ]"
distinct=$("$PY" -c "import json; e=json.load(open('ph.json'))['tasks']['mc']['examples']; print(len({round(x['logliks'][0], 9) for x in e}))")
check "... and each example's text reaches the model (distinct log-likelihoods)" "[ '$distinct' = 6 ]"

# a HellaSwag record with "[" and 60,000 words and no "]" (std::regex overflowed its stack on it)
"$ENWANDA" eval zeroshot --model model --task hellaswag --data hella.jsonl --json hella.json -q > /dev/null 2> err; rc=$?
check "hellaswag: an unclosed [ before 60,000 words is scored (exit 0)" "[ $rc = 0 ]"

# provenance
field() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
check "model: the absolute path" "[ \"\$(field ph.json \"r['model']\")\" = '$work/model' ]"
check "data: absolute path, bytes and sha256" \
  "[ \"\$(field ph.json \"' '.join(str(r['tasks']['mc'][k]) for k in ('data', 'data_bytes', 'data_sha256'))\")\" = \"$work/phish.jsonl \$(stat -c %s phish.jsonl) \$(sha256sum phish.jsonl | cut -c1-64)\" ]"
check "template and choices recorded" \
  "[ \"\$(field ph.json \"repr((r['tasks']['mc']['template'], r['tasks']['mc']['choices']))\")\" = \"('Email: {text}\\\\nPhishing?', ['no', 'yes'])\" ]"
check "settings recorded" "[ \"\$(field ph.json \"sorted(r['settings'])\")\" = \"['acc_norm', 'batch_size', 'bos', 'compute_dtype', 'device', 'limit', 'max_length', 'target_delimiter', 'threads']\" ]"
# the recorded command, run from elsewhere, gives the same numbers
command=$(field ph.json "r['command']")
check "the command names absolute paths" '[[ "$command" == "enwanda eval zeroshot --model $work/model --task mc --data $work/phish.jsonl "* ]]'
mkdir elsewhere
(cd elsewhere && eval "\"\$ENWANDA\"${command#enwanda} --json again.json -q" > /dev/null)
check "the recorded command reproduces the log-likelihoods" \
  "[ \"\$(field ph.json \"r['tasks']['mc']['examples']\")\" = \"\$(field elsewhere/again.json \"r['tasks']['mc']['examples']\")\" ]"
finish
