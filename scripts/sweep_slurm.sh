#!/usr/bin/env bash
# The α sweep as a Slurm job array: one prepare job (calibration set, dense evaluation, shared
# statistics), one array task per cell, and a final dependent job that builds the table and figures.
# Every job runs scripts/sweep_alpha.sh, so the cell logic is the local sweep's. The prepare job and
# each cell ask for --gpus-per-task GPUs (--gres=gpu:N; default 1, 0 for a CPU partition).
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
mkdir -p "$out/slurm"
n=$("${sweep[@]}" --phase count)
quoted=$(printf '%q ' "${sweep[@]}")

prep=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-prep "${gres[@]}" --output="$out/slurm/prepare-%j.log" \
  --wrap "$quoted --phase prepare")
cells=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-cell "${gres[@]}" --array="0-$((n - 1))" \
  --dependency="afterok:$prep" --output="$out/slurm/cell-%A_%a.log" \
  --wrap "$quoted --phase cell --cell \$SLURM_ARRAY_TASK_ID")
report=$(sbatch --parsable "${sbatch_opts[@]}" --job-name=enwanda-report --dependency="afterany:$cells" \
  --output="$out/slurm/report-%j.log" --wrap "$quoted --phase report")
echo "submitted: prepare $prep, $n cells as array $cells, report $report; results in $out"
