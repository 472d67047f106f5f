#!/usr/bin/env python3
"""Times the two ways enwanda builds unstructured masks (src/prune/mask.cpp), with the same torch kernels
libtorch runs: a stable sort of each row, and each row's k-th value plus the leftmost ties. Checks
that both give the same mask. enwanda uses the k-th value on CUDA; on the CPU it takes a selection
per row in C++ (src/prune/mask.cpp, faster than either kernel here; docs/methods.md gives the figures).

  /usr/bin/python3 scripts/bench_masks.py [--device cpu|cuda] [--threads N] [--shrink F] [--json OUT]
(--shrink F divides the llama2-7b shapes by F, for a quick check.)
"""
import argparse
import json
import time

import torch


def sorted_mask(s, k):
    mask = torch.zeros_like(s, dtype=torch.bool)
    mask.scatter_(1, s.sort(dim=1, stable=True)[1][:, :k], True)
    return mask


def kth_value_mask(s, k):
    kth = s.kthvalue(k, dim=1, keepdim=True).values
    below = (s < kth) | (kth.isnan() & ~s.isnan())
    tied = (s == kth) | (kth.isnan() & s.isnan())
    return below | (tied & (tied.cumsum(1) <= k - below.sum(1, keepdim=True)))


def seconds(f, *args, device, repeat=3):
    f(*args)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeat):
        f(*args)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--shrink", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    gen = torch.Generator().manual_seed(0)
    for full in [(4096, 4096), (11008, 4096), (4096, 11008)]:  # llama2-7b: q/k/v/o, gate/up, down
        shape = (full[0] // args.shrink, full[1] // args.shrink)
        s = torch.rand(shape, generator=gen).to(args.device)
        s[:, ::7] = 0.5  # some ties
        k = shape[1] // 2
        same = torch.equal(sorted_mask(s, k), kth_value_mask(s, k))
        row = {"shape": list(shape), "k": k, "sort_s": seconds(sorted_mask, s, k, device=args.device),
               "kth_value_s": seconds(kth_value_mask, s, k, device=args.device), "masks_equal": same}
        rows.append(row)
        print(f"{shape[0]:6d}x{shape[1]:<6d} sort {row['sort_s'] * 1e3:9.2f} ms   k-th value {row['kth_value_s'] * 1e3:9.2f} ms"
              f"   masks equal: {same}", flush=True)
    if args.json:
        json.dump({"device": args.device, "threads": torch.get_num_threads(), "torch": torch.__version__, "rows": rows},
                  open(args.json, "w"), indent=2)
    raise SystemExit(0 if all(r["masks_equal"] for r in rows) else 1)


if __name__ == "__main__":
    main()
