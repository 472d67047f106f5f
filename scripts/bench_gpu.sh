#!/usr/bin/env bash
# GPU benchmark of `enwanda prune` (issue: CUDA), one call on the device machine after
# scripts/device_build.sh:
#   1. synthesise a llama2-7b-shaped fp16 checkpoint (32 layers) and 128 x 2048 calibration tokens;
#   2. measure the floor's inputs: the fp16 matmul rate and the disk's read and write bandwidth;
#      and time scripts/bench_masks.py (row masks by sort vs by k-th value) on the device;
#   3. prune it with EN-Modified α=0.5 at 50% (phase times, peak GPU memory, peak host RSS), and
#      with SparseGPT at 50% (its total against EN's; goal <= 2x) unless --no-sparsegpt;
#   4. time scripts/locuslab_style_reference.py (whole model resident, one sequence per forward,
#      hooks, full stable sort) on the same checkpoint and calibration set, and compare masks;
#   5. prune 2 layers of a llama2-70b-shaped checkpoint for its per-layer peak GPU memory;
#   6. Wanda++ (RGS + RO, defaults) on 2 layers of the same shape: seconds per block (issue: Wanda++),
#      on CUDA also with --regional-tf32 (seconds, RO losses, and how many mask entries differ from fp32);
# and write everything to bench/results/gpu-<device>-<date>.json plus a table on stdout.
#
#   scripts/bench_gpu.sh [--enwanda build-cuda/enwanda] [--device cuda] [--shape llama2-7b] [--layers 32]
#                        [--nsamples 128] [--seqlen 2048] [--large-shape llama2-70b|none] [--large-layers 2]
#                        [--wandapp-layers 2] [--work DIR] [--results DIR] [--no-reference] [--no-sparsegpt]
# A CPU smoke run of the same steps (what CI-less checking here can do):
#   scripts/bench_gpu.sh --enwanda build/enwanda --device cpu --shape tiny --layers 2 --nsamples 4 \
#                        --seqlen 64 --large-shape none --results /tmp/bench-smoke
set -euo pipefail
cd "$(dirname "$0")/.."
enw=build-cuda/enwanda device=cuda shape=llama2-7b layers=32 nsamples=128 seqlen=2048
large_shape=llama2-70b large_layers=2 wandapp_layers=2 work="" results=bench/results reference=1 sparsegpt=1
while [ $# -gt 0 ]; do
  case $1 in
    --enwanda) enw=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --nsamples) nsamples=$2; shift 2 ;;
    --seqlen) seqlen=$2; shift 2 ;;
    --large-shape) large_shape=$2; shift 2 ;;
    --large-layers) large_layers=$2; shift 2 ;;
    --wandapp-layers) wandapp_layers=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-reference) reference=0; shift ;;
    --no-sparsegpt) sparsegpt=0; shift ;;
    *) echo "bench_gpu.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$enw" ] || { echo "bench_gpu.sh: no $enw (run scripts/device_build.sh first)" >&2; exit 1; }
py=python3
$py -c 'import torch, numpy' 2> /dev/null || py=/usr/bin/python3  # here: Debian's python3-torch
if [ "$device" = cuda ]; then
  libpath=$(scripts/device_build.sh --libpath)
  export LD_LIBRARY_PATH="$libpath:${LD_LIBRARY_PATH:-}"
fi
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work" "$results"
dtype=fp16; [ "$device" = cpu ] && dtype=fp32
log() { echo "[bench_gpu $(date +%H:%M:%S)] $*" >&2; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2> /dev/null && echo true || echo false; }

# 1. checkpoint and calibration tokens
log "synth $shape, $layers layers, $dtype"
t0=$(date +%s.%N)
"$enw" synth --shape "$shape" --layers "$layers" --dtype "$dtype" --out "$work/model" --overwrite -q
synth_s=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
vocab=$($py -c "import json; print(json.load(open('$work/model/config.json'))['vocab_size'])")
$py -c "import numpy as np; np.save('$work/calib.npy', np.random.default_rng(0).integers(3, $vocab, ($nsamples, $seqlen)).astype(np.int64))"

