#!/usr/bin/python3
"""Independent reference for enwanda's mixture-of-experts families, in plain PyTorch.

Written from transformers' definitions, not from the C++:
  mixtral    modeling_mixtral.py   MixtralSparseMoeBlock (router block_sparse_moe.gate, experts w1/w3/w2,
                                   top-k always renormalised), mistral's attention and sliding window
  qwen2_moe  modeling_qwen2_moe.py Qwen2MoeDecoderLayer (MoE iff not in mlp_only_layers and
                                   (i + 1) % decoder_sparse_step == 0), Qwen2MoeSparseMoeBlock (shared expert
                                   weighted by sigmoid(shared_expert_gate)), q/k/v biases (qkv_bias)
  qwen3_moe  modeling_qwen3_moe.py Qwen3MoeAttention (q/k RMSNorm per head), Qwen3MoeSparseMoeBlock
  olmoe      modeling_olmoe.py     OlmoeAttention (q/k RMSNorm over the whole projection, then clip_qkv on
                                   q, k and v), OlmoeSparseMoeBlock
The router: softmax in fp32 over every expert, top-k, renormalised iff norm_topk_prob (mixtral
always), cast to the hidden dtype; experts looped in order, each over the tokens routed to it
(torch.where over the one-hot of the selection), outputs weighted and index_add_-ed.

Pruning (`masks`), one sequence per forward as reference.py runs it, layer by layer and sequential:
the attention's and dense MLPs' linears as reference.py prunes them; each expert from the tokens
routed to it only (gate/up: their hidden states; down: the expert's silu(gate x) * (up x)), L1, L2sq
and SparseGPT's H = (2/N) sum x x^T divided by N = all calibration sequences, also those that sent
the expert nothing; an expert that got no token pruned by |W| per row (per group for N:M). With
--stat-norm tokens, L1 and L2sq are divided by all N*T calibration tokens instead (an expert's too,
as its sums over sequences count every sequence): the per-sequence means divided by T.

Usage:
  moe_reference.py ppl     --model DIR --tokens WINDOWS.npy   -> prints the perplexity
  moe_reference.py masks   --model DIR --tokens CALIB.npy --pruned DIR --method M [--geometry G --alpha A]
                           [--sparsity S | --structure N:M]  -> compares every pruned linear
  moe_reference.py routing --model DIR --tokens WINDOWS.npy   -> per MoE layer: the smallest gap between
                                                                  the k-th and (k+1)-th probability of any
                                                                  token, and the tokens each expert got
"""
import argparse
import math
import sys

import numpy as np
import torch

from reference import DTYPES, Llama, RunningGram, attend, RunningStats, load_model, make_mask, scale, sparsegpt_prune

F = torch.nn.functional


