#!/usr/bin/env bash
# Every shell script of the project passes shellcheck, and none pipes a producer into `grep -q`:
# under pipefail that fails whenever grep exits before the producer has written everything
# (capture the output, then match). Skipped (exit 77) where shellcheck is not installed
# (scripts/install_deps.sh --with-sweep installs it).
set -uo pipefail
SRC=${ENWANDA_SOURCE_DIR:?}
if ! command -v shellcheck > /dev/null; then
  echo "skipped: shellcheck is not installed (scripts/install_deps.sh --with-sweep)"; exit 77
fi
cd "$SRC" || exit 1
mapfile -t scripts < <(find scripts tests -name '*.sh' | sort)
fail=0
if shellcheck -x "${scripts[@]}"; then
  echo "ok   shellcheck over ${#scripts[@]} scripts"
else
  echo "FAIL shellcheck (above)"; fail=1
fi
early_exit=$(grep -nE '(^|[^|])[|][[:space:]]*grep[[:space:]]+(-[[:alpha:]]*q|--quiet)' "${scripts[@]}")
if [ -z "$early_exit" ]; then
  echo "ok   no producer piped into grep -q"
else
  echo "FAIL a producer piped into grep -q (capture the output, then match):"; echo "$early_exit"; fail=1
fi
exit $fail
