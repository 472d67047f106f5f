#!/usr/bin/env bash
# scripts/sweep_slurm.sh on a real Slurm: a one-node cluster on this machine (munged, slurmctld and
# slurmd on localhost, CPU only, a configuration written into a temporary directory), a small grid
# on the trained demo model submitted with --gpus-per-task 0, and its results.csv compared row for
# row with the local sweep's (timings aside). Every daemon it started is stopped at the end. Skips
# (exit 77) when Slurm or munge is not installed (scripts/install_deps.sh --with-slurm installs them).
set -uo pipefail
ENWANDA=${1:?usage: slurm_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

for tool in munged slurmctld slurmd sbatch squeue; do
  if ! command -v "$tool" > /dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "skipped: $tool is not installed (scripts/install_deps.sh --with-slurm installs slurmctld, slurmd, slurm-client and munge)"
    exit 77
  fi
done
export PATH=$PATH:/usr/sbin
d=$work/slurm
mkdir -p "$d/state" "$d/spool" "$d/munge"
pids=()
stop_all() {
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --user "$(id -un)" 2> /dev/null
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done; done
  rm -rf "$work"
}
trap stop_all EXIT
daemons_up() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null || return 1; done; }
daemon_logs() { tail -5 "$d/slurmctld.log" "$d/slurmd.log" 2> /dev/null | sed 's/^/     /'; }
free_port() { "$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

# munge: its own key, socket and files
dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
chmod 755 "$d/munge"; chmod 400 "$d/munge/munge.key"
munged --foreground --force --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
  --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" > "$d/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$d/munge/munge.sock" ] && break; sleep 0.1; done
check "munged started" '[ -S "$d/munge/munge.sock" ]'

user=$(id -un)
cat > "$d/slurm.conf" <<EOF
ClusterName=enwandatest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
NodeName=enwtest NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=enwtest Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$d/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" > "$d/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N enwtest -f "$SLURM_CONF" > "$d/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
  state=$(sinfo -h -N -o %t 2> /dev/null)
  [ "$state" = idle ] && break
  daemons_up || break
  sleep 0.2
done
# (slurmd cannot start where /sys/fs/cgroup is not mounted, e.g. in a bare chroot: its log says so)
check "a one-node cluster is up (node idle, every daemon running)" '[ "$state" = idle ] && daemons_up' || {
  echo "     sinfo: $(sinfo -N 2>&1 | tail -1)"; daemon_logs; finish; exit; }

# the same small grid, on Slurm and locally; one thread each so that sums are taken in one order
# shellcheck disable=SC2054  # commas separate the sweep's list values, not array elements
args=(--enwanda "$ENWANDA" --model "$SRC/data/tiny-llama-wikitext" --calib "$SRC/data/wikitext-2-excerpts/calib.txt"
      --eval-data "$SRC/data/wikitext-2-excerpts/eval.txt" --methods wanda,en --alphas 0,1 --geometries modified
      --structures unstructured,2:4 --nsamples 8 --seqlen 64 --eval-seqlen 64 --slices 20
      --prune-args "--threads 1" --eval-args "--threads 1")
submitted=$("$SRC/scripts/sweep_slurm.sh" --gpus-per-task 0 --time 00:10:00 -- "${args[@]}" --out "$work/on-slurm" 2>&1)
rc=$?
check "sweep_slurm.sh submits (exit 0)" '[ $rc = 0 ] && [[ $submitted = "submitted: prepare "* ]]' || echo "     $submitted"
gpu=$("$SRC/scripts/sweep_slurm.sh" --gpus-per-task 1 -- "${args[@]}" --out "$work/gpu" 2>&1)
rc=$?
check "--gpus-per-task 1 asks for a GPU, which this CPU-only cluster refuses" '[ $rc != 0 ] && [[ $gpu = *"gres"* || $gpu = *"GRES"* || $gpu = *"generic resource"* ]]' || echo "     $gpu"
for _ in $(seq 1800); do
  [ -z "$(squeue -h -u "$user" 2> /dev/null)" ] && break
  daemons_up || break
  sleep 0.5
done
check "every job finished within 15 minutes, the daemons up throughout" '[ -z "$(squeue -h -u "$user" 2> /dev/null)" ] && daemons_up' ||
  daemon_logs
"$SRC/scripts/sweep_alpha.sh" "${args[@]}" --out "$work/local" > "$work/local.log" 2>&1
check "the local sweep exits 0" '[ $? = 0 ]'
without_times() { cut -d, -f1-8 "$1"; }  # up to ppl; prune_seconds (last) differs
check "results.csv on Slurm equals the local one row for row" '[ -s "$work/on-slurm/results.csv" ] &&
  diff <(without_times "$work/on-slurm/results.csv") <(without_times "$work/local/results.csv")' ||
  tail -3 "$work"/on-slurm/slurm/*.log 2> /dev/null | sed 's/^/     /'
check "6 cells and the dense row" '[ "$(tail -n +2 "$work/on-slurm/results.csv" | wc -l)" = 7 ]'
check "a log per job" '[ "$(find "$work/on-slurm/slurm" -name "cell-*.log" | wc -l)" = 6 ] && ls "$work/on-slurm/slurm"/report-*.log > /dev/null'
finish