class MoeFamily(Llama):
    def __init__(self, cfg, w):
        super().__init__(cfg, w)
        t = cfg["model_type"]
        n = cfg["num_hidden_layers"]
        self.family = t
        self.E = cfg["num_local_experts"] if t == "mixtral" else cfg["num_experts"]
        self.k = cfg["num_experts_per_tok"]
        self.norm_topk = True if t == "mixtral" else bool(cfg.get("norm_topk_prob", False))
        self.clip = cfg.get("clip_qkv") if t == "olmoe" else None
        if t in ("qwen2_moe", "qwen3_moe"):
            step, only = cfg.get("decoder_sparse_step", 1), cfg.get("mlp_only_layers") or []
            self.moe = [i not in only and self.E > 0 and (i + 1) % step == 0 for i in range(n)]
        else:
            self.moe = [True] * n
        self.block = "block_sparse_moe" if t == "mixtral" else "mlp"
        self.expert_names = ["w1", "w3", "w2"] if t == "mixtral" else ["gate_proj", "up_proj", "down_proj"]
        # sliding windows: mixtral as mistral (every layer); qwen*_moe with use_sliding_window from
        # max_window_layers on; olmoe none
        window = cfg.get("sliding_window") or 0
        if t == "olmoe" or (t.startswith("qwen") and not cfg.get("use_sliding_window", False)):
            window = 0
        if cfg.get("layer_types") is not None:
            self.windows = [window if x == "sliding_attention" else 0 for x in cfg["layer_types"]]
        elif t == "mixtral":
            self.windows = [window] * n
        else:
            first = cfg.get("max_window_layers")
            first = n if first is None else first
            self.windows = [window if window and i >= first else 0 for i in range(n)]
        self.gaps = {}     # layer -> smallest k-th minus (k+1)-th probability seen
        self.counts = {}   # layer -> tokens per expert
        self.hook = None   # hook(which, x): "qkv", "o", "mlp", "down", or (expert, "in" | "down") with expert -1 shared

    def attention(self, i, x):
        B, T, _ = x.shape

        def lin(t, n):
            b = self.lb(i, n)
            return t @ self.lw(i, n).T + (b if b is not None else 0)
        a = self.rmsnorm(x, self.lw(i, "input_layernorm"))
        if self.hook: self.hook("qkv", a)
        q, k, v = lin(a, "self_attn.q_proj"), lin(a, "self_attn.k_proj"), lin(a, "self_attn.v_proj")
        if self.family == "olmoe":
            q = self.rmsnorm(q, self.lw(i, "self_attn.q_norm"))
            k = self.rmsnorm(k, self.lw(i, "self_attn.k_norm"))
            if self.clip is not None:
                q, k, v = (t.clamp(min=-self.clip, max=self.clip) for t in (q, k, v))
        q = q.view(B, T, self.nh, self.hd)
        k = k.view(B, T, self.nkv, self.hd)
        v = v.view(B, T, self.nkv, self.hd).transpose(1, 2)
        if self.family == "qwen3_moe":
            q = self.rmsnorm(q, self.lw(i, "self_attn.q_norm"))
            k = self.rmsnorm(k, self.lw(i, "self_attn.k_norm"))
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cos, sin = self.rope(T)
        q = q * cos + self.rot(q) * sin
        k = k * cos + self.rot(k) * sin
        o = attend(q, k, v, self.windows[i])
        if self.hook: self.hook("o", o)
        return x + lin(o, "self_attn.o_proj")

    def swiglu(self, x, gate, up, down, which=None):
        act = F.silu(x @ gate.T) * (x @ up.T)
        if self.hook and which is not None:
            self.hook((which, "in") if which != "mlp" else "mlp", x[None])
            self.hook((which, "down") if which != "mlp" else "down", act[None])
        return act @ down.T

    def sparse_block(self, i, x):
        B, T, h = x.shape
        hs = x.reshape(-1, h)
        logits = hs @ self.lw(i, f"{self.block}.gate").T
        probs = F.softmax(logits, dim=1, dtype=torch.float)
        if self.k < self.E:
            top = probs.sort(dim=-1, descending=True).values
            gap = (top[:, self.k - 1] - top[:, self.k]).min().item()
            self.gaps[i] = min(gap, self.gaps.get(i, gap))
        weights, selected = torch.topk(probs, self.k, dim=-1)
        if self.norm_topk:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        weights = weights.to(hs.dtype)
        out = torch.zeros_like(hs)
        mask = F.one_hot(selected, num_classes=self.E).permute(2, 1, 0)  # [E, k, N]
        counts = self.counts.setdefault(i, [0] * self.E)
        for e in range(self.E):
            slot, tokens = torch.where(mask[e])
            counts[e] += tokens.numel()
            names = [f"{self.block}.experts.{e}.{n}" for n in self.expert_names]
            y = self.swiglu(hs[tokens], *(self.lw(i, n) for n in names), which=e) * weights[tokens, slot, None]
            out.index_add_(0, tokens, y.to(hs.dtype))
        if f"model.layers.{i}.mlp.shared_expert_gate.weight" in self.w:
            shared = self.swiglu(hs, *(self.lw(i, f"mlp.shared_expert.{n}") for n in ("gate_proj", "up_proj", "down_proj")),
                                 which=-1)
            out = out + torch.sigmoid(hs @ self.lw(i, "mlp.shared_expert_gate").T) * shared
        return out.reshape(B, T, h)

    def layer(self, i, x, weights=None, hook=None):
        x = self.attention(i, x)
        m = self.rmsnorm(x, self.lw(i, "post_attention_layernorm"))
        if self.moe[i]:
            return x + self.sparse_block(i, m)
        return x + self.swiglu(m, self.lw(i, "mlp.gate_proj"), self.lw(i, "mlp.up_proj"), self.lw(i, "mlp.down_proj"),
                               which="mlp")

    def linears(self, i):
        """(name, input key) of every pruned linear of layer i"""
        out = [(f"self_attn.{n}_proj", "qkv") for n in "qkv"] + [("self_attn.o_proj", "o")]
        if not self.moe[i]:
            return out + [("mlp.gate_proj", "mlp"), ("mlp.up_proj", "mlp"), ("mlp.down_proj", "down")]
        for e in range(self.E):
            g, u, d = (f"{self.block}.experts.{e}.{n}" for n in self.expert_names)
            out += [(g, (e, "in")), (u, (e, "in")), (d, (e, "down"))]
        if f"model.layers.{i}.mlp.shared_expert_gate.weight" in self.w:
            out += [(f"mlp.shared_expert.{n}", (-1, "in" if n != "down_proj" else "down"))
                    for n in ("gate_proj", "up_proj", "down_proj")]
        return out


def run(args):
    cfg, w = load_model(args.model)
    model = MoeFamily(cfg, w)
    windows = torch.from_numpy(np.load(args.tokens)).long()
    nll, count = 0.0, 0
    with torch.no_grad():
        for n in range(windows.shape[0]):
            lp = model.forward(windows[n:n + 1])[0]
            tgt = windows[n, 1:]
            nll -= lp[:-1].gather(-1, tgt[:, None]).double().sum().item()
            count += tgt.numel()
    return model, math.exp(nll / count)


def row_mask(metric, sparsity, structure):
    """the lowest scores per row (stable sort: ties to the lower column), or per group of M for N:M"""
    mask = torch.zeros_like(metric, dtype=torch.bool)
    if structure:
        n, m = map(int, structure.split(":"))
        for c in range(0, metric.shape[1], m):
            mask.scatter_(1, c + torch.sort(metric[:, c:c + m], dim=1, stable=True)[1][:, :n], True)
        return mask
    mask.scatter_(1, torch.sort(metric, dim=-1, stable=True)[1][:, :int(metric.shape[1] * sparsity)], True)
    return mask


def cmd_masks(args):
    cfg, w = load_model(args.model)
    model = MoeFamily(cfg, w)
    tokens = torch.from_numpy(np.load(args.tokens)).long()
    inps = [model.embed(tokens[n:n + 1]) for n in range(tokens.shape[0])]
    stored = DTYPES.get({"bfloat16": "BF16", "float16": "F16"}.get(cfg.get("torch_dtype"), "F32"))
    masks, weights, untouched_experts = {}, {}, 0
    for i in range(cfg["num_hidden_layers"]):
        stats, grams = {}, {}

        def observe(which, t):
            stats.setdefault(which, RunningStats()).add(t)
            if args.method == "sparsegpt":
                grams.setdefault(which, RunningGram()).add(t)
        model.hook = observe
        with torch.no_grad():
            for x in inps:
                model.layer(i, x)
            model.hook = None
            counts = model.counts.get(i, [])
            for name, key in model.linears(i):
                full = f"model.layers.{i}.{name}.weight"
                W = model.lw(i, name)
                expert = key[0] if isinstance(key, tuple) else None
                if expert is not None and expert >= 0 and counts[expert] == 0 and args.method != "magnitude":
                    mask = row_mask(W.abs(), args.sparsity, args.structure)  # no token: |W| alone
                    untouched_experts += name.endswith(model.expert_names[0])
                elif args.method == "sparsegpt":
                    new = sparsegpt_prune(W, grams[key].H, args.sparsity, args.structure, 128, 0.01)
                    model.w[full] = new
                    masks[full], weights[full] = new == 0, new.to(stored).float()
                    continue
                elif args.method == "magnitude":
                    mask = make_mask(args, W, W.abs(), args.sparsity)
                else:
                    st = stats[key]
                    if args.stat_norm == "tokens":  # over all N*T tokens: the means over N sequences / T
                        st = RunningStats()
                        st.l1, st.l2sq = stats[key].l1 / tokens.shape[1], stats[key].l2sq / tokens.shape[1]
                    mask = row_mask(W.abs() * scale(args, st)[None, :], args.sparsity, args.structure)
                W[mask] = 0
                masks[full] = mask
            model.counts.pop(i, None)
            inps = [model.layer(i, x) for x in inps]  # sequential: through the pruned layer
    _, pruned = load_model(args.pruned)
    bad, worst = 0, 0.0
    for name, mask in masks.items():
        diff = ((pruned[name] == 0) != mask).sum().item()
        rel = ((pruned[name] - weights[name]).abs().max() / weights[name].abs().max()).item() if name in weights else 0.0
        worst = max(worst, rel)
        if diff or rel > 1e-4:
            print(f"MISMATCH {name}: {diff} of {mask.numel()} positions differ, weights by {rel:.2e} relative")
            bad += 1
    others = [n for n in model.w if n not in masks]
    changed = [n for n in others if not torch.equal(pruned[n], model.w[n])]
    if set(pruned) != set(model.w) or changed:
        print(f"MISMATCH tensors: names differ or {len(changed)} unpruned tensors changed, e.g. {changed[:1]}")
        bad += 1
    print(f"masks: {len(masks) - bad}/{len(masks)} linears identical to the reference, {untouched_experts} experts "
          f"without tokens pruned by |W|, {len(others)} other tensors unchanged"
          + (f", weights within {worst:.2e} relative" if weights else ""))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["ppl", "routing", "masks"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--pruned")
    ap.add_argument("--method", default="en")
    ap.add_argument("--geometry", default="modified")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--stat-norm", default="sequences", choices=["sequences", "tokens"])
    ap.add_argument("--structure")
    args = ap.parse_args()
    if args.command == "masks":
        return cmd_masks(args)
    model, ppl = run(args)
    if args.command == "ppl":
        print(f"{ppl:.10f}")
    else:
        for i in sorted(model.counts):
            print(f"layer {i}: min gap {model.gaps.get(i, float('inf')):.3e}, tokens per expert {model.counts[i]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
