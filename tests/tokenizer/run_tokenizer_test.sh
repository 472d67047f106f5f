#!/usr/bin/env bash
# tokenizer.json against HuggingFace tokenizers (the Rust library, through its Node binding, npm
# package tokenizers 0.23.2, installed here on first use): token ids identical, with and without the
# post-processor's special tokens, for the five tokenizer families of make_tokenizers.py, on text
# with accents, CJK, emoji, combining marks, digit runs, whitespace runs and newlines, special
# tokens written inside the text, U+180E (where PCRE2's \s and HF's Oniguruma differ), the shipped
# corpus, and WikiText valid/test when ../shared/data/wikitext is there. Then a model whose only
# tokenizer is a tokenizer.json, end to end: its perplexity from text (tokenised in chunks on
# several threads) equals its perplexity on the windows of the reference's ids.
set -uo pipefail
ENWANDA=$(realpath "${1:?usage: run_tokenizer_test.sh path/to/enwanda}")
# shellcheck source=tests/cli/check.sh
. "$(dirname "$0")/../cli/check.sh"
SRC=${ENWANDA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/tokenizer/node_tokenizers.sh
. "$(dirname "$0")/node_tokenizers.sh" || exit 1
hf_ids() { node "$SRC/tests/tokenizer/hf_ids.js" "$@"; }

"$PY" "$SRC/tests/tokenizer/make_tokenizers.py" "$SRC/data/tokenizer_corpus.txt" "$work/toks" || exit 1
printf '%s\n' "Hello world! The café naïve résumé — 東京 河川 🌊🎉 über straße." \
  "Digits 12345 and 3.14159, 2026-12-03, 1000000 and ١٢٣ and ½." "" "" "  leading   spaces		tabs   " \
  "   trailing   " "Combining: é å ñ; NBSP: x; Mongolian᠎separator; ideographic　space." \
  "<|begin_of_text|>special<|end_of_text|> in text <s> and </s> and <|im_start|>user<|im_end|>" \
  "It's they're WE'LL I'd   " > "$work/unicode.txt"
# U+180E after a space and before a letter: HF splits " \u180e|b", PCRE2's own \s " |\u180eb"
printf 'a \xe1\xa0\x8eb  \xe1\xa0\x8e\xe1\xa0\x8e  c\xe1\xa0\x8e\n x \xc2\xa0 \xe3\x80\x80y\n\xe1\xa0\x8e\n  \n\nzqxv zqxv,zqxv    x\n' > "$work/spaces.txt"
texts=("$work/unicode.txt" "$work/spaces.txt" "$SRC/data/tokenizer_corpus.txt")
for f in "$SRC"/../shared/data/wikitext/wiki.valid.tokens "$SRC"/../shared/data/wikitext/wiki.test.tokens; do
  if [ -f "$f" ]; then texts+=("$f"); else echo "skipped $(basename "$f"): ../shared/data/wikitext is not here (local checks only)"; fi
done
for name in llama3 qwen2 smollm mistral llama2; do
  for text in "${texts[@]}"; do
    hf_ids "$work/toks/$name/tokenizer.json" "$text" > "$work/want" 2> "$work/err" || { echo "FAIL node: $(tail -2 "$work/err")"; fail=$((fail+1)); continue; }
    { "$ENWANDA" tokenize --model "$work/toks/$name" --text "$text"
      "$ENWANDA" tokenize --model "$work/toks/$name" --text "$text" --no-bos; } > "$work/got"
    check "$name, $(basename "$text"): $(wc -w < "$work/want") ids identical to HF tokenizers'" "cmp -s '$work/want' '$work/got'"
  done
done

# a checkpoint with only a tokenizer.json (LLaMA-3 style: <|begin_of_text|> first)
"$PY" - "$work/shape.json" <<'PYEOF'
import json, sys
json.dump({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 640, "max_position_embeddings": 256}, open(sys.argv[1], "w"))
PYEOF
"$ENWANDA" synth --shape "$work/shape.json" --seed 3 --out "$work/m" -q
rm "$work/m/tokenizer.model"; cp "$work/toks/llama3/tokenizer.json" "$work/m/"
for _ in $(seq 24); do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/long.txt"
"$ENWANDA" eval ppl --model "$work/m" --data "$work/long.txt" --seqlen 64 --json "$work/text.json" -q > /dev/null
hf_ids "$work/toks/llama3/tokenizer.json" "$work/long.txt" | head -1 > "$work/ids"
"$PY" - "$work/ids" "$work/windows.npy" <<'PYEOF'
import numpy as np, sys
ids = np.array([int(x) for x in open(sys.argv[1]).read().split()], dtype=np.int64)
n = len(ids) // 64
np.save(sys.argv[2], ids[: n * 64].reshape(n, 64))
PYEOF
"$ENWANDA" eval ppl --model "$work/m" --data-tokens "$work/windows.npy" --json "$work/tokens.json" -q > /dev/null
check "tokenizer.json-only model: ppl from $(stat -c %s "$work/long.txt")-byte text equals ppl on HF's ids" \
  "[ \"\$('$PY' -c \"import json; print(json.load(open('$work/text.json'))['ppl'])\")\" = \"\$('$PY' -c \"import json; print(json.load(open('$work/tokens.json'))['ppl'])\")\" ]"
"$ENWANDA" prune --model "$work/m" --calib "$work/long.txt" --nsamples 4 --seqlen 64 --out "$work/p" -q
check "tokenizer.json-only model prunes from text; the output keeps the tokenizer.json" "cmp -s '$work/m/tokenizer.json' '$work/p/tokenizer.json'"
"$ENWANDA" calib --model "$work/m" --calib "$work/long.txt" --calib-sampling windows --nsamples 2 --seqlen 32 --out "$work/c.npy" -q
check "calibration windows hold the tokenizer.json's ids" "[ -s '$work/c.npy' ]"
# synth writes a byte-level tokenizer.json for the families that ship no tokenizer.model
printf '{"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512}' > "$work/qwen3.json"
"$ENWANDA" synth --shape "$work/qwen3.json" --seed 1 --out "$work/q3" -q
"$ENWANDA" synth --shape smollm2-135m --layers 1 --dtype bf16 --seed 1 --out "$work/smol" -q
for m in q3 smol; do
  check "synth $m: a tokenizer.json and no tokenizer.model" "[ -f '$work/$m/tokenizer.json' ] && [ ! -e '$work/$m/tokenizer.model' ]"
  hf_ids "$work/$m/tokenizer.json" "$work/unicode.txt" > "$work/want"
  { "$ENWANDA" tokenize --model "$work/$m" --text "$work/unicode.txt"
    "$ENWANDA" tokenize --model "$work/$m" --text "$work/unicode.txt" --no-bos; } > "$work/got"
  check "synth $m: its tokenizer.json encodes as HF tokenizers does" "cmp -s '$work/want' '$work/got'"
  "$ENWANDA" prune --model "$work/$m" --calib "$work/long.txt" --nsamples 2 --seqlen 64 --out "$work/$m-p" -q
  check "synth $m: prunes from text and evaluates" \
    "[[ \"\$('$ENWANDA' eval ppl --model '$work/$m-p' --data '$SRC/data/tokenizer_corpus.txt' --seqlen 64 --slices 2 -q)\" == 'ppl '* ]]"
done
printf '{"model": {"type": "WordPiece", "vocab": {}}}' > "$work/bad.json"; mkdir "$work/bad"; cp "$work/bad.json" "$work/bad/tokenizer.json"
"$ENWANDA" tokenize --model "$work/bad" --text "$work/unicode.txt" 2> "$work/err"; rc=$?
check "an unsupported model is refused by name (exit 3)" "[ $rc = 3 ] && grep -q 'unsupported model \"WordPiece\"' '$work/err'"
"$PY" -c "import json; j=json.load(open('$work/toks/llama3/tokenizer.json')); j['pre_tokenizer']={'type':'Whitespace'}; json.dump(j, open('$work/bad/tokenizer.json','w'))"
"$ENWANDA" tokenize --model "$work/bad" --text "$work/unicode.txt" 2> "$work/err"; rc=$?
check "an unsupported pre_tokenizer is refused by name (exit 3)" "[ $rc = 3 ] && grep -q 'unsupported pre_tokenizer \"Whitespace\"' '$work/err'"
finish
