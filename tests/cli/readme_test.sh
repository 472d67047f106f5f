#!/usr/bin/env bash
# The README cannot drift from the tool: its quick start (the commands between the quickstart
# markers) runs on a fresh tiny model and prints what the README shows (perplexities within 1e-4
# relative, the rest line for line), every flag a command's README section names appears in
# that command's --help, and the demo the README opens with prints a table where every pruned
# model loses perplexity against the dense one.
set -uo pipefail
ENWANDA=$(realpath "${1:?usage: readme_test.sh path/to/enwanda}")
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/cli/check.sh
source "$(dirname "$0")/check.sh"
readme="$SRC/README.md"

# the quick start, as written, with `enwanda` standing for the binary under test
ln -s "$SRC/data" "$work/data"
sed -n '/<!-- quickstart -->/,/<!-- \/quickstart -->/p' "$readme" | grep '^enwanda ' > "$work/commands"
check "the README has a quick start" '[ -s "$work/commands" ]'
: > "$work/stdout"
while read -r line; do
  # shellcheck disable=SC2086  # the README's words, split as a shell would
  if ! (cd "$work" && "$ENWANDA" ${line#enwanda } >> "$work/stdout" 2> "$work/stderr"); then
    echo "FAIL quick start: '$line' failed: $(tail -1 "$work/stderr")"; fail=$((fail+1))
  fi
done < "$work/commands"
# the README's output block: the first code block after the quick start, without log lines
awk '/<!-- \/quickstart -->/{after=1; next} after && /^```/{n++; next} after && n==1' "$readme" |
  grep -v '^[0-9:]* info ' > "$work/expected"
check "quick start output as the README shows it" 'work=$work "$PY" - "$work/stdout" "$work/expected" <<'"'"'PYEOF'"'"'
import os, sys
got, want = (open(p).read().splitlines() for p in sys.argv[1:3])
# the absolute paths of "pruned by": the README shows the source directory as /src/enwanda
got = [l.replace(os.environ["work"], "/src/enwanda") for l in got]
def same(a, b):
    if a.startswith("ppl ") and b.startswith("ppl "):
        x, y = float(a.split()[1]), float(b.split()[1])
        return abs(x - y) <= 1e-4 * y and a.split()[2:] == b.split()[2:]
    return a == b
bad = [(a, b) for a, b in zip(got, want) if not same(a, b)]
for a, b in bad: print(f"     got {a!r}, README says {b!r}")
sys.exit(0 if len(got) == len(want) and not bad else 1)
PYEOF'

# each command's section: the flags it names (commands and prose; not the lines of scripts/ tools)
"$PY" - "$readme" "$work/sections" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
out = open(sys.argv[2], "w")
for m in re.finditer(r"^### `enwanda ([a-z ]+)`.*?\n(.*?)(?=^##)", text, re.S | re.M):
    sub, body = m.group(1).strip(), m.group(2)
    lines, in_script = [], False
    for l in body.splitlines():
        in_script = l.startswith("scripts/") or (in_script and l.startswith(" "))
        if not in_script:
            lines.append(l)
    flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", "\n".join(lines))))
    out.write(sub + "\t" + " ".join(flags) + "\n")
PYEOF
check "the README documents every subcommand" '[ "$(cut -f1 "$work/sections" | sort | tr "\n" " ")" = "calib eval ppl eval zeroshot inspect prune report synth " ]'
while IFS=$'\t' read -r sub flags; do
  # shellcheck disable=SC2086  # "eval ppl" is two words
  help=$("$ENWANDA" $sub --help 2>&1)
  echo "     $sub:$flags"
  missing=""
  for f in $flags; do grep -qE -- "$f([^a-z0-9-]|$)" <<< "$help" || missing="$missing $f"; done
  check "enwanda $sub --help names the flags its README section uses${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
done < "$work/sections"

# scripts/demo.sh on the shipped trained model, with the binary under test
demo_rc=0 why=""
DEMO_DIR="$work/demo" ENWANDA="$ENWANDA" "$SRC/scripts/demo.sh" --no-build > "$work/demo.out" 2> "$work/demo.err" || demo_rc=$?
[ "$demo_rc" = 0 ] || why=" (exit $demo_rc: $(tail -1 "$work/demo.err"))"
check "scripts/demo.sh runs$why" '[ "$demo_rc" = 0 ]'
check "the demo's table: dense, then four methods, each with three perplexities above dense" '"$PY" - "$work/demo.out" <<'"'"'PYEOF'"'"'
import re, sys
rows = [l for l in open(sys.argv[1]).read().splitlines() if re.match(r"^(dense|magnitude|Wanda|EN-Modified|SparseGPT)\b", l)]
dense = float(rows[0].split()[1])
pruned = {r.split("  ")[0]: [float(x) for x in re.findall(r"(\d+\.\d+) \( *[-+]", r)] for r in rows[1:]}
print("     dense", dense, pruned)
sys.exit(0 if len(pruned) == 4 and all(len(v) == 3 and min(v) > dense for v in pruned.values()) else 1)
PYEOF'
finish
