"""The papers' calibration loaders and evaluation text, transcribed from locuslab/wanda lib/data.py
(get_c4, get_wikitext2; IST-DASLab/sparsegpt datautils.py is the same) with Python's own `random`,
sentencepiece's Python module for a tokenizer.model (split at special-token literals as transformers'
slow LlamaTokenizer does, legacy) and HF tokenizers' Node binding for a tokenizer.json; the rows of a
text file as HF datasets' wikitext builder yields them. Independent of enwanda: the reference for
run_loaders_test.sh.

  loaders.py make-data --model DIR --out DIR        the C4-like .json.gz and the WikiText-like text
  loaders.py calib --model DIR --calib PATH --sampling windows|documents [--rows hf] --nsamples N
                   --seqlen S --seed X --out FILE.npy
  loaders.py tokenize --model DIR --text PATH [--rows hf]     ids of "\\n\\n".join(rows), one line
  loaders.py windows --model DIR --text PATH --rows hf --seqlen S --out FILE.npy   evaluation windows
"""
import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys

import numpy as np


class SlowLlamaTokenizer:
    """transformers' LlamaTokenizer(use_fast=False) (tokenization_llama.py), with tokenizer_config.json's
    `legacy` and `add_prefix_space` (true when absent): tokenize() splits the text at the literals of its
    special tokens (unk, bos, eos), each literal its id, every other piece sentencepiece-encoded on its
    own (_tokenize); build_inputs_with_special_tokens puts BOS first. legacy=False: the sentencepiece
    model without add_dummy_prefix (get_spm_processor, through protobuf's ModelProto), "▁" before the
    text, "▁" in the text read as " ", a piece starting with "▁" or " " encoded after the unk literal
    whose pieces are then dropped, and a lone "▁" before a first special token dropped."""

    SPACE = "\u2581"

    def __init__(self, model_dir, split_special_tokens=False):
        import sentencepiece as spm
        path = os.path.join(model_dir, "tokenizer.model")
        config = {}
        config_path = os.path.join(model_dir, "tokenizer_config.json")
        if os.path.exists(config_path):
            with open(config_path) as f:
                config = json.load(f)
        self.legacy = config.get("legacy") is not False
        self.add_prefix_space = config.get("add_prefix_space") is not False
        self.split_special_tokens = split_special_tokens
        if self.legacy:
            self.sp = spm.SentencePieceProcessor(model_file=path)
        else:
            from sentencepiece import sentencepiece_model_pb2 as model_pb2
            with open(path, "rb") as f:
                model = model_pb2.ModelProto.FromString(f.read())
            spec = model_pb2.NormalizerSpec()
            spec.add_dummy_prefix = False
            model.normalizer_spec.MergeFrom(spec)
            self.sp = spm.SentencePieceProcessor(model_proto=model.SerializeToString())
        self.specials = {}
        for i in (self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id()):
            if i >= 0:
                self.specials[self.sp.id_to_piece(i)] = i
        self.unk = self.sp.id_to_piece(self.sp.unk_id())
        self.unk_length = len(self.sp.encode(self.unk, out_type=str))
        alternatives = sorted(self.specials, key=len, reverse=True)
        self.split = re.compile("|".join(re.escape(a) for a in alternatives))

    def _tokenize(self, text):
        tokens = self.sp.encode(text, out_type=str)
        if self.legacy or not text.startswith((self.SPACE, " ")):
            return tokens
        tokens = self.sp.encode(self.unk + text, out_type=str)
        return tokens[self.unk_length:] if len(tokens) >= self.unk_length else tokens

    def tokenize(self, text):
        if not self.legacy and len(text) > 0:
            text = text.replace(self.SPACE, " ")
            if self.add_prefix_space:
                text = self.SPACE + text
        tokens = []
        pos = 0
        matches = [] if self.split_special_tokens else list(self.split.finditer(text))
        for m in matches:
            if m.start() > pos:
                tokens += self._tokenize(text[pos:m.start()])
            tokens.append(m.group())
            pos = m.end()
        if pos < len(text):
            tokens += self._tokenize(text[pos:])
        if (not self.legacy and len(tokens) > 1 and tokens[0] == self.SPACE
                and tokens[1] in self.specials and not self.split_special_tokens):
            tokens = tokens[1:]
        return tokens

    def __call__(self, text):
        # convert_tokens_to_ids: a special token's literal its id, any other piece sentencepiece's
        return [self.sp.bos_id()] + [self.specials[t] if t in self.specials else self.sp.piece_to_id(t)
                                     for t in self.tokenize(text)]


def wikitext_rows(path):
    """datasets/wikitext/wikitext.py, _generate_examples"""
    rows = []
    with open(path, encoding="utf-8") as f:
        for row in f:
            rows.append(row if row.strip() else "")
    return rows


