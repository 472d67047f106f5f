# Sourced by the tests that need HuggingFace tokenizers' Node binding (npm package tokenizers 0.23.2):
# installs it on first use into ~/.cache/enwanda/ (or $ENWANDA_NPM_DIR) and exports NODE_PATH so that
# `node tests/tokenizer/hf_ids.js` finds it. Returns non-zero, saying why, when npm cannot install it.
# shellcheck shell=bash
npm_dir=${ENWANDA_NPM_DIR:-$HOME/.cache/enwanda/npm-tokenizers-0.23.2}
if [ ! -d "$npm_dir/node_modules/tokenizers" ]; then
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel error tokenizers@0.23.2 > npm.log 2>&1) ||
    { echo "FAIL npm install tokenizers@0.23.2: $(tail -3 "$npm_dir/npm.log")"; return 1; }
fi
export NODE_PATH="$npm_dir/node_modules"
