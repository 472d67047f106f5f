#!/usr/bin/env bash
# On the GPU machine: prune one tiny fp32 checkpoint with en++ (EN-Modified α=0.5; RGS alone and
# RGS+RO; unstructured 50% and 2:4) on the CPU and on CUDA with the same binary, and compare the
# written weights: mask entries that differ, the largest weight difference, CUDA's sparsity.
#   scripts/check_cuda_matches_cpu.sh [build-cuda/enwanda]
set -euo pipefail
cd "$(dirname "$0")/.."
enw=${1:-build-cuda/enwanda}
py=python3
$py -c 'import numpy' 2> /dev/null || py=/usr/bin/python3
libpath=$(scripts/device_build.sh --libpath)
export LD_LIBRARY_PATH="$libpath:${LD_LIBRARY_PATH:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$enw" synth --shape tiny --layers 2 --out "$work/model" -q
$py -c "import numpy as np; np.save('$work/calib.npy', np.random.default_rng(1).integers(3, 500, (16, 64)).astype(np.int64))"
runs=()
for ro in "" --no-ro; do
  for structure in unstructured 2:4; do
    name="${structure/:/of}${ro}"
    runs+=("$name")
    for device in cpu cuda; do
      # shellcheck disable=SC2086  # $ro is empty or one flag
      "$enw" prune --model "$work/model" --calib-tokens "$work/calib.npy" --method en++ --geometry modified \
        --alpha 0.5 --structure "$structure" $ro --device "$device" --out "$work/$device-$name" -q
    done
  done
done
$py - "$work" "${runs[@]}" << 'PY'
import glob, json, struct, sys
import numpy as np
def linears(d):
    out = {}
    for f in glob.glob(d + "/*.safetensors"):
        raw = open(f, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        for k, t in json.loads(raw[8:8 + n]).items():
            if k.endswith("proj.weight"):
                a, b = t["data_offsets"]
                out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32)
    return out
work, failed = sys.argv[1], False
for name in sys.argv[2:]:
    c, g = linears(f"{work}/cpu-{name}"), linears(f"{work}/cuda-{name}")
    differ = sum(int(((c[k] == 0) != (g[k] == 0)).sum()) for k in c)
    total = sum(v.size for v in c.values())
    sparsity = sum(int((v == 0).sum()) for v in g.values()) / total
    dw = max(float(np.abs(c[k] - g[k]).max()) for k in c)
    print(f"en++ {name:20s} mask entries differing: {differ} of {total}; CUDA sparsity {sparsity:.4f}; max |W_cpu - W_cuda| {dw:.3g}")
    failed |= differ != 0 or abs(sparsity - 0.5) > 1e-9
sys.exit(1 if failed else 0)
PY
