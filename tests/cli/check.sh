# Shared by the CLI script tests: $PY (Debian's python3 unless ENWANDA_PYTHON says otherwise), a
# temporary $work removed on exit, `check NAME EXPR` (evaluates EXPR, counts it as passed or
# failed) and `finish` (prints the counts, non-zero when anything failed).
# shellcheck shell=bash
# shellcheck disable=SC2034  # used by the scripts that source this file
PY=${ENWANDA_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }
