#!/usr/bin/python3
"""Independent reference for enwanda, in plain PyTorch (Debian's python3-torch).

Written from the formulas, not from the C++: its own safetensors reader, a LLaMA forward with
transformers' semantics (RMSNorm in fp32, rotate_half RoPE, GQA by repeating k/v heads, causal
softmax in fp32, SiLU-gated MLP), and the pruning loop the way locuslab/wanda runs it: one
sequence per forward, running statistics updated per sample (scaler_row), stable sort per row.

Usage:
  reference.py masks    --model DIR --tokens CALIB.npy --method M [--geometry G --alpha A]
                        [--sparsity S | --structure N:M] [--allocation owl] --pruned DIR
                        (methods: en wanda magnitude wanda++ en++ sparsegpt ria)
  reference.py ppl      --model DIR (--tokens WINDOWS.npy | --text FILE --seqlen L)  -> prints ppl
  reference.py zeroshot --model DIR --task T --data FILE --result ENWANDA.json [--no-bos]
  reference.py rgs      --model DIR --tokens CALIB.npy --grads OUT.pt
"""
import argparse
import json
import math
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def load_model(d):
    import os
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = os.path.join(d, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(idx):
        for shard in sorted(set(json.load(open(idx))["weight_map"].values())):
            tensors.update(read_safetensors(os.path.join(d, shard)))
    else:
        tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    return cfg, {k: v.float() for k, v in tensors.items()}


def layer_windows(cfg):
    """Sliding-window length per layer (0: full causal attention), as transformers reads the
    config: mistral windows every layer; qwen2/qwen3 only with use_sliding_window, from
    max_window_layers on, unless layer_types lists each layer."""
    n, family = cfg["num_hidden_layers"], cfg.get("model_type", "llama")
    window = cfg.get("sliding_window") or 0
    if family == "llama" or (family in ("qwen2", "qwen3") and not cfg.get("use_sliding_window", False)):
        window = 0
    if cfg.get("layer_types") is not None:
        return [window if t == "sliding_attention" else 0 for t in cfg["layer_types"]]
    if family == "mistral":
        return [window] * n
    first = cfg.get("max_window_layers")
    first = n if first is None else first
    return [window if window and i >= first else 0 for i in range(n)]


def rope_frequencies(cfg, hd):
    """inv_freq and the cos/sin factor (YaRN's attention factor; 1 otherwise)."""
    params = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    theta = params.get("rope_theta", cfg.get("rope_theta", 10000.0)) if cfg.get("rope_parameters") else cfg.get("rope_theta", 10000.0)
    kind = params.get("rope_type", params.get("type", "default"))
    exps = torch.arange(0, hd, 2, dtype=torch.int64).float() / hd
    inv = 1.0 / (theta ** exps)
    if kind in ("default", None):
        return inv, 1.0
    if kind == "yarn":
        factor = params["factor"]
        original = params.get("original_max_position_embeddings")
        if original is not None:
            factor = cfg["max_position_embeddings"] / original
        else:
            original = cfg["max_position_embeddings"]
        m = lambda scale, k=1.0: 1.0 if scale <= 1 else 0.1 * k * math.log(scale) + 1.0
        att = params.get("attention_factor")
        if att is None:
            ms, msa = params.get("mscale"), params.get("mscale_all_dim")
            att = m(factor, ms) / m(factor, msa) if ms and msa else m(factor)
        fast, slow = params.get("beta_fast") or 32, params.get("beta_slow") or 1
        corr = lambda rot: hd * math.log(original / (rot * 2 * math.pi)) / (2 * math.log(theta))
        lo, hi = corr(fast), corr(slow)
        if params.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, hd - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(hd // 2, dtype=torch.float32) - lo) / (hi - lo)).clamp(0, 1)
        keep = 1 - ramp
        pos = theta ** exps
        return (1.0 / (factor * pos)) * (1 - keep) + (1.0 / pos) * keep, att
    raise SystemExit(f"reference: rope type {kind} not modelled")


def attend(q, k, v, window):
    """transformers' eager attention: k/v heads repeated to q's (repeat_kv), causal and, with a
    window, sliding (mistral), softmax in fp32; q [B, h, T, d], k and v [B, kv heads, T, d] -> [B, T, h*d]"""
    B, h, T, d = q.shape
    rep = h // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(d)
    qpos, kpos = torch.arange(T)[:, None], torch.arange(T)[None, :]
    visible = kpos <= qpos
    if window:
        visible &= kpos > qpos - window
    s = s.masked_fill(~visible, float("-inf"))
    p = torch.softmax(s.float(), dim=-1).to(q.dtype)
    return (p @ v).transpose(1, 2).reshape(B, T, h * d)


class Llama:
    """LLaMA and its kin: mistral (sliding window), qwen2 (q/k/v biases), qwen3 (q/k norm);
    llama's attention_bias/mlp_bias. Biases are used where the checkpoint has them."""
    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.h = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads") or self.nh
        self.hd = cfg.get("head_dim") or self.h // self.nh
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.inv_freq, self.rope_factor = rope_frequencies(cfg, self.hd)
        self.windows = layer_windows(cfg)

    def lw(self, i, name):
        return self.w[f"model.layers.{i}.{name}.weight"]

    def lb(self, i, name):
        return self.w.get(f"model.layers.{i}.{name}.bias")

    def rmsnorm(self, x, weight):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)

    def rope(self, T):
        f = torch.arange(T).float()[:, None] * self.inv_freq[None, :]
        e = torch.cat([f, f], dim=-1)
        return e.cos() * self.rope_factor, e.sin() * self.rope_factor

    @staticmethod
    def rot(x):
        a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat([-b, a], dim=-1)

    def layer(self, i, x, weights=None, hook=None):
        """x: [B, T, h]. weights: optional dict name->tensor overriding the checkpoint's."""
        W = (lambda n: weights[n]) if weights is not None else (lambda n: self.lw(i, n))

        def lin(t, n):
            b = self.lb(i, n)
            return t @ W(n).T + (b if b is not None else 0)
        B, T, _ = x.shape
        a = self.rmsnorm(x, self.lw(i, "input_layernorm"))
        if hook: hook("qkv", a)
        q = lin(a, "self_attn.q_proj").view(B, T, self.nh, self.hd)
        k = lin(a, "self_attn.k_proj").view(B, T, self.nkv, self.hd)
        v = lin(a, "self_attn.v_proj").view(B, T, self.nkv, self.hd).transpose(1, 2)
        if f"model.layers.{i}.self_attn.q_norm.weight" in self.w:
            q = self.rmsnorm(q, self.lw(i, "self_attn.q_norm"))
            k = self.rmsnorm(k, self.lw(i, "self_attn.k_norm"))
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cos, sin = self.rope(T)
        q = q * cos + self.rot(q) * sin
        k = k * cos + self.rot(k) * sin
        o = attend(q, k, v, self.windows[i])
        if hook: hook("o", o)
        x = x + lin(o, "self_attn.o_proj")
        m = self.rmsnorm(x, self.lw(i, "post_attention_layernorm"))
        if hook: hook("mlp", m)
        g = torch.nn.functional.silu(lin(m, "mlp.gate_proj")) * lin(m, "mlp.up_proj")
        if hook: hook("down", g)
        return x + lin(g, "mlp.down_proj")

    def embed(self, tokens):
        return self.w["model.embed_tokens.weight"][tokens]

    def logprobs(self, x):
        head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        return torch.log_softmax((self.rmsnorm(x, self.w["model.norm.weight"]) @ head.T).float(), dim=-1)

    def forward(self, tokens):
        x = self.embed(tokens)
        for i in range(self.cfg["num_hidden_layers"]):
            x = self.layer(i, x)
        return self.logprobs(x)


INPUT_OF = {"self_attn.q_proj": "qkv", "self_attn.k_proj": "qkv", "self_attn.v_proj": "qkv",
            "self_attn.o_proj": "o", "mlp.gate_proj": "mlp", "mlp.up_proj": "mlp", "mlp.down_proj": "down"}


class RunningStats:
    """locuslab/wanda's scaler_row, extended with the L1 sum: running means over samples, or with
    norm "tokens" over every token (each sample counts as its T tokens)."""

    def __init__(self, norm="sequences"):
        self.n, self.l1, self.l2sq, self.norm = 0, None, None, norm

    def add(self, x):  # x: [1, T, in]
        inp = x.reshape(-1, x.shape[-1]).t().double()
        if self.l1 is None:
            self.l1 = torch.zeros(inp.shape[0], dtype=torch.float64)
            self.l2sq = torch.zeros(inp.shape[0], dtype=torch.float64)
        k = inp.shape[1] if self.norm == "tokens" else 1
        self.l1 *= self.n / (self.n + k)
        self.l2sq *= self.n / (self.n + k)
        self.n += k
        self.l1 += inp.abs().sum(dim=1) / self.n
        self.l2sq += torch.norm(inp, p=2, dim=1) ** 2 / self.n


class RunningGram:
    """SparseGPT's H: IST-DASLab/sparsegpt's add_batch, a running average of 2·XᵀX over samples (fp64)."""

    def __init__(self):
        self.n, self.H = 0, None

    def add(self, x):  # x: [1, T, in]
        inp = x.reshape(-1, x.shape[-1]).t().double()
        if self.H is None:
            self.H = torch.zeros(inp.shape[0], inp.shape[0], dtype=torch.float64)
        self.H *= self.n / (self.n + 1)
        self.n += 1
        inp = math.sqrt(2 / self.n) * inp
        self.H += inp.matmul(inp.t())


def sparsegpt_prune(W, H, sparsity, structure, blocksize, percdamp):
    """SparseGPT's fasterprune (Frantar & Alistarh 2023), from the paper's Algorithm 1 with lazy
    block updates: H, its Cholesky factors in fp64, the column loop in fp32."""
    W = W.clone().float()
    if not structure and sparsity == 0:
        return W
    H = H.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(H.shape[0])
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True).float()
    n, m = map(int, structure.split(":")) if structure else (0, 0)
    cols = W.shape[1]
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1 = W[:, i1:i2].clone()
        Q1, Err1 = torch.zeros_like(W1), torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if n == 0:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        for i in range(i2 - i1):
            w = W1[:, i]
            d = Hinv1[i, i]
            if n != 0 and i % m == 0:
                tmp = W1[:, i:i + m] ** 2 / (torch.diag(Hinv1)[i:i + m].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + torch.sort(tmp, dim=1, stable=True)[1][:, :n], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def ria_metric(W, st, power):
    """RIA (Zhang et al. 2024): relative importance times the activation norm to the power a."""
    a = W.abs()
    relative = a / torch.sum(a, dim=0) + a / torch.sum(a, dim=1).reshape(-1, 1)
    return relative * (st.l2sq.float().double().sqrt().float()[None, :]) ** power


def owl_sparsities(args, model, inps):
    """OWL (Yin et al. 2024): per-layer outlier ratios of the Wanda scores on the dense model."""
    ratios = []
    with torch.no_grad():
        for i in range(model.cfg["num_hidden_layers"]):
            stats = {k: RunningStats(args.stat_norm) for k in ("qkv", "o", "mlp", "down")}
            inps = [model.layer(i, x, hook=lambda which, t: stats[which].add(t)) for x in inps]
            scores = [model.lw(i, n).abs() * stats[INPUT_OF[n]].l2sq.float().double().sqrt().float()[None, :]
                      for n in LINEARS]
            flat = torch.cat([s.flatten() for s in scores]).double()
            ratios.append(100.0 * (flat > args.owl_m * flat.mean()).sum().item() / flat.numel())
    D = np.array(ratios)
    if D.max() == D.min():
        return [args.sparsity] * len(D), D
    r = (D - D.min()) * (1 / (D.max() - D.min()) * args.owl_lambda * 2)
    r = r - np.mean(r) + (1 - args.sparsity)
    return [0.01 if 1 - x <= 0 else 1 - x for x in r], D


def scale(args, st):
    l1, l2sq = st.l1.float().double(), st.l2sq.float().double()
    if args.method in ("wanda", "wanda++"):
        return l2sq.sqrt().float()
    a = args.alpha
    if args.geometry == "original":
        return (a * l1 + (1 - a) * l2sq).float()
    return (a * l1 + (1 - a) * l2sq.sqrt()).float()


def make_mask(args, W, metric, sparsity):
    if args.structure:
        n, m = map(int, args.structure.split(":"))
        mask = torch.zeros_like(W, dtype=torch.bool)
        for ii in range(0, W.shape[1], m):
            tmp = metric[:, ii:ii + m]
            idx = torch.sort(tmp, dim=1, stable=True)[1][:, :n]
            mask.scatter_(1, ii + idx, True)
        return mask
    if args.method == "magnitude":
        flat = W.abs().flatten()
        k = int(sparsity * flat.numel())
        if k == 0:
            return torch.zeros_like(W, dtype=torch.bool)
        thresh = torch.sort(flat)[0][k - 1]
        return W.abs() <= thresh
    if args.method == "ria":  # one threshold per matrix: the value at index floor(S·numel), ties included
        if sparsity == 0:
            return torch.zeros_like(W, dtype=torch.bool)
        return metric <= torch.sort(metric.flatten())[0][int(metric.numel() * sparsity)]
    idx = torch.sort(metric, dim=-1, stable=True)[1][:, : int(W.shape[1] * sparsity)]
    mask = torch.zeros_like(W, dtype=torch.bool)
    mask.scatter_(1, idx, True)
    return mask


def gradient_rms(model, i, inps):
    """Wanda++ RGS: G = sqrt(mean_n (d||f_i(X_n)||_F / dW)^2) on the dense block i."""
    params = {n: model.lw(i, n).clone().requires_grad_(True) for n in LINEARS}
    sums = {n: torch.zeros_like(p) for n, p in params.items()}
    for x in inps:
        loss = torch.linalg.norm(model.layer(i, x, weights=params))
        for name, g in zip(params, torch.autograd.grad(loss, list(params.values()))):
            sums[name] += g ** 2
    return {n: (s / len(inps)).sqrt() for n, s in sums.items()}


def cmd_masks(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    tokens = torch.from_numpy(np.load(args.tokens)).long()
    inps = [model.embed(tokens[n:n + 1]) for n in range(tokens.shape[0])]
    L = cfg["num_hidden_layers"]
    layer_sparsity, D = [args.sparsity] * L, None
    if args.allocation == "owl":
        layer_sparsity, D = owl_sparsities(args, model, inps)
    masks, weights = {}, {}
    for i in range(L):
        stats = {k: RunningStats(args.stat_norm) for k in ("qkv", "o", "mlp", "down")}
        grams = {k: RunningGram() for k in ("qkv", "o", "mlp", "down")}
        grads = gradient_rms(model, i, inps) if args.method in ("wanda++", "en++") else None

        def observe(which, t):
            stats[which].add(t)
            if args.method == "sparsegpt":
                grams[which].add(t)

        sp = layer_sparsity[i]
        with torch.no_grad():
            dense = [model.layer(i, x, hook=observe) for x in inps]  # one sequence per forward
            for name in LINEARS:
                key = f"model.layers.{i}.{name}.weight"
                W = model.lw(i, name)
                if args.method == "sparsegpt":
                    new = sparsegpt_prune(W, grams[INPUT_OF[name]].H, sp, args.structure, args.sparsegpt_block,
                                          args.sparsegpt_damp)
                    model.w[key] = new
                    # enwanda writes the updated weights in the checkpoint's dtype
                    stored = DTYPES.get({"bfloat16": "BF16", "float16": "F16"}.get(cfg.get("torch_dtype"), "F32"))
                    masks[key], weights[key] = new == 0, new.to(stored).float()
                    continue
                if args.method == "magnitude":
                    metric = W.abs()
                elif args.method == "ria":
                    metric = ria_metric(W, stats[INPUT_OF[name]], args.ria_power)
                elif grads is not None:
                    metric = (args.rgs_scale * grads[name] + scale(args, stats[INPUT_OF[name]])[None, :]) * W.abs()
                else:
                    metric = W.abs() * scale(args, stats[INPUT_OF[name]])[None, :]
                mask = make_mask(args, W, metric, sp)
                W[mask] = 0
                masks[key] = mask
            # the next layer's inputs: from the pruned layer (sequential) or the dense one
            inps = [model.layer(i, x) for x in inps] if args.sequential else dense
    _, pruned = load_model(args.pruned)
    bad, worst = 0, 0.0
    for name, mask in masks.items():
        got = pruned[name] == 0
        diff = (got != mask).sum().item()
        if diff:
            print(f"MISMATCH {name}: {diff} of {mask.numel()} positions differ")
        rel = 0.0
        if name in weights:
            rel = ((pruned[name] - weights[name]).abs().max() / weights[name].abs().max()).item()
            worst = max(worst, rel)
            if rel > 1e-5:
                print(f"MISMATCH {name}: weights differ by {rel:.3e} of their largest magnitude")
        bad += 1 if diff or rel > 1e-5 else 0
    line = f"masks: {len(masks) - bad}/{len(masks)} linears identical to the reference"
    # everything else (embeddings, norms, biases, q/k norms, the head) is carried unchanged
    if set(pruned) != set(model.w):
        print(f"MISMATCH tensors: output lacks {sorted(set(model.w) - set(pruned))}, adds {sorted(set(pruned) - set(model.w))}")
        bad += 1
    changed = [n for n in model.w if n not in masks and n in pruned and not torch.equal(pruned[n], model.w[n])]
    if changed:
        print(f"MISMATCH {len(changed)} tensors that are not pruned differ from the input, e.g. {changed[0]}")
        bad += 1
    line += f", {len(model.w) - len(masks)} other tensors unchanged"
    if weights:
        line += f", weights within {worst:.2e} relative"
    if D is not None:
        report = json.load(open(f"{args.pruned}/enwanda_report.json"))
        got = [(l["target_sparsity"], l["outlier_ratio"]) for l in report["layers"]]
        err = max(max(abs(a - s), abs(b - d)) for (a, b), s, d in zip(got, layer_sparsity, D))
        line += f", OWL layer sparsities {', '.join(f'{x:.4f}' for x in layer_sparsity)} (max diff {err:.1e})"
        if len(got) != len(layer_sparsity) or err > 1e-9:
            print(f"MISMATCH OWL: enwanda {got}, reference {list(zip(layer_sparsity, D))}")
            bad += 1
    print(line)
    return 1 if bad else 0


def text_windows(model_dir, path, seqlen):
    """the text encoded whole with BOS, cut into windows of seqlen tokens (the remainder dropped)"""
    import os
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    ids = [sp.bos_id()] + sp.encode(open(path, encoding="utf-8").read())
    n = len(ids) // seqlen
    return torch.tensor(ids[:n * seqlen]).reshape(n, seqlen)


def cmd_ppl(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    if args.text:
        windows = text_windows(args.model, args.text, args.seqlen)
    else:
        windows = torch.from_numpy(np.load(args.tokens)).long()
    nll, count = 0.0, 0
    with torch.no_grad():
        for n in range(windows.shape[0]):
            lp = model.forward(windows[n:n + 1])[0]
            tgt = windows[n, 1:]
            nll -= lp[:-1].gather(-1, tgt[:, None]).double().sum().item()
            count += tgt.numel()
    print(f"{math.exp(nll / count):.10f}")
    return 0


def encode_pair(sp, context, continuation, prefix):
    """prefix: [BOS] or [] (--no-bos); an empty context is BOS alone, the continuation encoded by itself"""
    n_spaces = len(context) - len(context.rstrip(" "))
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    if not context:
        return [sp.bos_id()], sp.encode(continuation)
    whole = prefix + sp.encode(context + continuation)
    ctx = prefix + sp.encode(context)
    return ctx, whole[len(ctx):]


def docs(task, path, template, choices):
    """per example: [(context, continuation) per choice], the choice strings, the gold index.
    Written from lm-evaluation-harness 0.4's task YAML and utils (target delimiter " ")."""
    import re
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        d = json.loads(line)

        def shared(ctx, opts, gold):
            return [(ctx, " " + o) for o in opts], opts, int(gold)

        if task == "boolq":
            lab = d["label"] if "label" in d else int(bool(d["answer"]))
            yield shared(f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:", ["no", "yes"], lab)
        elif task == "rte":
            a, b = (d["sentence1"], d["sentence2"]) if "sentence1" in d else (d["premise"], d["hypothesis"])
            yield shared(f"{a}\nQuestion: {b} True or False?\nAnswer:", ["True", "False"], d["label"])
        elif task == "hellaswag":
            def pre(t):
                t = t.strip().replace(" [title]", ". ")
                t = re.sub("\\[.*?\\]", "", t)
                return t.replace("  ", " ")
            ctx = d["ctx_a"] + " " + d["ctx_b"].capitalize()
            yield shared(pre(d["activity_label"] + ": " + ctx), [pre(e) for e in d["endings"]], d["label"])
        elif task == "winogrande":
            i = d["sentence"].index("_")
            opts = [d["sentence"][:i] + o for o in (d["option1"], d["option2"])]
            target = " " + d["sentence"][i + 1:].strip()
            yield [(o, target) for o in opts], opts, {"1": 0, "2": 1}[d["answer"]]
        elif task in ("arc_easy", "arc_challenge"):
            yield shared(f"Question: {d['question']}\nAnswer:", d["choices"]["text"],
                         d["choices"]["label"].index(d["answerKey"]))
        elif task == "openbookqa":
            yield shared(d["question_stem"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"].lstrip()))
        elif task == "piqa":
            yield shared(f"Question: {d['goal']}\nAnswer:", [d["sol1"], d["sol2"]], d["label"])
        elif "context" in d:
            yield shared(d["context"], d["choices"], d["label"])
        else:
            yield shared(template.replace("{text}", d["text"]), choices, d["label"])


def cmd_zeroshot(args):
    """every log-likelihood within 1e-5 of enwanda's, acc and acc_norm (where reported) equal"""
    import os
    import sentencepiece as spm
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "tokenizer.model"))
    result = json.load(open(args.result))
    task = result["tasks"][args.task]
    got = task["examples"]
    worst, correct, correct_norm, n = 0.0, 0, 0, 0
    choices = args.choices.split(",") if args.choices else None
    with torch.no_grad():
        for e, (pairs, opts, label) in enumerate(docs(args.task, args.data, args.template, choices)):
            ll = []
            for ctx, cont_text in pairs:
                cenc, cont = encode_pair(sp, ctx, cont_text, [] if args.no_bos else [sp.bos_id()])
                inp = torch.tensor([(cenc + cont)[:-1]])
                lp = model.forward(inp)[0].double()
                ll.append(sum(lp[len(cenc) - 1 + k, t].item() for k, t in enumerate(cont)))
            for a, b in zip(ll, got[e]["logliks"]):
                worst = max(worst, abs(a - b))
            lengths = np.array([float(len(o)) for o in opts])  # Python's len: code points
            correct += int(np.argmax(ll) == label)
            correct_norm += int(np.argmax(np.array(ll) / lengths) == label)
            n += 1
    acc, acc_norm = correct / n, correct_norm / n
    ok = n == len(got) and worst <= 1e-5 and acc == task["acc"]
    line = f"zeroshot {args.task}: max |loglik diff| {worst:.3e}, reference acc {acc:.4f}, enwanda acc {task['acc']:.4f}"
    if "acc_norm" in task:
        ok = ok and acc_norm == task["acc_norm"]
        line += f", reference acc_norm {acc_norm:.4f}, enwanda acc_norm {task['acc_norm']:.4f}"
    print(line)
    return 0 if ok else 1


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def cmd_rgs(args):
    """Wanda++ regional gradient RMS of layer 0 on the dense model, written as safetensors."""
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    tokens = torch.from_numpy(np.load(args.tokens)).long()
    inps = [model.embed(tokens[n:n + 1]) for n in range(tokens.shape[0])]
    write_safetensors(args.grads, gradient_rms(model, 0, inps))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["masks", "ppl", "zeroshot", "rgs"])
    ap.add_argument("--model")
    ap.add_argument("--tokens")
    ap.add_argument("--text", help="ppl: text to encode whole (instead of --tokens)")
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--pruned")
    ap.add_argument("--method", default="en")
    ap.add_argument("--geometry", default="modified")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--structure", default="")
    ap.add_argument("--task")
    ap.add_argument("--data")
    ap.add_argument("--result")
    ap.add_argument("--template", default="")
    ap.add_argument("--choices", default="")
    ap.add_argument("--no-bos", action="store_true")
    ap.add_argument("--grads")
    ap.add_argument("--rgs-scale", type=float, default=100.0)
    ap.add_argument("--allocation", default="uniform")
    ap.add_argument("--owl-m", type=float, default=5.0)
    ap.add_argument("--owl-lambda", type=float, default=0.08)
    ap.add_argument("--sparsegpt-damp", type=float, default=0.01)
    ap.add_argument("--sparsegpt-block", type=int, default=128)
    ap.add_argument("--ria-power", type=float, default=0.5)
    ap.add_argument("--stat-norm", default="sequences")
    ap.add_argument("--no-sequential", dest="sequential", action="store_false")
    args = ap.parse_args()
    torch.manual_seed(0)
    sys.exit({"masks": cmd_masks, "ppl": cmd_ppl, "zeroshot": cmd_zeroshot, "rgs": cmd_rgs}[args.command](args))


if __name__ == "__main__":
    main()
