// Prints the ids HuggingFace tokenizers (the Rust library, through its Node binding) gives a text:
// one line with the post-processor's special tokens, one without.
//   node hf_ids.js TOKENIZER.json TEXT_FILE
const fs = require("fs");
const { Tokenizer } = require("tokenizers");
(async () => {
  const tok = Tokenizer.fromFile(process.argv[2]);
  const text = fs.readFileSync(process.argv[3], "utf8");
  for (const addSpecialTokens of [true, false]) {
    const enc = await tok.encode(text, null, { addSpecialTokens });
    console.log(enc.getIds().join(" "));
  }
})();
