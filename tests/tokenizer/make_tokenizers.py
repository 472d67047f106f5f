#!/usr/bin/python3
"""Writes the tokenizer.json files of the tokenizer reference test, one per family found in real
checkpoints, with a small vocabulary learnt here (a plain BPE trainer: pair counts over the words of
the shipped corpus) and the pre-tokenizer, normalizer and post-processor settings of:
  llama3    Split(LLaMA-3's regex) + ByteLevel(use_regex false), ignore_merges, <|begin_of_text|> $A
  qwen2     NFC + Split(Qwen2's regex) + ByteLevel(use_regex false), nothing added
  smollm    Sequence[Digits(individual_digits), ByteLevel(use_regex true)], merges as pairs
  mistral   Metaspace(prepend_scheme first, split false) + BPE byte_fallback, <s> $A
  llama2    Prepend(▁) + Replace(" ", ▁) normalizers + BPE byte_fallback, <s> $A
Usage: make_tokenizers.py CORPUS OUT_DIR   (writes OUT_DIR/<name>/tokenizer.json)
"""
import collections
import json
import os
import sys

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
          r"\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
         r"\s+(?!\S)|\s+")


def byte_chars():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


def learn(words, alphabet, n_merges):
    """Plain BPE: merge the most frequent adjacent pair (ties: the smallest pair) n_merges times."""
    vocab = {c: i for i, c in enumerate(alphabet)}
    seqs = collections.Counter(tuple(w) for w in words)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for seq, count in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        if best[0] + best[1] not in vocab:
            vocab[best[0] + best[1]] = len(vocab)
        new = collections.Counter()
        for seq, count in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and (seq[i], seq[i + 1]) == best:
                    out.append(seq[i] + seq[i + 1]); i += 2
                else:
                    out.append(seq[i]); i += 1
            new[tuple(out)] += count
        seqs = new
    return vocab, merges


def added(tokens, start):
    return [{"id": start + k, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for k, t in enumerate(tokens)]


def template(token, ident):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": token, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {token: {"id": token, "ids": [ident], "tokens": [token]}}}


def write(out, name, j):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    with open(os.path.join(out, name, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, indent=1)


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    text = open(corpus, encoding="utf-8").read()
    words = text.split()
    bc = byte_chars()
    # byte-level: words with their leading space, as bytes mapped to GPT-2's characters
    bl_words = ["".join(bc[b] for b in (" " + w).encode()) for w in words]
    alphabet = [bc[b] for b in range(256)]
    bl_vocab, bl_merges = learn(bl_words, alphabet, 300)
    base = {"version": "1.0", "truncation": None, "padding": None, "decoder": {"type": "ByteLevel",
            "add_prefix_space": True, "trim_offsets": True, "use_regex": True}}
    def bpe(vocab, merges, pairs=False, **kw):
        m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
             "vocab": vocab, "merges": [list(p) if pairs else f"{p[0]} {p[1]}" for p in merges]}
        m.update(kw)
        return m
    # " " + U+180E as one token: told apart only where the regex keeps them in one piece (HF's
    # Oniguruma; PCRE2's own \s would split " |\u180eb")
    sep = "".join(bc[b] for b in "\u180e".encode())
    for a, b in [(bc[32], sep[0]), (bc[32] + sep[0], sep[1]), (bc[32] + sep[:2], sep[2])]:
        bl_merges.append((a, b))
        bl_vocab.setdefault(a + b, len(bl_vocab))
    # tokens no merge sequence builds: only ignore_merges (LLaMA-3) emits them whole
    for t in ["\u0120zqxv", "zqxv", "\u0120\u0120\u0120"]:
        bl_vocab.setdefault(t, len(bl_vocab))
    n = len(bl_vocab)
    specials3 = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|eot_id|>"]
    write(out, "llama3", dict(base, added_tokens=added(specials3, n), normalizer=None,
          pre_tokenizer={"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
          post_processor={"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
              template("<|begin_of_text|>", n)]},
          model=bpe(bl_vocab, bl_merges, ignore_merges=True)))
    write(out, "qwen2", dict(base, added_tokens=added(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], n),
          normalizer={"type": "NFC"},
          pre_tokenizer={"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": QWEN2}, "behavior": "Isolated", "invert": False},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
          post_processor={"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
          model=bpe(bl_vocab, bl_merges)))
    write(out, "smollm", dict(base, added_tokens=added(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], n),
          normalizer=None,
          pre_tokenizer={"type": "Sequence", "pretokenizers": [
              {"type": "Digits", "individual_digits": True},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
          post_processor={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
          model=bpe(bl_vocab, bl_merges, pairs=True)))
    # sentencepiece-like: ▁ for spaces, byte fallback for what the vocabulary lacks
    sp_words = ["\u2581" + w for w in words]
    chars = sorted({c for w in sp_words for c in w})
    head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    sp_vocab, sp_merges = learn(sp_words, chars, 300)
    sp_vocab = {t: i + len(head) for t, i in sp_vocab.items()}
    sp_vocab.update({t: i for i, t in enumerate(head)})
    sp_added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True} for i, t in enumerate(head[:3])]
    sp_model = bpe(sp_vocab, sp_merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    write(out, "mistral", dict(base, added_tokens=sp_added, normalizer=None,
          pre_tokenizer={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
          post_processor=template("<s>", 1), model=sp_model))
    write(out, "llama2", dict(base, added_tokens=sp_added,
          normalizer={"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                      {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
          pre_tokenizer=None, post_processor=template("<s>", 1), model=sp_model))


main()
