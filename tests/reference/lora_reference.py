#!/usr/bin/python3
"""Independent reference for `enwanda finetune`, in plain PyTorch: a LoRA adapter trained the way
PEFT and HF's Trainer train one (locuslab/wanda lora_ft/finetune_lm.py), written from their
definitions and not from the C++:

  - the layer: PEFT's LoRA Linear (huggingface/peft src/peft/tuners/lora/layer.py, Linear.forward):
    base(x) + lora_B(lora_A(x)) * scaling with scaling = lora_alpha / r (dropout 0) under
    --mask none; under --mask keep SQFT's sparsity-preserving delta (IntelLabs/SQFT SparsePEFT),
    the merged weight W + scaling * (B @ A) * (W != 0);
  - the loss: transformers' causal-LM loss with labels = input_ids (logits of position t against
    token t + 1, mean over every position of the step);
  - the step: torch.nn.utils.clip_grad_norm_, torch.optim.AdamW, and torch's LambdaLR with
    transformers' get_linear_schedule_with_warmup (the lr of step k is lr * lambda(k));
  - the data: step k uses positions p = k * batch + j (j < batch) of the epochs; epoch e = p // N
    holds the windows in order, or with --shuffle SEED permuted by
    torch.randperm(N, generator=torch.Generator().manual_seed(SEED + e)); windows from text are
    transformers' run_clm.py: each row tokenised (BOS first), then group_texts.
The model and its forward come from reference.py, the rows and the tokenizer from loaders.py.

Usage:
  lora_reference.py init  --model DIR --r R --targets q_proj,v_proj --seed S --out INIT.safetensors
      A ~ U(-1/sqrt(in), 1/sqrt(in)), B ~ N(0, 0.05): a start where B @ A is not zero, so the mask matters;
      with --peft, PEFT's reset_lora_parameters after torch.manual_seed(S): kaiming_uniform_(A, a=sqrt(5)), B = 0
  lora_reference.py train --model DIR --windows W.npy --init INIT.safetensors --r R --alpha A
                          --targets T --mask keep|none --steps N --batch B --lr LR --warmup W
                          --max-grad-norm G [--schedule linear|constant] [--shuffle SEED] --out REF.safetensors
      prints the per-step loss and gradient norm as JSON
  lora_reference.py group --model DIR --text FILE --seqlen L --out W.npy
      the rows as HF datasets loads them (json records or text lines), tokenised, group_texts
  lora_reference.py compare --ours ADAPTER.safetensors --ref REF.safetensors [--rtol 1e-4]
      every tensor's ||ours - ref|| / ||ref|| within rtol, and the same keys
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import LINEARS, Llama, load_model, read_safetensors  # noqa: E402


def write_safetensors(path, tensors):
    """The safetensors layout: 8-byte header length, JSON header, little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def targets_of(cfg, patterns):
    """PEFT's check_target_module_exists for a list: a module whose name ends with "." + target."""
    names = []
    for i in range(cfg["num_hidden_layers"]):
        for lin in LINEARS:
            name = f"model.layers.{i}.{lin}"
            if any(name == p or name.endswith("." + p) for p in patterns):
                names.append(name)
    return names


def key(name, which):
    return f"base_model.model.{name}.{which}.weight"


class PeftLoraWeight:
    """Stands where reference.py's layer reads a weight and computes `x @ W.T` as PEFT's LoRA
    Linear.forward does: result = base_layer(x) + lora_B(lora_A(dropout(x))) * scaling."""

    def __init__(self, W, A, B, scaling):
        self.W, self.A, self.B, self.scaling = W, A, B, scaling

    @property
    def T(self):
        return self

    def __rmatmul__(self, x):
        return x @ self.W.T + (x @ self.A.T) @ self.B.T * self.scaling


def cmd_init(args):
    cfg, w = load_model(args.model)
    g = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    out = {}
    for name in targets_of(cfg, args.targets.split(",")):
        W = w[name + ".weight"]
        if args.peft:  # peft lora/layer.py, LoraLayer.reset_lora_parameters (init_lora_weights=True)
            A = torch.empty(args.r, W.shape[1])
            torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))
            out[key(name, "lora_A")] = A
            out[key(name, "lora_B")] = torch.zeros(W.shape[0], args.r)
            continue
        bound = 1 / math.sqrt(W.shape[1])
        out[key(name, "lora_A")] = torch.rand(args.r, W.shape[1], generator=g) * 2 * bound - bound
        out[key(name, "lora_B")] = torch.randn(W.shape[0], args.r, generator=g) * 0.05
    write_safetensors(args.out, out)


def linear_schedule(warmup, steps):
    """transformers.get_linear_schedule_with_warmup's lr_lambda."""
    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        return max(0.0, float(steps - current_step) / float(max(1, steps - warmup)))
    return lr_lambda


