#!/usr/bin/env bash
# A study's outputs. enwanda report on results directories made here by hand: a cell's fields of
# the wrong type are refused naming the file and the key (exit 3); the table's columns come from the
# cell's own enwanda_report.json (what was done), not from the cell file (what the grid asked); the
# report's files are never written through a planted symlink nor over a file enwanda did not
# write, a rerun replaces its own files, and a failed write leaves the old file; seeded cells draw
# error bars. prune's outputs: the
# model card says what was done and keeps the base card's licence metadata; an MoE report names
# linears as the checkpoint does, with each expert's sparsity; inspect checks N:M only on the
# linears the report says were pruned N:M.
set -uo pipefail
ENWANDA=${1:?usage: report_test.sh path/to/enwanda}
SRC=${ENWANDA_SOURCE_DIR:?}
# shellcheck source=tests/cli/check.sh
source "$SRC/tests/cli/check.sh"

# a results directory: DIR, then cells as "NAME PPL SEED METHOD STRUCTURE" (the report's settings)
make_results() {
  local dir=$1 name ppl seed method structure
  shift
  mkdir -p "$dir/cells" "$dir/dense"
  echo '{"ppl": 20.0}' > "$dir/dense/ppl.json"
  for spec in "$@"; do
    read -r name ppl seed method structure <<< "$spec"
    mkdir -p "$dir/cells/$name"
    jq -n --arg dir "$name" --argjson seed "$seed" \
      '{method: "wanda", geometry: "", alpha: null, sparsity: 0.5, allocation: "uniform", structure: "unstructured", seed: $seed, dir: $dir}' \
      > "$dir/cells/$name.json"
    jq -n --argjson ppl "$ppl" '{ppl: $ppl}' > "$dir/cells/$name/ppl.json"
    jq -n --arg method "$method" --arg structure "$structure" \
      '{enwanda_version: "0", settings: {method: $method, sparsity: 0.5, structure: $structure, allocation: "uniform"}, seconds: {total: 1.5}}' \
      > "$dir/cells/$name/enwanda_report.json"
  done
}

# wrong types: exit 3 naming the file and the key, never a JSON library error
make_results "$work/t" "c 30 0 wanda unstructured"
expect_refused() {  # NAME FILE JQ-EDIT KEY
  local name=$1 file=$2 edit=$3 key=$4 out rc
  cp "$work/t/$file" "$work/saved"
  jq "$edit" "$work/saved" > "$work/t/$file"
  out=$("$ENWANDA" report "$work/t" --no-figures 2>&1)
  rc=$?
  cp "$work/saved" "$work/t/$file"
  check "$name: exit 3 naming the file and \"$key\"" '[ $rc = 3 ] && [[ $out = *"$file"*"\"$key\""* ]] && [[ $out != *type_error* ]]' || echo "     rc $rc: $out"
}
expect_refused '"dir": 7' cells/c.json '.dir = 7' dir
expect_refused '"sparsity": "half"' cells/c.json '.sparsity = "half"' sparsity
expect_refused '"method": null' cells/c.json '.method = null' method
expect_refused '"seed": -1' cells/c.json '.seed = -1' seed
expect_refused '"dir": "../.."' cells/c.json '.dir = "../.."' dir
expect_refused 'ppl.json "ppl": "n/a"' cells/c/ppl.json '.ppl = "n/a"' ppl
expect_refused 'report "method": 5' cells/c/enwanda_report.json '.settings.method = 5' method
expect_refused 'dense "ppl": null' dense/ppl.json '.ppl = null' ppl
"$ENWANDA" report "$work/t" --no-figures -q > /dev/null 2>&1
check "the restored directory reports (exit 0)" '[ $? = 0 ]'

# the columns say what was done: a cell file saying unstructured whose report says 2:4
make_results "$work/d" "c 30 0 ria 2:4"
"$ENWANDA" report "$work/d" --no-figures -q > /dev/null 2>&1
check "the table and CSV take method and structure from the cell's report" '
  grep -q "^ria,,,0.5,uniform,2:4,0,30" "$work/d/results.csv" && grep -q "^| ria |  | – | 2:4 |" "$work/d/summary.md" &&
  ! grep -q "unstructured" "$work/d/results.csv"'

# planted symlinks and foreign files are refused by name, their targets untouched
make_results "$work/s" "c 30 0 wanda unstructured"
for f in summary.html summary.md results.csv results.json; do
  rm -rf "$work/s"/{summary.html,summary.md,results.csv,results.json,report_files.json}
  echo precious > "$work/target-$f"
  ln -s "$work/target-$f" "$work/s/$f"
  out=$("$ENWANDA" report "$work/s" --no-figures 2>&1)
  rc=$?
  check "a symlink at $f: refused (exit 2) naming it, its target unchanged" '[ $rc = 2 ] && [[ $out = *"/s/$f"*"symbolic link"* ]] &&
    [ "$(cat "$work/target-$f")" = precious ]' || echo "     rc $rc: $out"
  rm -f "$work/s/$f"
done
rm -rf "$work/s"/{summary.html,summary.md,results.csv,results.json,report_files.json}
echo mine > "$work/s/summary.md"
out=$("$ENWANDA" report "$work/s" --no-figures 2>&1)
rc=$?
check "a file enwanda did not write at summary.md: refused (exit 2) naming it, kept" '[ $rc = 2 ] && [[ $out = *"/s/summary.md exists and was not written by enwanda"* ]] &&
  [ "$(cat "$work/s/summary.md")" = mine ]' || echo "     $out"
