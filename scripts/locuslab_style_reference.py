#!/usr/bin/env python3
"""A Wanda / elastic-net Wanda pruner written the way locuslab/wanda's prune_wanda works, as the
baseline of scripts/bench_gpu.sh: the whole model resident on the device as torch.nn modules,
calibration inputs caught before layer 0, then per decoder layer: forward hooks on every
nn.Linear collect running input statistics while the calibration sequences pass ONE AT A TIME,
each linear's rows are sorted in full (stable) and the lowest scores zeroed, and the sequences
pass again through the pruned layer to give the next layer's inputs.

It does locuslab's work per layer and no more (locuslab/wanda lib/prune.py, prune_wanda and
prepare_calibration_input; lib/layerwrapper.py, WrappedGPT.add_batch): two passes of one sequence
per forward, the first with an add_batch hook on each of the seven nn.Linear modules find_layers
returns (q, k and v each hooked, as gate and up are), fp32 sums per hook (EN adds the L1 sum beside
scaler_row); the causal mask is made once, as the attention_mask locuslab's Catcher caught, and k/v
are not copied when every head has its own (transformers' repeat_kv with n_rep 1).

It exists to time that approach against enwanda on the same checkpoint and calibration set and
to check the masks agree; it is not used by enwanda. It needs only torch and numpy (its own
safetensors reader and writer), so it runs on Debian's python3-torch 1.13 on CPU and on the GPU
machine's PyTorch 2.x.

  locuslab_style_reference.py --model DIR --tokens CALIB.npy [--method en|wanda] [--geometry modified|original]
      [--alpha 0.5] [--sparsity 0.5] [--device cuda|cpu] [--out DIR] [--compare ENWANDA_OUT] [--json FILE]
"""
import argparse
import json
import math
import mmap
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
NAMES = {v: k for k, v in DTYPES.items()}
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


# --- safetensors, mapped --------------------------------------------------------------------
def shard_files(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        weight_map = json.load(open(index))["weight_map"]
        return sorted(set(weight_map.values())), weight_map
    return ["model.safetensors"], None


def read_mapped(path):
    """name -> (dtype name, shape, tensor viewing the mapped file)"""
    f = open(path, "rb")
    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (n,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        count = (e - b) // torch.tensor([], dtype=dt).element_size()
        t = torch.frombuffer(mm, dtype=dt, count=count, offset=8 + n + b) if count else torch.empty(0, dtype=dt)
        out[name] = (info["dtype"], info["shape"], t.reshape(info["shape"]))
    return out


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        for t in tensors.values():
            f.write(t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")


# --- the model as nn.Modules (transformers' LLaMA semantics) ---------------------------------
class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(weight, requires_grad=False), eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def linear(w):
    m = nn.Linear(w.shape[1], w.shape[0], bias=False, device="meta")
    m.weight = nn.Parameter(w, requires_grad=False)
    return m


class DecoderLayer(nn.Module):
    def __init__(self, cfg, w, i):
        super().__init__()
        g = lambda n: w[f"model.layers.{i}.{n}.weight"]
        self.nh, self.nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
        self.hd = cfg.get("head_dim") or cfg["hidden_size"] // self.nh
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(g("input_layernorm"), eps)
        self.post_attention_layernorm = RMSNorm(g("post_attention_layernorm"), eps)
        self.lin = nn.ModuleDict({n.replace(".", "_"): linear(g(n)) for n in LINEARS})

    def forward(self, x, cos, sin, hidden_keys):
        B, T, _ = x.shape
        L = lambda n: self.lin[n.replace(".", "_")]
        h = self.input_layernorm(x)
        q = L("self_attn.q_proj")(h).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = L("self_attn.k_proj")(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = L("self_attn.v_proj")(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.nh != self.nkv:  # transformers' repeat_kv returns k and v as they are for n_rep 1
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        if hasattr(F, "scaled_dot_product_attention") and x.is_cuda and x.dtype != torch.float32:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            s = s.masked_fill(hidden_keys, float("-inf"))
            o = torch.softmax(s.float(), dim=-1).to(q.dtype) @ v
        o = o.transpose(1, 2).reshape(B, T, self.nh * self.hd)
        x = x + L("self_attn.o_proj")(o)
        m = self.post_attention_layernorm(x)
        return x + L("mlp.down_proj")(F.silu(L("mlp.gate_proj")(m)) * L("mlp.up_proj")(m))


def rotate_half(x):
    a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-b, a], dim=-1)


def rope_tables(cfg, T, device, dtype):
    hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    f = torch.arange(T, dtype=torch.int64).float()[:, None] * inv[None, :]
    e = torch.cat([f, f], dim=-1)
    return e.cos().to(device, dtype), e.sin().to(device, dtype)


# --- locuslab's WrappedGPT, with the L1 sum beside scaler_row --------------------------------
class InputStats:
    def __init__(self, columns, device):
        self.n = 0
        self.l1 = torch.zeros(columns, dtype=torch.float64, device=device)
        self.l2sq = torch.zeros(columns, dtype=torch.float64, device=device)

    def add_batch(self, inp):  # inp: [1, T, in], one sequence per call as in locuslab
        x = inp.reshape(-1, inp.shape[-1]).float()
        self.l1 *= self.n / (self.n + 1)
        self.l2sq *= self.n / (self.n + 1)
        self.n += 1
        self.l1 += x.abs().sum(0).double() / self.n
        self.l2sq += x.square().sum(0).double() / self.n


def activation_scale(args, st):
    l1, l2sq = st.l1.float().double(), st.l2sq.float().double()  # statistics in fp32, as enwanda stores them
    if args.method == "wanda":
        return l2sq.sqrt().float()
    if args.geometry == "original":
        return (args.alpha * l1 + (1 - args.alpha) * l2sq).float()
    return (args.alpha * l1 + (1 - args.alpha) * l2sq.sqrt()).float()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--method", default="en", choices=["en", "wanda"])
    ap.add_argument("--geometry", default="modified", choices=["modified", "original"])
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", help="write the pruned checkpoint here (timed as 'save')")
    ap.add_argument("--compare", help="an enwanda output directory: compare its masks with ours")
    ap.add_argument("--json", help="write timings and the comparison here")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    seconds = {}

    # load: every tensor onto the device, the model resident as locuslab's is
    sync(dev)
    t = time.time()
    shards, weight_map = shard_files(args.model)
    mapped = {}
    for s in shards:
        for name, entry in read_mapped(os.path.join(args.model, s)).items():
            if weight_map is None or weight_map.get(name) == s:
                mapped[name] = (s,) + entry
    compute = torch.float32 if dev.type == "cpu" else DTYPES[mapped["model.layers.0.self_attn.q_proj.weight"][1]]
    w = {name: e[3].to(dev, compute, copy=True) for name, e in mapped.items()}  # never write into the mapping
    layers = [DecoderLayer(cfg, w, i) for i in range(cfg["num_hidden_layers"])]
    sync(dev)
    seconds["load"] = time.time() - t

    # prune, layer by layer, one sequence per forward
    t = time.time()
    tokens = torch.from_numpy(np.load(args.tokens).astype(np.int64)).to(dev)
    N, T = tokens.shape
    cos, sin = rope_tables(cfg, T, dev, compute)
    hidden_keys = torch.ones(T, T, dtype=torch.bool, device=dev).triu(1)  # made once, as locuslab's attention_mask
    inps = w["model.embed_tokens.weight"][tokens]  # [N, T, H]: what locuslab's Catcher collects
    outs = torch.zeros_like(inps)
    for i, layer in enumerate(layers):
        stats, hooks = {}, []
        for name in LINEARS:
            mod = layer.lin[name.replace(".", "_")]
            stats[name] = InputStats(mod.in_features, dev)
            hooks.append(mod.register_forward_hook(lambda m, inp, out, st=stats[name]: st.add_batch(inp[0].data)))
        with torch.no_grad():
            for j in range(N):
                outs[j] = layer(inps[j].unsqueeze(0), cos, sin, hidden_keys)[0]
        for h in hooks:
            h.remove()
        for name in LINEARS:
            W = layer.lin[name.replace(".", "_")].weight.data
            metric = W.abs().float() * activation_scale(args, stats[name]).reshape(1, -1)
            idx = torch.sort(metric, dim=-1, stable=True)[1][:, : int(W.shape[1] * args.sparsity)]
            mask = torch.zeros_like(W, dtype=torch.bool).scatter_(1, idx, True)
            W[mask] = 0
        with torch.no_grad():
            for j in range(N):
                outs[j] = layer(inps[j].unsqueeze(0), cos, sin, hidden_keys)[0]
        inps, outs = outs, inps
        print(f"reference: layer {i} pruned", file=sys.stderr, flush=True)
    sync(dev)
    seconds["prune"] = time.time() - t

    # save: the pruned linears in the input's dtype, everything else as read
    if args.out:
        t = time.time()
        os.makedirs(args.out, exist_ok=True)
        for s in shards:
            tensors = {}
            for name, (shard, dtype, shape, view) in mapped.items():
                if shard != s:
                    continue
                tensors[name] = w[name].to("cpu", DTYPES[dtype]) if name.endswith("_proj.weight") else view
            write_safetensors(os.path.join(args.out, s), tensors)
        seconds["save"] = time.time() - t
    seconds["total"] = sum(seconds.values())

    report = {"seconds": seconds, "device": str(dev), "compute_dtype": str(compute), "nsamples": N, "seqlen": T}
    if dev.type == "cuda":
        report["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if args.compare:
        other = {}
        for s in shard_files(args.compare)[0]:
            other.update(read_mapped(os.path.join(args.compare, s)))
        differing, total, equal_linears = 0, 0, 0
        for i in range(cfg["num_hidden_layers"]):
            for name in LINEARS:
                key = f"model.layers.{i}.{name}.weight"
                ours = (w[key] == 0).cpu()
                theirs = other[key][2] == 0
                d = int((ours != theirs).sum())
                differing += d
                total += ours.numel()
                equal_linears += d == 0
        report["masks"] = {"linears": 7 * cfg["num_hidden_layers"], "identical_linears": equal_linears,
                           "differing_entries": differing, "entries": total}
        print(f"masks vs {args.compare}: {equal_linears}/{7 * cfg['num_hidden_layers']} linears identical, "
              f"{differing} of {total} entries differ")
    print("reference seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items()))
    if args.json:
        json.dump(report, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