# 2. the floor's inputs: matmul rate on the device, disk bandwidth
log "measuring matmul rate and disk bandwidth"
$py - "$device" "$dtype" > "$work/matmul.json" << 'PY'
import json, sys, time, torch
dev = torch.device(sys.argv[1]); dt = {"fp16": torch.float16, "fp32": torch.float32}[sys.argv[2]]
m, k, n = (8192, 4096, 11008) if dev.type == "cuda" else (1024, 1024, 2816)
a, b = torch.randn(m, k, device=dev, dtype=dt), torch.randn(k, n, device=dev, dtype=dt)
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
for _ in range(3): a @ b
sync(); t = time.time(); reps = 20 if dev.type == "cuda" else 3
for _ in range(reps): a @ b
sync(); s = (time.time() - t) / reps
print(json.dumps({"shape": [m, k, n], "dtype": sys.argv[2], "tflops": 2 * m * k * n / s / 1e12}))
PY
dd_mb=4096; [ "$device" = cpu ] && dd_mb=256
# O_DIRECT where the file system has it; else buffered with fdatasync, and the read after a cache drop
dd_rate() { dd "$@" 2>&1 | awk '/copied/{print $(NF-1), $NF}'; }
write_gbs=$(dd_rate if=/dev/zero of="$work/dd.bin" bs=1M count=$dd_mb oflag=direct conv=fsync) ||
  write_gbs=$(dd_rate if=/dev/zero of="$work/dd.bin" bs=1M count=$dd_mb conv=fdatasync)
read_gbs=$(dd_rate if="$work/dd.bin" of=/dev/null bs=1M iflag=direct) ||
  { drop_caches > /dev/null; read_gbs=$(dd_rate if="$work/dd.bin" of=/dev/null bs=1M); }
rm -f "$work/dd.bin"
# mask construction on the device: sort vs k-th value (enwanda uses the k-th value on CUDA)
shrink=1; [ "$device" = cpu ] && shrink=16
$py scripts/bench_masks.py --device "$device" --shrink $shrink --json "$work/masks.json" > /dev/null

# 3. enwanda
cold_enw=$(drop_caches)
log "enwanda prune (page cache dropped: $cold_enw)"
"$enw" prune --model "$work/model" --calib-tokens "$work/calib.npy" --method en --geometry modified --alpha 0.5 \
  --sparsity 0.5 --device "$device" --out "$work/enwanda" --overwrite -q
if [ $sparsegpt = 1 ]; then
  log "enwanda prune --method sparsegpt"
  "$enw" prune --model "$work/model" --calib-tokens "$work/calib.npy" --method sparsegpt --sparsity 0.5 \
    --device "$device" --out "$work/sparsegpt" --overwrite -q
fi

# 4. the locuslab-style reference
if [ $reference = 1 ]; then
  cold_ref=$(drop_caches)
  log "reference (page cache dropped: $cold_ref)"
  $py -W ignore scripts/locuslab_style_reference.py --model "$work/model" --tokens "$work/calib.npy" --method en \
    --geometry modified --alpha 0.5 --sparsity 0.5 --device "$device" --out "$work/reference" \
    --compare "$work/enwanda" --json "$work/reference.json" 2> "$work/reference.log"
  rm -rf "$work/reference"
fi

# 5. a llama2-70b-shaped checkpoint, few layers: per-layer peak memory
if [ "$large_shape" != none ]; then
  log "synth $large_shape, $large_layers layers; prune"
  "$enw" synth --shape "$large_shape" --layers "$large_layers" --dtype "$dtype" --out "$work/large" --overwrite -q
  "$enw" prune --model "$work/large" --calib-tokens "$work/calib.npy" --method en --geometry modified --alpha 0.5 \
    --sparsity 0.5 --device "$device" --out "$work/large-pruned" --overwrite -q
  rm -rf "$work/large"
fi

# 6. Wanda++ per block
if [ "$wandapp_layers" -gt 0 ]; then
  log "synth $shape, $wandapp_layers layers; prune --method wanda++"
  "$enw" synth --shape "$shape" --layers "$wandapp_layers" --dtype "$dtype" --out "$work/wpp" --overwrite -q
  "$enw" prune --model "$work/wpp" --calib-tokens "$work/calib.npy" --method wanda++ --sparsity 0.5 --device "$device" \
    --out "$work/wpp-pruned" --overwrite -q
  if [ "$device" = cuda ]; then
    log "prune --method wanda++ --regional-tf32"
    "$enw" prune --model "$work/wpp" --calib-tokens "$work/calib.npy" --method wanda++ --sparsity 0.5 --device "$device" \
      --regional-tf32 --out "$work/wpp-tf32-pruned" --overwrite -q
  fi
  rm -rf "$work/wpp"
fi

