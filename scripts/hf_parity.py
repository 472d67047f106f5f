#!/usr/bin/env python3
"""Parity of enwanda with HuggingFace transformers (run on the GPU machine, where transformers is
installed): perplexity on the same token windows (fp32 within 1e-4 relative, fp16 within 1e-2),
and the zeros of a pruned checkpoint loaded with from_pretrained where `enwanda inspect` says.

  python3 scripts/hf_parity.py --enwanda build-cuda/enwanda --work /tmp/parity

Run on the lent H100 on 2026-11-22 (torch 2.11.0+cu130, the image's transformers): all four checks passed;
figures in docs/benchmarks.md and bench/results/hf-parity-nvidia-h100-80gb-hbm3-2026-11-22.json.
"""
import argparse
import json
import math
import os
import subprocess

import numpy as np
import torch


def run(*args):
    print("$", " ".join(args), flush=True)
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def load_hf(model_dir, dtype):
    from transformers import LlamaForCausalLM
    try:  # transformers >= 4.56 names it dtype; older ones torch_dtype
        return LlamaForCausalLM.from_pretrained(model_dir, dtype=dtype)
    except TypeError:
        return LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=dtype)


def hf_ppl(model_dir, windows, dtype, device):
    model = load_hf(model_dir, dtype).to(device).eval()
    nll, count = 0.0, 0
    with torch.no_grad():
        for w in windows:
            ids = torch.tensor(w[None, :], device=device)
            logits = model(ids).logits.float()
            lp = torch.log_softmax(logits[0, :-1], dim=-1)
            nll -= lp.gather(-1, ids[0, 1:, None]).double().sum().item()
            count += ids.shape[1] - 1
    return math.exp(nll / count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enwanda", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", help="write the figures here too (e.g. bench/results/hf-parity-DATE.json)")
    args = ap.parse_args()
    enw, work = args.enwanda, args.work
    os.makedirs(work, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = []
    for shape, layers, dtype, tol in [("tiny", 2, "fp32", 1e-4), ("llama2-7b", 2, "fp32", 1e-4), ("llama2-7b", 2, "fp16", 1e-2)]:
        m = f"{work}/{shape}-{dtype}"
        run(enw, "synth", "--shape", shape, "--layers", str(layers), "--dtype", dtype, "--out", m, "--overwrite", "-q")
        vocab = json.load(open(f"{m}/config.json"))["vocab_size"]
        windows = np.random.default_rng(0).integers(3, vocab, (4, 256)).astype(np.int64)
        np.save(f"{work}/windows.npy", windows)
        run(enw, "eval", "ppl", "--model", m, "--data-tokens", f"{work}/windows.npy", "--device", device,
            "--json", f"{work}/ppl.json", "-q")
        ours = json.load(open(f"{work}/ppl.json"))["ppl"]
        theirs = hf_ppl(m, windows, torch.float32 if dtype == "fp32" else torch.float16, device)
        rel = abs(ours - theirs) / theirs
        results.append({"shape": shape, "dtype": dtype, "enwanda": ours, "transformers": theirs, "rel": rel, "ok": rel <= tol})
        print(results[-1], flush=True)
    # zeros of a pruned checkpoint, through from_pretrained: the same positions as in the written
    # shards, and the fractions `enwanda inspect` reports
    from safetensors.torch import load_file
    m = f"{work}/tiny-fp32"
    np.save(f"{work}/calib.npy", np.random.default_rng(1).integers(3, 500, (8, 64)).astype(np.int64))
    run(enw, "prune", "--model", m, "--calib-tokens", f"{work}/calib.npy", "--device", device, "--out", f"{work}/pruned",
        "--overwrite", "-q")
    inspect = json.loads(run(enw, "inspect", "--model", f"{work}/pruned", "--json"))
    written = {}
    for f in os.listdir(f"{work}/pruned"):
        if f.endswith(".safetensors"):
            written.update(load_file(f"{work}/pruned/{f}"))
    hf = load_hf(f"{work}/pruned", torch.float32)
    worst, misplaced = 0.0, 0
    for row in inspect["layers"]:
        layer = hf.model.layers[row["layer"]]
        for name in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]:
            w = layer.get_submodule(name).weight
            misplaced += int(((w == 0) != (written[f"model.layers.{row['layer']}.{name}.weight"] == 0)).sum())
            worst = max(worst, abs((w == 0).float().mean().item() - row[name]))
    results.append({"check": "pruned zeros via from_pretrained vs the shards and inspect", "misplaced_zeros": misplaced,
                    "max_abs_fraction_diff": worst, "ok": misplaced == 0 and worst == 0.0})
    print(json.dumps(results, indent=2))
    if args.json:
        json.dump({"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                   "torch": torch.__version__,
                   "transformers": __import__("transformers").__version__, "results": results}, open(args.json, "w"), indent=2)
    raise SystemExit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