rm -f "$work/s/summary.md"
"$ENWANDA" report "$work/s" -q > /dev/null 2>&1
rc1=$?
cp "$work/s/results.json" "$work/first.json"
mkdir -p "$work/elsewhere"
rm "$work/s/plot_data/ppl_vs_alpha_png.gp"
ln -s "$work/elsewhere/gp" "$work/s/plot_data/ppl_vs_alpha_png.gp"
out=$("$ENWANDA" report "$work/s" 2>&1)
rc=$?
check "a symlink planted in plot_data/: refused (exit 2), nothing written through it" '[ $rc1 = 0 ] && [ $rc = 2 ] && [ ! -e "$work/elsewhere/gp" ]' ||
  echo "     rc $rc1 $rc: $out"
rm "$work/s/plot_data/ppl_vs_alpha_png.gp"
"$ENWANDA" report "$work/s" -q > /dev/null 2>&1
rc=$?
check "a rerun replaces the report's own files (exit 0), no temporaries left" '[ $rc = 0 ] && cmp -s "$work/first.json" "$work/s/results.json" &&
  [ -z "$(find "$work/s" -name ".*.tmp-*")" ]'

# a full disk (here a file size limit of 0, SIGXFSZ ignored so that write() fails with EFBIG)
# leaves the old files whole and no temporary behind
cp "$work/s/results.csv" "$work/before.csv"
out=$(trap '' XFSZ; ulimit -f 0; "$ENWANDA" report "$work/s" --no-figures 2>&1)
rc=$?
check "a write that fails (disk full): exit 4 naming the file, the old results.csv kept whole, no temporary left" '[ $rc = 4 ] &&
  [[ $out = *results.csv* ]] && cmp -s "$work/before.csv" "$work/s/results.csv" && [ -z "$(find "$work/s" -name ".*.tmp-*")" ]' ||
  echo "     rc $rc: $out"

# seeds: mean ± std drawn as error bars, the data files holding the standard deviation
make_results "$work/e" "a 30 0 wanda unstructured" "b 34 1 wanda unstructured"
"$ENWANDA" report "$work/e" -q > /dev/null 2>&1
check "seeded cells: yerrorlines with the seeds' standard deviation" '
  grep -q "using 1:2:3 with yerrorlines" "$work/e/plot_data/ppl_vs_alpha_png.gp" &&
  awk "NR == 1 { exit !(\$2 == 32 && \$3 > 2.828 && \$3 < 2.829) }" "$work/e/plot_data/ppl_vs_alpha_0.dat"'

# prune's model card: the base card's front matter (licence) kept, its prose not copied
"$ENWANDA" synth --shape tiny --seed 2 --out "$work/base" -q
printf -- '---\nlicense: llama2\nlanguage:\n- en\n---\n# The dense model\n\nDense prose that must not be copied.\n' > "$work/base/README.md"
for _ in 1 2 3; do cat "$SRC/data/tokenizer_corpus.txt"; done > "$work/text.txt"
"$ENWANDA" prune --model "$work/base" --calib "$work/text.txt" --nsamples 2 --seqlen 16 --method wanda --structure 2:4 \
  --ignore 're:.*mlp\.' --out "$work/p24" -q > "$work/p24.log" 2>&1
check "the pruned model's README.md: the base's licence front matter, then what was done" '
  [ "$(head -5 "$work/p24/README.md")" = "$(head -5 "$work/base/README.md")" ] && grep -q "^- method: wanda$" "$work/p24/README.md" &&
  grep -q "^- sparsity: 0.5 asked, .*structure 2:4, allocation uniform$" "$work/p24/README.md" &&
  grep -q "^- calibration: 2 × 16 tokens, .*text.txt (sha256 [0-9a-f]*)" "$work/p24/README.md" &&
  grep -q "^- enwanda version: " "$work/p24/README.md" && ! grep -q "Dense prose" "$work/p24/README.md"' || tail -3 "$work/p24.log"

# inspect: 2:4 with the MLPs left dense on purpose checks only the pruned linears
"$ENWANDA" inspect "$work/p24" --json > "$work/inspect.json" 2> /dev/null
check "inspect after 2:4 with --ignore mlp: the N:M check passes (the dense MLPs not counted)" '
  [ "$(jq .n_m_check.groups_violating "$work/inspect.json")" = 0 ] && [ "$(jq .n_m_check.ok "$work/inspect.json")" = true ]'

# an MoE report: Mixtral's expert linears under their checkpoint names, each expert's sparsity
"$ENWANDA" synth --shape tiny-mixtral --seed 2 --out "$work/mx" -q
"$ENWANDA" prune --model "$work/mx" --calib "$work/text.txt" --nsamples 2 --seqlen 16 --method wanda --out "$work/mxp" -q > "$work/mx.log" 2>&1
check "MoE report: block_sparse_moe.experts.*.w1/w3/w2, no mlp.gate_proj, a sparsity per expert" '
  r="$work/mxp/enwanda_report.json"; jq -e ".layers[0].linears | has(\"block_sparse_moe.experts.*.w1\") and has(\"block_sparse_moe.experts.*.w2\")
    and has(\"block_sparse_moe.experts.*.w3\") and (has(\"mlp.gate_proj\") | not)" "$r" > /dev/null &&
  [ "$(jq ".layers[0].per_expert | length" "$r")" = "$(jq .num_local_experts "$work/mx/config.json")" ] &&
  jq -e ".layers[0].per_expert[0].linears.w1 > 0.49 and .layers[0].per_expert[0].sparsity > 0.49 and .layers[0].expert_sparsity.max < 0.51" "$r" > /dev/null' ||
  tail -3 "$work/mx.log"
finish
