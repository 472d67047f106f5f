#!/usr/bin/python3
"""Train a small LLaMA on a text file, for realism checks that random checkpoints cannot give.

A random checkpoint's perplexity is about its vocabulary size whatever is pruned, so it shows cost
but not quality. This script trains one for a few minutes on the CPU (Debian's python3-torch and
python3-sentencepiece, run with /usr/bin/python3): it trains a sentencepiece tokenizer on the text,
writes the shape's config with `enwanda synth --shape`, and trains that checkpoint's weights with
AdamW on windows of the text, using the reference's independent LLaMA forward
(tests/reference/reference.py). The result is an ordinary HF-layout checkpoint (config.json,
model.safetensors in --dtype, tokenizer.model) that enwanda and transformers load.

  train_tiny_llama.py --enwanda build/enwanda --text wiki.valid.tokens --out DIR
      [--hidden 256] [--intermediate 688] [--layers 4] [--heads 4] [--vocab 4000]
      [--seqlen 256] [--batch 16] [--steps 1200] [--lr 3e-3] [--seed 0] [--threads N]
      [--dtype float16|float32]

data/tiny-llama-wikitext/README.md gives the command that made the shipped checkpoint.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import reference  # noqa: E402


def write_safetensors(path, tensors, dtype):
    """The weights as one safetensors file, names sorted, in fp16 (F16) or fp32 (F32)."""
    torch_dtype, tag = (torch.float16, "F16") if dtype == "float16" else (torch.float32, "F32")
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        b = tensors[name].detach().to(torch_dtype).contiguous().numpy().tobytes()
        header[name] = {"dtype": tag, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enwanda", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=4000)
    ap.add_argument("--seqlen", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float32",
                    help="dtype of the written weights (training is always in fp32)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    work = a.out + ".work"
    os.makedirs(work, exist_ok=True)

    # a LLaMA-like BPE tokenizer (byte fallback, dummy prefix, BOS 1 / EOS 2, no pad)
    prefix = os.path.join(work, "tokenizer")
    spm.SentencePieceTrainer.train(input=a.text, model_prefix=prefix, vocab_size=a.vocab, model_type="bpe",
                                   byte_fallback=True, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2,
                                   pad_id=-1, input_sentence_size=2000000, shuffle_input_sentence=True,
                                   num_threads=a.threads, minloglevel=2)
    shape = {"model_type": "llama", "hidden_size": a.hidden, "intermediate_size": a.intermediate,
             "num_hidden_layers": a.layers, "num_attention_heads": a.heads, "num_key_value_heads": a.heads,
             "vocab_size": a.vocab, "max_position_embeddings": 4 * a.seqlen, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "float32"}
    with open(os.path.join(work, "shape.json"), "w") as f:
        json.dump(shape, f)
    subprocess.run([a.enwanda, "synth", "--shape", os.path.join(work, "shape.json"), "--tokenizer", prefix + ".model",
                    "--seed", str(a.seed), "--out", a.out, "--overwrite", "-q"], check=True)
    cfg, w = reference.load_model(a.out)
    for t in w.values():
        t.requires_grad_(True)
    model = reference.Llama(cfg, w)

    # the text as one token stream, BOS first, as enwanda tokenises --calib and --data
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    with open(a.text, encoding="utf-8") as f:
        ids = torch.tensor([1] + sp.encode(f.read()), dtype=torch.int64)
    print(f"{len(ids)} tokens; {sum(t.numel() for t in w.values())} parameters", flush=True)

    decay = [t for n, t in w.items() if t.dim() == 2]
    keep = [t for n, t in w.items() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": keep, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    warmup = max(1, a.steps // 20)
    start = time.time()
    for step in range(a.steps):
        lr = a.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(ids) - a.seqlen - 1, (a.batch,))
        x = torch.stack([ids[s:s + a.seqlen] for s in starts.tolist()])
        y = torch.stack([ids[s + 1:s + a.seqlen + 1] for s in starts.tolist()])
        lp = model.forward(x)
        loss = torch.nn.functional.nll_loss(lp.reshape(-1, lp.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(w.values()), 1.0)
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  ppl {math.exp(loss.item()):9.2f}  lr {lr:.2e}  "
                  f"{time.time() - start:6.0f} s", flush=True)

    tmp = os.path.join(a.out, "model.safetensors.tmp")
    write_safetensors(tmp, w, a.dtype)
    os.replace(tmp, os.path.join(a.out, "model.safetensors"))
    config_path = os.path.join(a.out, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["torch_dtype"] = a.dtype
    with open(config_path + ".tmp", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    os.replace(config_path + ".tmp", config_path)
    print(f"wrote {a.out} after {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
