#!/usr/bin/env bash
# A study's sweep: prune and evaluate every (structure, sparsity, allocation, method[, geometry, α],
# seed) cell; α and geometry multiply the elastic-net methods (en, en++) only; an N:M structure
# fixes the sparsity (N/M) and takes uniform allocation only (OWL has no N:M form here).
#
#   scripts/sweep_alpha.sh --model DIR --calib PATH --eval-data FILE --out RESULTS_DIR
#       [--methods en] [--allocations uniform] (e.g. --methods magnitude,wanda,sparsegpt,ria,en --allocations uniform,owl)
#       [--alphas 0,0.25,0.5,0.75,1] [--geometries original,modified] [--sparsities 0.5]
#       [--structures unstructured] (e.g. unstructured,2:4,4:8) [--seeds 0] (e.g. 0,1,2; --seed S is --seeds S)
#       [--zeroshot TASK=FILE ... | --zeroshot wanda7=DIR] [--zeroshot-args "--no-bos"] [--keep-models] [--no-sequential]
#       [--nsamples 128] [--seqlen N] [--eval-seqlen N] [--slices 0]
#       (seqlen and eval-seqlen default to the model's max_position_embeddings capped at 4096, as prune's)
#       [--prune-args "..."] [--eval-args "..."] [--enwanda PATH]
#
# Methods: every method of `enwanda prune` (magnitude, wanda, sparsegpt, ria, dsnot, alps, wanda++,
# en, en++); allocations: uniform, owl. enwanda is --enwanda PATH, else $ENWANDA, else `enwanda` on
# PATH, else the build/ beside this script. JSON files are written with jq.
#
# Each seed draws its own calibration set (calib-seedS.npy); the table gives mean ± standard
# deviation over the seeds, results.csv a row per seed. --prune-args, --eval-args (eval ppl) and
# --zeroshot-args pass flags through (split at spaces, never globbed or run); the runtime-only ones
# (--threads, --batch-size, --device, -q/-v, --log-file) may change between runs of the same results
# directory, the rest may not; --prune-args may not set what the grid or the sweep sets (--method,
# --sparsity, --structure, --allocation, --geometry, --alpha, --model, --out, calibration inputs).
#
# Phases (the Slurm wrapper runs them as separate jobs; locally they run in order):
#   --phase prepare   draw each seed's calibration set once, evaluate the dense model once, and
#                     with --no-sequential gather each seed's statistics once (stats-seedS.safetensors)
#   --phase cell --cell K   run cell K (0-based) of the grid; --phase cells runs them all
#   --phase report    results.csv, results.json, summary.md, summary.html and the figures (enwanda report)
#   --phase all       (default) prepare, cells, report
# Resumable: a cell whose cells/NAME.json exists is skipped. A failed cell is logged in
# RESULTS_DIR/failed.log with its last error line and its log (cells/NAME/log.txt), the sweep goes
# on, and exits 1 at the end. SIGINT or SIGTERM (Ctrl-C, scancel) stops the sweep at once: the
# running enwanda is stopped (it removes its partial output), finished cells stay, and the same
# command resumes (exit 130, or 143 for SIGTERM). `--phase count` prints the number of cells.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
enwanda=""
model="" calib="" eval_data="" out="" alphas="0,0.25,0.5,0.75,1" geometries="original,modified" sparsities="0.5"
methods="en" allocations="uniform" structures="unstructured" seeds="0"
zeroshot=() keep=0 sequential=1 nsamples=128 seqlen="" eval_seqlen="" slices=0
prune_args="" zeroshot_args="" eval_args="" phase=all cell=""

die() { echo "sweep_alpha.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --calib) calib=$2; shift 2 ;;
    --eval-data) eval_data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --allocations) allocations=$2; shift 2 ;;
    --alphas) alphas=$2; shift 2 ;;
    --geometries) geometries=$2; shift 2 ;;
    --sparsities) sparsities=$2; shift 2 ;;
    --zeroshot) zeroshot+=("$2"); shift 2 ;;
    --keep-models) keep=1; shift ;;
    --no-sequential) sequential=0; shift ;;
    --nsamples) nsamples=$2; shift 2 ;;
    --seqlen) seqlen=$2; shift 2 ;;
    --eval-seqlen) eval_seqlen=$2; shift 2 ;;
    --slices) slices=$2; shift 2 ;;
    --seed|--seeds) seeds=$2; shift 2 ;;
    --structures) structures=$2; shift 2 ;;
    --eval-args) eval_args=$2; shift 2 ;;
    --prune-args) prune_args=$2; shift 2 ;;
    --zeroshot-args) zeroshot_args=$2; shift 2 ;;
    --enwanda) enwanda=$2; shift 2 ;;
    --phase) phase=$2; shift 2 ;;
    --cell) cell=$2; shift 2 ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
