#!/usr/bin/env bash
# The checkpoint writer against the disk: `enwanda prune --method magnitude --no-overlap` on a
# llama2-7b-shaped fp16 checkpoint of a few layers (every write on the main thread, timed as the
# report's writer_thread_busy: casts, writes and the final fsync of every shard), against `dd` writing the same
# number of bytes in tensor-sized blocks with one fsync at the end (conv=fsync), the writer's policy.
#   scripts/bench_writer.sh [--layers 4] [--dir DIR (on the disk to measure; default a temp dir)]
set -euo pipefail
cd "$(dirname "$0")/.."
layers=4; dir=""
while [ $# -gt 0 ]; do case $1 in --layers) layers=$2; shift 2 ;; --dir) dir=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac; done
enw=build/enwanda
[ -x $enw ] || { echo "build first: cmake --build build" >&2; exit 1; }
work=$(mktemp -d ${dir:+-p "$dir"})
trap 'rm -rf "$work"' EXIT
$enw synth --shape llama2-7b --layers "$layers" --dtype fp16 --out "$work/m" -q
$enw prune --model "$work/m" --method magnitude --sparsity 0.5 --no-overlap --out "$work/p" -q
r="$work/p/enwanda_report.json"
read -r bytes writing busy total < <(/usr/bin/python3 -c "import json; r=json.load(open('$r')); s=r['seconds']; print(r['bytes_written'], s['writing'], s['writer_thread_busy'], s['total'])")
rm -rf "$work/p"
sync
# dd: the same bytes in 86 MiB blocks (a 4096x11008 fp16 linear), buffered, one fsync at the end
block=$((4096 * 11008 * 2)); count=$(( (bytes + block - 1) / block ))
t0=$(date +%s.%N)
dd if=/dev/zero of="$work/dd" bs=$block count=$count conv=fsync status=none
t1=$(date +%s.%N)
/usr/bin/python3 - "$bytes" "$writing" "$busy" "$total" "$t0" "$t1" <<'PYEOF'
import sys
b, writing, busy, total, t0, t1 = int(sys.argv[1]), *map(float, sys.argv[2:])
dd = t1 - t0
print(f"writer: {b / 1e9:.2f} GB in {busy:.2f} s = {b / 1e9 / busy:.2f} GB/s (writing phase {writing:.2f} s with the "
      f"sparsity count; prune total {total:.2f} s)")
print(f"dd:     {b / 1e9:.2f} GB in {dd:.2f} s = {b / 1e9 / dd:.2f} GB/s (conv=fsync)")
print(f"writer / dd time: {busy / dd:.2f}")
PYEOF