def cmd_train(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    init = read_safetensors(args.init)
    names = targets_of(cfg, args.targets.split(","))
    scaling = args.alpha / args.r
    A = {n: torch.nn.Parameter(init[key(n, "lora_A")].float().clone()) for n in names}
    B = {n: torch.nn.Parameter(init[key(n, "lora_B")].float().clone()) for n in names}
    params = [p for n in names for p in (A[n], B[n])]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                            weight_decay=args.weight_decay)
    schedule = linear_schedule(args.warmup, args.steps) if args.schedule == "linear" else (lambda k: 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    windows = torch.from_numpy(np.load(args.windows).astype(np.int64))
    N = windows.shape[0]

    def layer_weights(i):
        out = {}
        for lin in LINEARS:
            name = f"model.layers.{i}.{lin}"
            W = w[name + ".weight"]
            if name not in A:
                out[lin] = W
            elif args.mask == "keep":
                out[lin] = W + scaling * (B[name] @ A[name]) * (W != 0).float()
            else:
                out[lin] = PeftLoraWeight(W, A[name], B[name], scaling)
        return out

    log = []
    def window(p):
        if args.shuffle is None:
            return p % N
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(args.shuffle + p // N))
        return int(perm[p % N])

    if args.threads:
        torch.set_num_threads(args.threads)
    import time
    for k in range(args.steps):
        started = time.perf_counter()
        rows = [window(k * args.batch + j) for j in range(args.batch)]
        tokens = windows[rows]
        opt.zero_grad()
        x = model.embed(tokens)
        for i in range(cfg["num_hidden_layers"]):
            x = model.layer(i, x, weights=layer_weights(i))
        logp = model.logprobs(x)  # [B, T, vocab]
        loss = -logp[:, :-1].gather(-1, tokens[:, 1:, None]).mean()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm) if args.max_grad_norm > 0 else \
            torch.norm(torch.stack([torch.norm(p.grad) for p in params]))
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        log.append({"step": k, "loss": loss.item(), "grad_norm": float(norm), "lr": lr,
                    "seconds": time.perf_counter() - started})
    write_safetensors(args.out, {key(n, which): t for n in names for which, t in (("lora_A", A[n]), ("lora_B", B[n]))})
    print(json.dumps(log))


def cmd_group(args):
    from loaders import encoder, json_records, wikitext_rows
    tok = encoder(args.model)
    rows = json_records(args.text) if args.text.endswith((".json.gz", ".jsonl", ".json")) else wikitext_rows(args.text)
    # run_clm.py: tokenize_function over every row, then group_texts
    concatenated = [i for row in rows for i in tok(row)]
    total = (len(concatenated) // args.seqlen) * args.seqlen
    blocks = [concatenated[i:i + args.seqlen] for i in range(0, total, args.seqlen)]
    np.save(args.out, np.array(blocks, dtype=np.int64))


def cmd_compare(args):
    ours, ref = read_safetensors(args.ours), read_safetensors(args.ref)
    if sorted(ours) != sorted(ref):
        print(f"keys differ: ours {sorted(ours)}, reference {sorted(ref)}")
        return 1
    worst, worst_name = 0.0, ""
    for name in sorted(ref):
        if ours[name].shape != ref[name].shape:
            print(f"{name}: shape {list(ours[name].shape)}, reference {list(ref[name].shape)}")
            return 1
        diff = torch.norm(ours[name].double() - ref[name].double()).item()
        rel = diff / torch.norm(ref[name].double()).item() if diff > 0 else 0.0
        if not rel <= worst:
            worst, worst_name = rel, name
    verdict = worst <= args.rtol
    print(f"{len(ref)} tensors, largest relative difference {worst:.3g} ({worst_name}), tolerance {args.rtol:g}")
    return 0 if verdict else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("init")
    i.add_argument("--model", required=True)
    i.add_argument("--r", type=int, default=8)
    i.add_argument("--targets", default="q_proj,v_proj")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--peft", action="store_true")
    i.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--model", required=True)
    t.add_argument("--windows", required=True)
    t.add_argument("--init", required=True)
    t.add_argument("--r", type=int, default=8)
    t.add_argument("--alpha", type=float, default=16)
    t.add_argument("--targets", default="q_proj,v_proj")
    t.add_argument("--mask", choices=["keep", "none"], default="keep")
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--batch", type=int, default=1)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--warmup", type=int, default=0)
    t.add_argument("--schedule", choices=["linear", "constant"], default="linear")
    t.add_argument("--max-grad-norm", type=float, default=1.0)
    t.add_argument("--beta1", type=float, default=0.9)
    t.add_argument("--beta2", type=float, default=0.999)
    t.add_argument("--eps", type=float, default=1e-8)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--shuffle", type=int)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--out", required=True)
    g = sub.add_parser("group")
    g.add_argument("--model", required=True)
    g.add_argument("--text", required=True)
    g.add_argument("--seqlen", type=int, required=True)
    g.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--ours", required=True)
    c.add_argument("--ref", required=True)
    c.add_argument("--rtol", type=float, default=1e-4)
    args = p.parse_args()
    if args.command == "init":
        cmd_init(args)
    elif args.command == "train":
        cmd_train(args)
    elif args.command == "group":
        cmd_group(args)
    else:
        sys.exit(cmd_compare(args))


if __name__ == "__main__":
    main()