# summary
gpu=$($py -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')")
$py - "$work" "$results" "$gpu" "$device" "$synth_s" "$write_gbs" "$read_gbs" "${cold_enw}" "${cold_ref:-}" "$large_shape" << 'PY'
import datetime, json, os, re, struct, sys
import numpy as np
work, results, gpu, device, synth_s, write_bw, read_bw, cold_enw, cold_ref, large_shape = sys.argv[1:]
def gbs(s):  # dd's "1.2 GB/s" / "800 MB/s"
    v, unit = s.split()
    return float(v) * {"GB/s": 1e9, "MB/s": 1e6, "kB/s": 1e3, "GiB/s": 2**30, "MiB/s": 2**20}[unit]
cfg = json.load(open(f"{work}/model/config.json"))
rep = json.load(open(f"{work}/enwanda/enwanda_report.json"))
mm = json.load(open(f"{work}/matmul.json"))
N, T = rep["settings"]["nsamples"], rep["settings"]["seqlen"]
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
nh = cfg["num_attention_heads"]; nkv = cfg.get("num_key_value_heads") or nh; hd = H // nh
linear_params = H * nh * hd * 2 + 2 * H * nkv * hd + 3 * H * I
# per pass and layer: 2 FLOPs per weight per token, and causal attention (QK^T and PV, half the square)
flops_pass = L * (2 * N * T * linear_params + 2 * N * T * T * nh * hd)
flops = 2 * flops_pass
in_bytes = sum(os.path.getsize(f"{work}/model/{f}") for f in os.listdir(f"{work}/model") if f.endswith(".safetensors"))
out_bytes = rep["bytes_written"]
floor = {"compute_s": flops / (mm["tflops"] * 1e12), "read_s": in_bytes / gbs(read_bw), "write_s": out_bytes / gbs(write_bw)}
floor["total_s"] = sum(floor.values())
enw_total = rep["seconds"]["total"]
out = {
    "date": datetime.date.today().isoformat(), "device": gpu, "run_on": device,
    "checkpoint": {"layers": L, "hidden": H, "intermediate": I, "dtype": rep["settings"]["compute_dtype"], "bytes": in_bytes,
                   "synth_seconds": float(synth_s)},
    "calibration": {"nsamples": N, "seqlen": T},
    "measured": {"matmul_tflops": mm["tflops"], "matmul_shape": mm["shape"], "disk_write": write_bw, "disk_read": read_bw},
    "floor": {"flops_two_passes": flops, **floor},
    "enwanda": {"seconds": rep["seconds"], "peak_rss_mib": rep["peak_rss_mib"],
                "peak_device_memory_mib": rep.get("peak_device_memory_mib"), "batch_size": rep["settings"]["batch_size"],
                "page_cache_dropped": cold_enw == "true", "over_floor": enw_total / floor["total_s"]},
}
out["masks"] = json.load(open(f"{work}/masks.json"))
if os.path.exists(f"{work}/sparsegpt/enwanda_report.json"):
    sg = json.load(open(f"{work}/sparsegpt/enwanda_report.json"))
    out["sparsegpt"] = {"seconds": sg["seconds"], "peak_device_memory_mib": sg.get("peak_device_memory_mib"),
                        "peak_rss_mib": sg["peak_rss_mib"], "achieved_sparsity": sg["achieved_sparsity"],
                        "total_vs_en": sg["seconds"]["total"] / enw_total}
if os.path.exists(f"{work}/reference.json"):
    ref = json.load(open(f"{work}/reference.json"))
    out["reference"] = ref | {"page_cache_dropped": cold_ref == "true"}
    out["speedup_vs_reference"] = ref["seconds"]["total"] / enw_total
if os.path.exists(f"{work}/large-pruned/enwanda_report.json"):
    lr = json.load(open(f"{work}/large-pruned/enwanda_report.json"))
    out["large"] = {"shape": large_shape, "layers": len(lr["layers"]), "seconds": lr["seconds"],
                    "peak_device_memory_mib": lr.get("peak_device_memory_mib"), "peak_rss_mib": lr["peak_rss_mib"],
                    "batch_size": lr["settings"]["batch_size"]}
def zero_masks(d):  # {tensor name: bool array of zeros} over the linears of a checkpoint directory
    masks = {}
    dtypes = {"F16": np.float16, "BF16": np.uint16, "F32": np.float32}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        raw = open(f"{d}/{f}", "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        for name, t in json.loads(raw[8:8 + n]).items():
            if name == "__metadata__" or not name.endswith("proj.weight"):
                continue
            a, b = t["data_offsets"]
            bits = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[t["dtype"]])
            masks[name] = (bits & 0x7FFF) == 0 if t["dtype"] == "BF16" else bits == 0
    return masks
def wandapp(d):
    wr = json.load(open(f"{d}/enwanda_report.json"))
    per_block = [l["seconds"] for l in wr["layers"]]
    return {"layers": len(per_block), "seconds_per_block": per_block, "seconds": wr["seconds"],
            "regional": wr["settings"]["regional"], "peak_device_memory_mib": wr.get("peak_device_memory_mib"),
            "loss_per_block": [l.get("regional") for l in wr["layers"]],
            "projected_seconds_for_all_layers": sum(per_block) / len(per_block) * L}
if os.path.exists(f"{work}/wpp-pruned/enwanda_report.json"):
    out["wandapp"] = wandapp(f"{work}/wpp-pruned")
if os.path.exists(f"{work}/wpp-tf32-pruned/enwanda_report.json"):
    out["wandapp_tf32"] = wandapp(f"{work}/wpp-tf32-pruned")
    m32, mtf = zero_masks(f"{work}/wpp-pruned"), zero_masks(f"{work}/wpp-tf32-pruned")
    out["wandapp_tf32"]["mask_entries_differing_from_fp32"] = int(sum((m32[k] != mtf[k]).sum() for k in m32))
    out["wandapp_tf32"]["mask_entries"] = int(sum(m.size for m in m32.values()))
name = re.sub(r"[^A-Za-z0-9]+", "-", gpu).strip("-").lower()
path = f"{results}/gpu-{name}-{out['date']}.json"
json.dump(out, open(path, "w"), indent=2)
s = rep["seconds"]
print(f"device {gpu}; {L} layers, hidden {H}, {N}x{T} calibration; {in_bytes/1e9:.1f} GB in")
print(f"enwanda   total {enw_total:8.2f} s  (load {s['load']:.2f}, statistics {s['statistics']:.2f}, scoring {s['scoring']:.2f}, "
      f"writing {s['writing']:.2f}); peak device memory {out['enwanda']['peak_device_memory_mib']} MiB, peak RSS {rep['peak_rss_mib']:.0f} MiB")
print(f"floor     total {floor['total_s']:8.2f} s  (compute {floor['compute_s']:.2f} at {mm['tflops']:.1f} TFLOP/s, "
      f"read {floor['read_s']:.2f} at {read_bw}, write {floor['write_s']:.2f} at {write_bw}); enwanda / floor = {out['enwanda']['over_floor']:.2f}")
if "sparsegpt" in out:
    g = out["sparsegpt"]
    print(f"sparsegpt total {g['seconds']['total']:8.2f} s  (statistics {g['seconds']['statistics']:.2f}, pruning {g['seconds']['scoring']:.2f}); "
          f"{g['total_vs_en']:.2f}x EN's total (goal <= 2x); peak device memory {g['peak_device_memory_mib']} MiB")
if "reference" in out:
    r = out["reference"]
    print(f"reference total {r['seconds']['total']:8.2f} s  ({', '.join(f'{k} {v:.2f}' for k, v in r['seconds'].items() if k != 'total')}); "
          f"speed-up {out['speedup_vs_reference']:.2f}x; masks: {r['masks']['identical_linears']}/{r['masks']['linears']} linears identical, "
          f"{r['masks']['differing_entries']} of {r['masks']['entries']} entries differ")
for r in out["masks"]["rows"]:
    print(f"mask {r['shape'][0]}x{r['shape'][1]}: sort {r['sort_s'] * 1e3:.2f} ms, k-th value {r['kth_value_s'] * 1e3:.2f} ms, "
          f"equal {r['masks_equal']}")
if "large" in out:
    g = out["large"]
    peak = (g["peak_device_memory_mib"] or {}).get("reserved")
    fits = f"; fits 24 GiB: {peak < 24 * 1024}" if peak else ""
    print(f"{large_shape}, {g['layers']} layers: peak device memory {g['peak_device_memory_mib']} MiB, total {g['seconds']['total']:.2f} s{fits}")
for key, label in [("wandapp", "wanda++ (RGS+RO)"), ("wandapp_tf32", "wanda++ --regional-tf32")]:
    if key not in out:
        continue
    w = out[key]
    vs_fp32 = (f"; masks vs fp32: {w['mask_entries_differing_from_fp32']} of {w['mask_entries']} entries differ"
               if "mask_entries" in w else "")
    print(f"{label} seconds per block: {', '.join(f'{x:.2f}' for x in w['seconds_per_block'])}; "
          f"projected for {L} layers: {w['projected_seconds_for_all_layers']:.1f} s; RO loss per block {w['loss_per_block']}{vs_fp32}")
print(f"wrote {path}")
PY
