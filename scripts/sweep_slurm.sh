#!/usr/bin/env bash
# The α sweep as a Slurm job array: one prepare job (calibration set, dense evaluation, shared
# statistics), one array task per cell, and a final dependent job that builds the table and figures.
# Every job runs scripts/sweep_alpha.sh, so the cell logic is the local sweep's. The prepare job and
# each cell ask for --gpus-per-task GPUs (--gres=gpu:N; default 1, 0 for a CPU partition).
#   The jobs run RESULTS_DIR/slurm/job.sh PHASE, a bash script written here with every sweep
# argument quoted as data (printf %q): no name given (model, data, output) is ever read as shell
# code. The job script execs the sweep, whose trap stops a job at the first SIGINT/SIGTERM (scancel)
# with its finished cells kept.
#
#   scripts/sweep_slurm.sh [--partition P] [--time HH:MM:SS] [--account A] [--gpus-per-task N] -- SWEEP_ALPHA_ARGS...
# e.g.
#   scripts/sweep_slurm.sh --partition gpu -- --model /data/llama-2-7b-hf --calib /data/wiki.train.raw \
#       --eval-data /data/wiki.valid.tokens --slices 7 --out /scratch/sweep7b
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sbatch_opts=() gpus=1
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --partition) sbatch_opts+=(--partition "$2"); shift 2 ;;
    --time) sbatch_opts+=(--time "$2"); shift 2 ;;
    --account) sbatch_opts+=(--account "$2"); shift 2 ;;
    --gpus-per-task) gpus=$2; shift 2 ;;
    *) echo "sweep_slurm.sh: unknown option $1 (sweep arguments go after --)" >&2; exit 2 ;;
  esac
done
[ "${1:-}" = "--" ] && shift
case $gpus in ''|*[!0-9]*) echo "sweep_slurm.sh: --gpus-per-task must be a whole number, got '$gpus'" >&2; exit 2 ;; esac
gres=()
[ "$gpus" -gt 0 ] && gres=(--gres="gpu:$gpus")
sweep=("$here/sweep_alpha.sh" "$@")
out=""
for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--out" ] && { j=$((i + 1)); out=${!j}; }; done
[ -n "$out" ] || { echo "sweep_slurm.sh: --out RESULTS_DIR is required" >&2; exit 2; }
case $out in /*) ;; *) out=$PWD/$out ;; esac  # absolute: Slurm's working directory may differ, and "-x" is no flag
mkdir -p -- "$out/slurm"
n=$("${sweep[@]}" --phase count)

# the job script: the sweep's arguments as bash words (printf %q), the phase from the job's own argv
job=$out/slurm/job.sh
{
  echo '#!/usr/bin/env bash'
  echo '# Written by scripts/sweep_slurm.sh: one phase of the sweep (prepare, cell, report).'
  printf 'sweep=('; printf '%q ' "${sweep[@]}"; echo ')'
  cat <<'EOF'
case ${1:-} in
  prepare|report) exec "${sweep[@]}" --phase "$1" ;;
  cell) exec "${sweep[@]}" --phase cell --cell "${SLURM_ARRAY_TASK_ID:?not an array task}" ;;
  *) echo "job.sh: prepare, cell or report, got ${1:-nothing}" >&2; exit 2 ;;
esac
EOF
} > "$job.tmp" && chmod +x "$job.tmp" && mv -- "$job.tmp" "$job"

prep=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-prep "${gres[@]}" --output="$out/slurm/prepare-%j.log" \
  "$job" prepare)
cells=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-cell "${gres[@]}" --array="0-$((n - 1))" \
  --dependency="afterok:$prep" --output="$out/slurm/cell-%A_%a.log" "$job" cell)
report=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-report --dependency="afterany:$cells" \
  --output="$out/slurm/report-%j.log" "$job" report)
echo "submitted: prepare $prep, $n cells as array $cells, report $report; results in $out"