def json_records(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def get_c4(records, nsamples, seed, seqlen, tokenizer):
    random.seed(seed)
    trainloader = []
    for _ in range(nsamples):
        while True:
            i = random.randint(0, len(records) - 1)
            trainenc = tokenizer(records[i])
            if len(trainenc) > seqlen:
                break
        i = random.randint(0, len(trainenc) - seqlen - 1)
        trainloader.append(trainenc[i:i + seqlen])
    return trainloader


def get_wikitext2(text, nsamples, seed, seqlen, tokenizer):
    trainenc = tokenizer(text)
    random.seed(seed)
    trainloader = []
    for _ in range(nsamples):
        i = random.randint(0, len(trainenc) - seqlen - 1)
        trainloader.append(trainenc[i:i + seqlen])
    return trainloader


def make_data(args):
    """records from 2 to 60,000 characters (\\uXXXX escapes with surrogate pairs among them), and for
    seqlen 64 and 512 records of exactly seqlen - 1, seqlen and seqlen + 1 tokens; a WikiText-like
    text with blank and whitespace-only lines, "\\r\\n", a lone "\\r" and <unk> literals"""
    tok = SlowLlamaTokenizer(args.model)
    rng = random.Random(7)
    words = ("the river rose slowly through the night and by morning the lower fields were under water "
             "café naïve 東京 河川 🌊 über straße 12345 <unk> it's").split()

    def sentence(nchars):
        out = []
        while sum(len(w) + 1 for w in out) < nchars:
            out.append(rng.choice(words))
        return " ".join(out)[:max(nchars, 2)]

    def exactly(ntokens):  # a record whose ids (BOS included) number ntokens: words, then digits (one token each)
        text = rng.choice(words[:16])
        while True:
            longer = text + " " + rng.choice(words[:16])
            if len(tok(longer + " 1")) > ntokens:
                break
            text = longer
        text += " 1"
        while len(tok(text)) < ntokens:
            text += "1"
        assert len(tok(text)) == ntokens, (ntokens, len(tok(text)))
        return text

    records = ["ok", "a b", "🌊", sentence(40), sentence(300)]
    for seqlen in (64, 512):
        records += [exactly(seqlen - 1), exactly(seqlen), exactly(seqlen + 1)]
    for n in (5000, 60000, 120, 2500, 900, 12000):
        records.append(sentence(n))
    records.append("line one\nline two\r\n\ttabbed 😀 \U0001F30A ä")
    os.makedirs(args.out, exist_ok=True)
    with gzip.open(os.path.join(args.out, "c4-train.00000-of-01024.json.gz"), "wt", encoding="utf-8") as f:
        for i, r in enumerate(records):
            f.write(json.dumps({"text": r, "timestamp": "2019-04-25T12:57:54Z", "url": f"https://example.com/{i}"}) + "\n")
            if i == 3:
                f.write("\n")  # a blank line between records
    lines = [" = Valkyria Chronicles <unk> = \n", " \n", " Senjō no Valkyria 3 : <unk> Chronicles \r\n", "\n",
             "   \t  \n", "\u3000\u2003 \n", " = = Gameplay = = \r", " \n"]
    for k in range(400):
        lines.append(" " + sentence(60 + (k * 37) % 400) + (" <unk>" if k % 3 == 0 else "") + " \n")
        if k % 7 == 0:
            lines.append(" \r\n" if k % 2 else " \n")
        if k % 11 == 0:
            lines.append("<s> literal and </s> too \n")
    lines.append("no newline at the end")
    with open(os.path.join(args.out, "wiki.test.raw"), "w", encoding="utf-8", newline="") as f:
        f.write("".join(lines))
    return 0


def rows_text(args, separator):
    if args.rows == "hf":
        rows = json_records(args.text) if args.text.endswith((".json.gz", ".jsonl", ".json")) else wikitext_rows(args.text)
        return separator.join(rows)
    with open(args.text, "rb") as f:
        return f.read().decode("utf-8")


def encoder(model_dir, split_special_tokens=False):
    if os.path.exists(os.path.join(model_dir, "tokenizer.model")):
        return SlowLlamaTokenizer(model_dir, split_special_tokens)
    node_ids = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizer", "hf_ids.js")

    def hf(text):  # HF tokenizers through its Node binding: the first line holds the ids with special tokens
        import tempfile
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
            f.write(text)
        try:
            out = subprocess.run(["node", node_ids, os.path.join(model_dir, "tokenizer.json"), f.name],
                                 check=True, capture_output=True, text=True).stdout
        finally:
            os.unlink(f.name)
        return [int(x) for x in out.splitlines()[0].split()]
    return hf


def cmd_calib(args):
    tok = encoder(args.model, args.split_special_tokens)
    if args.sampling == "documents":
        windows = get_c4(json_records(args.calib), args.nsamples, args.seed, args.seqlen, tok)
    else:
        args.text = args.calib
        windows = get_wikitext2(rows_text(args, " "), args.nsamples, args.seed, args.seqlen, tok)
    np.save(args.out, np.array(windows, dtype=np.int64))
    return 0


def cmd_tokenize(args):
    print(" ".join(str(i) for i in encoder(args.model, args.split_special_tokens)(rows_text(args, "\n\n"))))
    return 0


def cmd_windows(args):
    """the evaluation windows: the ids of "\\n\\n".join(rows), cut into windows of seqlen, the tail dropped;
    --c4-validation: sparsegpt's get_c4 valenc, ' '.join(valdata[:1100]['text']) cut to 256 * seqlen ids"""
    tok = encoder(args.model, args.split_special_tokens)
    if args.c4_validation:
        ids = tok(" ".join(json_records(args.text)[:1100]))[:256 * args.seqlen]
    else:
        ids = tok(rows_text(args, "\n\n"))
    n = len(ids) // args.seqlen
    np.save(args.out, np.array(ids[:n * args.seqlen], dtype=np.int64).reshape(n, args.seqlen))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["make-data", "calib", "tokenize", "windows"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out")
    ap.add_argument("--calib")
    ap.add_argument("--text")
    ap.add_argument("--sampling", default="windows")
    ap.add_argument("--rows", default="file")
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-special-tokens", action="store_true", help="literals as plain text")
    ap.add_argument("--c4-validation", action="store_true")
    args = ap.parse_args()
    return {"make-data": make_data, "calib": cmd_calib, "tokenize": cmd_tokenize, "windows": cmd_windows}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
