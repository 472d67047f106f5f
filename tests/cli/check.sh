# Shared by the CLI script tests: `check NAME EXPR` evaluates EXPR and counts it as passed or
# failed; `finish` prints the counts and returns non-zero when anything failed.
# shellcheck shell=bash
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }
