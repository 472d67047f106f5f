#!/usr/bin/env bash
# The OpenBLAS kernel set enwanda runs with: on a CPU with AVX2/FMA (or AVX-512) it is never one of
# OpenBLAS's generic fall-backs (Prescott, Core2, Nehalem, Sandybridge), and an OPENBLAS_CORETYPE the
# user set is kept. Skipped, saying so, when the BLAS is not OpenBLAS.
set -uo pipefail
ENWANDA=${1:?usage: blas_test.sh path/to/enwanda}
# shellcheck source=tests/cli/check.sh
source "$(dirname "$0")/check.sh"

"$ENWANDA" synth --shape tiny --seed 1 --out "$work/m" -q || { echo "synth failed"; exit 1; }
# shellcheck disable=SC2120  # VAR=VALUE arguments, or none
kernels() { env "$@" "$ENWANDA" inspect --model "$work/m" -v 2>&1 >/dev/null | grep -o 'OpenBLAS kernels: .*\|BLAS: not OpenBLAS'; }
# shellcheck disable=SC2119
line=$(kernels)
if [ "$line" = "BLAS: not OpenBLAS" ]; then
  echo "skipped: the BLAS libtorch loaded is not OpenBLAS"; exit 0
fi
check "-v names the OpenBLAS kernels ($line)" '[ -n "$line" ]'
check "a user's OPENBLAS_CORETYPE is kept" '[ "$(kernels OPENBLAS_CORETYPE=Prescott)" = "OpenBLAS kernels: Prescott (OPENBLAS_CORETYPE=Prescott)" ]'
flags=$(grep -m1 '^flags' /proc/cpuinfo)
if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
  check "AVX2/FMA CPU: not a generic fall-back kernel set" '! grep -qiE ": (prescott|core2|nehalem|sandybridge)( |$)" <<< "$line"'
else
  echo "skipped: the CPU has no AVX2/FMA, so the generic kernels are the right ones"
fi
finish