if [ -z "$model" ] || [ -z "$calib" ] || [ -z "$eval_data" ] || [ -z "$out" ]; then
  die "--model, --calib, --eval-data and --out are required"
fi
# the default window: max_position_embeddings capped at 4096 (prune's --seqlen auto; 2048 without a config)
positions=$(jq -e '[(.max_position_embeddings // 2048), 4096] | min' "$model/config.json" 2>/dev/null) || positions=2048
[ -n "$seqlen" ] || seqlen=$positions
[ -n "$eval_seqlen" ] || eval_seqlen=$positions
if [ -z "$enwanda" ]; then
  if [ -n "${ENWANDA:-}" ]; then enwanda=$ENWANDA
  elif command -v enwanda > /dev/null; then enwanda=$(command -v enwanda)
  else enwanda=$here/../build/enwanda; fi
fi
[ -x "$enwanda" ] || die "enwanda not found at $enwanda (build it, put it on PATH, or pass --enwanda)"
command -v jq > /dev/null || die "jq is needed to write the sweep's JSON files (scripts/install_deps.sh --with-sweep)"

# Paths made absolute here, so that no name given (one starting with "-" included) is read as a
# flag by a command; every name is passed as one quoted argument and never reaches a shell.
absolute() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s' "$PWD/$1" ;; esac; }
model=$(absolute "$model") calib=$(absolute "$calib") eval_data=$(absolute "$eval_data") out=$(absolute "$out")
enwanda=$(absolute "$enwanda")
for ((i = 0; i < ${#zeroshot[@]}; i++)); do
  spec=${zeroshot[$i]}
  [[ $spec = *=* ]] || die "--zeroshot: TASK=FILE, got $spec"
  zeroshot[i]="${spec%%=*}=$(absolute "${spec#*=}")"
done

# pass-through flag lists: words split at whitespace, never globbed
read -r -a prune_words <<< "$prune_args"
read -r -a eval_words <<< "$eval_args"
read -r -a zeroshot_words <<< "$zeroshot_args"
for w in "${prune_words[@]}"; do
  case ${w%%=*} in
    --method|--sparsity|--structure|--allocation|--geometry|--alpha|--model|--out|--calib|--calib-tokens|--nsamples|--seqlen|--seed|--load-stats|--save-stats|--no-sequential|--overwrite)
      die "--prune-args: ${w%%=*} is set by the sweep (its grid or its options), not passed through" ;;
  esac
done

IFS=, read -r -a alpha_list <<< "$alphas"
IFS=, read -r -a geometry_list <<< "$geometries"
IFS=, read -r -a sparsity_list <<< "$sparsities"
IFS=, read -r -a method_list <<< "$methods"
IFS=, read -r -a allocation_list <<< "$allocations"
IFS=, read -r -a structure_list <<< "$structures"
IFS=, read -r -a seed_list <<< "$seeds"
for m in "${method_list[@]}"; do
  case $m in en|wanda|magnitude|sparsegpt|ria|dsnot|alps|wanda++|en++) ;;
    *) die "--methods: unknown method $m (magnitude, wanda, sparsegpt, ria, dsnot, alps, wanda++, en, en++)" ;; esac
done
for a in "${allocation_list[@]}"; do case $a in uniform|owl) ;; *) die "--allocations: uniform or owl, got $a" ;; esac; done
for st in "${structure_list[@]}"; do
  [[ $st = unstructured || $st =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "--structures: unstructured or N:M (e.g. 2:4), got $st"
done
for sd in "${seed_list[@]}"; do [[ $sd =~ ^[0-9]+$ ]] || die "--seeds: whole numbers, got $sd"; done
number='^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$'
for a in "${alpha_list[@]}"; do [[ $a =~ $number ]] || die "--alphas: numbers, got $a"; done
for s in "${sparsity_list[@]}"; do [[ $s =~ $number ]] || die "--sparsities: numbers, got $s"; done
for g in "${geometry_list[@]}"; do case $g in original|modified) ;; *) die "--geometries: original or modified, got $g" ;; esac; done
for v in "nsamples=$nsamples" "seqlen=$seqlen" "eval-seqlen=$eval_seqlen" "slices=$slices" ${cell:+"cell=$cell"}; do
  [[ ${v#*=} =~ ^[0-9]+$ ]] || die "--${v%%=*}: a whole number, got ${v#*=}"
done

# the grid, one "method geometry alpha sparsity allocation structure seed" per cell (structure
# outermost, seed innermost); an N:M structure has one sparsity, N/M, and uniform allocation
cells=()
for st in "${structure_list[@]}"; do
  if [ "$st" = unstructured ]; then st_sparsities=("${sparsity_list[@]}") st_allocations=("${allocation_list[@]}")
  else st_sparsities=("$(awk -v n="${st%%:*}" -v m="${st##*:}" 'BEGIN { printf "%g", n / m }')") st_allocations=(uniform); fi
  for s in "${st_sparsities[@]}"; do
    for alloc in "${st_allocations[@]}"; do
      for m in "${method_list[@]}"; do
        variants=("- -")
        if [ "$m" = en ] || [ "$m" = en++ ]; then
          variants=(); for g in "${geometry_list[@]}"; do for a in "${alpha_list[@]}"; do variants+=("$g $a"); done; done
        fi
        for v in "${variants[@]}"; do for sd in "${seed_list[@]}"; do cells+=("$m $v $s $alloc $st $sd"); done; done
      done
    done
  done
done
ncells=${#cells[@]}

log() { echo "[sweep $(date +%H:%M:%S)] $*"; }

# Signals: the first SIGINT or SIGTERM is passed to the running command and stops the sweep once
# that command has cleaned up (commands run in the background and are waited for, so the trap runs
# at once, not after the command ends).
stop_signal="" child=""
on_signal() {
  [ -n "$stop_signal" ] && return
  stop_signal=$1
  log "SIG$1: stopping (finished cells are kept; the same command resumes)"
  [ -z "$child" ] || kill -s "$1" "$child" 2> /dev/null
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
stop_if_signalled() {
  [ -z "$stop_signal" ] && return 0
  rm -f "$out/settings.json.tmp.$$" "$out/sweep.json.tmp.$$"
  if [ "$stop_signal" = INT ]; then exit 130; else exit 143; fi
}
run() {
  local rc
  "$@" &
  child=$!
  while :; do
    wait "$child"; rc=$?
    kill -0 "$child" 2> /dev/null || break
  done
  child=""
  stop_if_signalled
  return "$rc"
}

# cell K -> method, geometry, alpha, sparsity, allocation, structure, seed and the cell's name
# ("en-modified-a0.5-s0.5-seed0", "sparsegpt-owl-s0.7-seed1", "wanda-2of4-seed0")
cell_params() {
  read -r c_method c_geometry c_alpha c_sparsity c_allocation c_structure c_seed <<< "${cells[$1]}"
  local owl="" shape="-s${c_sparsity}"
  [ "$c_allocation" = owl ] && owl="-owl"
  [ "$c_structure" = unstructured ] || shape="-${c_structure/:/of}"
  if [ "$c_geometry" = - ]; then c_name="${c_method}${owl}${shape}-seed${c_seed}"
  else c_name="${c_method}-${c_geometry}-a${c_alpha}${owl}${shape}-seed${c_seed}"; fi
}

# A flag list without its runtime-only flags (threads, batch size, device, logging): what a
# cell's result depends on, compared between runs of one results directory.
result_flags() {
  local words kept=() i=0
  read -r -a words <<< "$1"
  while [ $i -lt ${#words[@]} ]; do
    case ${words[$i]} in
      --threads|--batch-size|--device|--log-file) i=$((i + 2)) ;;
      --threads=*|--batch-size=*|--device=*|--log-file=*|-q|--quiet|-v|--verbose) i=$((i + 1)) ;;
      *) kept+=("${words[$i]}"); i=$((i + 1)) ;;
    esac
  done
  echo "${kept[*]}"
}

evaluate() {  # model_dir result_dir
  local m=$1 d=$2 spec task file
  run "$enwanda" eval ppl --model "$m" --data "$eval_data" --seqlen "$eval_seqlen" --slices "$slices" --json "$d/ppl.json" \
    --overwrite -q "${eval_words[@]}" > /dev/null || return 1
  if [ ${#zeroshot[@]} -gt 0 ]; then
    local args=()
    for spec in "${zeroshot[@]}"; do
      task=${spec%%=*}; file=${spec#*=}
      if [ "$task" = wanda7 ]; then  # wanda7=DIR: the seven tasks from DIR/{task}.jsonl
        for t in boolq rte hellaswag winogrande arc_easy arc_challenge openbookqa; do args+=(--task "$t" --data "$file/$t.jsonl"); done
      else args+=("--task=$task" --data "$file"); fi
    done
    run "$enwanda" eval zeroshot --model "$m" "${args[@]}" --json "$d/zeroshot.json" --overwrite -q "${zeroshot_words[@]}" \
      > /dev/null || return 1
  fi
}

# The settings every cell's result depends on (the grid itself may grow between runs). A results
# directory keeps the first run's in settings.json; a later run with other settings is refused, so
# calib.npy, the dense row and finished cells are never mixed with results of another setup.
settings_json() {
  local z="" spec
  for spec in "${zeroshot[@]}"; do z="$z${z:+,}${spec%%=*}=$(realpath -m -- "${spec#*=}")"; done
  jq -cn --arg model "$(realpath -m -- "$model")" --arg calib "$(realpath -m -- "$calib")" \
    --arg eval_data "$(realpath -m -- "$eval_data")" --arg nsamples "$nsamples" --arg seqlen "$seqlen" \
    --arg eval_seqlen "$eval_seqlen" --arg slices "$slices" --argjson sequential "$([ $sequential = 1 ] && echo true || echo false)" \
    --arg prune_args "$(result_flags "$prune_args")" --arg eval_args "$(result_flags "$eval_args")" --arg zeroshot "$z" \
    --arg zeroshot_args "$(result_flags "$zeroshot_args")" \
    '{model: $model, calib: $calib, eval_data: $eval_data, nsamples: $nsamples, seqlen: $seqlen, eval_seqlen: $eval_seqlen,
      slices: $slices, sequential: $sequential, prune_args: $prune_args, eval_args: $eval_args, zeroshot: $zeroshot,
      zeroshot_args: $zeroshot_args}'
}

check_settings() {
  local now; now=$(settings_json)
  if [ -f "$out/settings.json" ]; then
    [ "$(jq -cS . <<< "$now")" = "$(jq -cS . < "$out/settings.json" 2> /dev/null)" ] && return 0
    echo "sweep_alpha.sh: $out holds results made with other settings; use a new --out, or the same settings" >&2
    diff <(jq . < "$out/settings.json") <(jq . <<< "$now") | grep '^[<>]' | sed 's/^</  there:/; s/^>/  asked:/' >&2
    return 1
  fi
  mkdir -p "$out" && printf '%s\n' "$now" > "$out/settings.json.tmp.$$" && mv "$out/settings.json.tmp.$$" "$out/settings.json"
}

phase_prepare() {
  check_settings || return 2
  mkdir -p "$out/cells" "$out/dense"
  local bos=true sd
  [[ " $zeroshot_args " = *" --no-bos "* ]] && bos=false
  jq -n --arg model "$model" --arg calib "$calib" --arg eval_data "$eval_data" --arg methods "$methods" \
    --arg allocations "$allocations" --arg alphas "$alphas" --arg geometries "$geometries" --arg sparsities "$sparsities" \
    --arg structures "$structures" --arg seeds "$seeds" --argjson nsamples "$nsamples" --argjson seqlen "$seqlen" \
    --argjson eval_seqlen "$eval_seqlen" --argjson slices "$slices" --argjson zeroshot_bos "$bos" \
    --argjson sequential "$([ $sequential = 1 ] && echo true || echo false)" \
    '{model: $model, calib: $calib, eval_data: $eval_data, methods: $methods, allocations: $allocations, alphas: $alphas,
      geometries: $geometries, sparsities: $sparsities, structures: $structures, seeds: $seeds, nsamples: $nsamples,
      seqlen: $seqlen, eval_seqlen: $eval_seqlen, slices: $slices, zeroshot_bos: $zeroshot_bos, sequential: $sequential}' \
    > "$out/sweep.json.tmp.$$" && mv "$out/sweep.json.tmp.$$" "$out/sweep.json" || return 1
  for sd in "${seed_list[@]}"; do
    [ -f "$out/calib-seed$sd.npy" ] && continue
    log "drawing the calibration set of seed $sd: $nsamples x $seqlen"
    if ! run "$enwanda" calib --model "$model" --calib "$calib" --nsamples "$nsamples" --seqlen "$seqlen" --seed "$sd" \
         --out "$out/calib-seed$sd.npy.tmp" --overwrite -q; then
      log "calibration failed"; return 1
    fi
    mv "$out/calib-seed$sd.npy.tmp" "$out/calib-seed$sd.npy"
  done
  if [ ! -f "$out/dense/ppl.json" ]; then
    log "evaluating the dense model"
    evaluate "$model" "$out/dense" || { log "dense evaluation failed"; return 1; }
  fi
  [ $sequential = 1 ] && return 0
  for sd in "${seed_list[@]}"; do
    [ -f "$out/stats-seed$sd.safetensors" ] && continue
    log "gathering the activation statistics of seed $sd once (--no-sequential)"
    run "$enwanda" prune --model "$model" --calib-tokens "$out/calib-seed$sd.npy" --no-sequential \
      --save-stats "$out/stats-seed$sd.safetensors" --out "$out/stats-model" --overwrite -q "${prune_words[@]}" ||
      { log "statistics failed"; return 1; }
    rm -rf "$out/stats-model"
  done
}

phase_cell() {
  local k=$1
  cell_params "$k"
  local d="$out/cells/$c_name" pruned="$out/models/$c_name"
  if [ -f "$out/cells/$c_name.json" ]; then log "cell $k $c_name: done already, skipped"; return 0; fi
  log "cell $k/$ncells $c_name: pruning"
  mkdir -p "$d" "$out/models"
  local stats=() method=(--method "$c_method") structure=()
  if [ $sequential = 0 ]; then  # SparseGPT needs each input's XᵀX, which the shared statistics do not hold
    stats=(--no-sequential); [ "$c_method" = sparsegpt ] || stats+=(--load-stats "$out/stats-seed$c_seed.safetensors")
  fi
  [ "$c_geometry" = - ] || method+=(--geometry "$c_geometry" --alpha "$c_alpha")
  [ "$c_structure" = unstructured ] || structure=(--structure "$c_structure")
  local calib=(--calib-tokens "$out/calib-seed$c_seed.npy")
  if [ "$c_method" = magnitude ] && [ "$c_allocation" = uniform ]; then calib=(); stats=(); fi  # reads no calibration
  if ! run "$enwanda" prune --model "$model" "${calib[@]}" "${method[@]}" --sparsity "$c_sparsity" \
       --allocation "$c_allocation" "${structure[@]}" "${stats[@]}" --out "$pruned" --overwrite -q "${prune_words[@]}" 2> "$d/log.txt" \
     || ! cp "$pruned/enwanda_report.json" "$d/" || ! evaluate "$pruned" "$d" 2>> "$d/log.txt"; then
    local reason
    reason=$(grep -v '^[[:space:]]*$' "$d/log.txt" | tail -n 1)
    echo "$(date -Is) cell $k $c_name failed: ${reason:-no error message} (log: $d/log.txt)" >> "$out/failed.log"
    log "cell $k $c_name: FAILED: ${reason:-no error message}; going on"
    [ $keep = 1 ] || rm -rf "$pruned"
    return 1
  fi
  [ $keep = 1 ] || rm -rf "$pruned"
  local geometry=$c_geometry alpha_json=$c_alpha
  [ "$c_geometry" = - ] && geometry="" alpha_json=null
  jq -cn --arg method "$c_method" --arg geometry "$geometry" --argjson alpha "$alpha_json" --argjson sparsity "$c_sparsity" \
    --arg allocation "$c_allocation" --arg structure "$c_structure" --argjson seed "$c_seed" --arg dir "$c_name" \
    '{method: $method, geometry: $geometry, alpha: $alpha, sparsity: $sparsity, allocation: $allocation,
      structure: $structure, seed: $seed, dir: $dir}' > "$out/cells/$c_name.json.tmp" &&
    mv "$out/cells/$c_name.json.tmp" "$out/cells/$c_name.json"
  log "cell $k $c_name: ppl $(jq -r .ppl "$d/ppl.json")"
}

phase_report() { run "$enwanda" report "$out" -q; }

case $phase in
  count) echo "$ncells" ;;
  prepare) phase_prepare ;;
  cell) [ -n "$cell" ] || die "--phase cell needs --cell K"; phase_prepare && phase_cell "$cell" ;;
  cells)
    check_settings || exit 2
    failed=0
    for ((k = 0; k < ncells; k++)); do stop_if_signalled; phase_cell "$k" || failed=$((failed + 1)); done
    [ $failed = 0 ] || { log "$failed of $ncells cells failed (failed.log)"; exit 1; }
    ;;
  report) phase_report ;;
  all)
    phase_prepare || exit $?
    failed=0
    for ((k = 0; k < ncells; k++)); do stop_if_signalled; phase_cell "$k" || failed=$((failed + 1)); done
    rmdir "$out/models" 2> /dev/null
    phase_report || exit 1
    log "$ncells cells, $failed failed; results in $out (results.csv, summary.md, summary.html, ppl_vs_alpha.png)"
    [ $failed = 0 ] || { log "failed cells and why: $out/failed.log"; exit 1; }
    ;;
  *) die "unknown --phase $phase" ;;
esac
