#!/usr/bin/env bash
# The MoE experiments of docs/moe.md at CPU scale, on WikiText-2 (BPE 4096), with each seed of SEEDS:
#  1. the CartesianMoE paper's comparison: the 8 configs of Table 1 at equal total and active
#     parameters (dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe);
#  2. Finedeep vs the same dense model (perplexity and near-zero activation share);
#  3. DSMoE as continued pre-training of the dense run, against 500 more dense steps, the
#     LLaMA-MoE top-3 router over the same split, and DSMoE without the straight-through
#     estimator; then DSMoE evaluated at each threshold of TAUS (its measured active share).
# Every run is scored on the whole WikiText-2 validation split (`lmlab eval --tasks val`), the
# routed ones again with each token's top-1 expert disabled (CartesianMoE: in both sub-layers and
# in the first only). One result file per run goes to docs/results/moe/ (runs/smoke/moe/results
# with --smoke), and the table in docs/moe.md is regenerated from them (mean ± sd over seeds).
#   configs/moe/run_all.sh [--smoke] [--set key=value ...]   (extra arguments go to every `lmlab train`;
#                                                            --smoke: the same at toy size, configs/smoke.sh)
# Seeds train one after the other (a stopped run leaves whole seeds), two runs at a time with one
# thread each. A run that already finished (runs/moe/s<seed>/<name>/train.done) is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
SEEDS=${SEEDS:-1337 1338 1339}
[ "$SMOKE" = 1 ] && SEEDS=${SMOKE_SEEDS:-1 2}  # two seeds: the table's sd is still there
SCRATCH=${SCRATCH:-dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe finedeep}
CONTINUED=${CONTINUED:-dense_continued dsmoe_from_dense topk_from_dense dsmoe_no_ste_from_dense}
TAUS=${TAUS:-0.3 0.4 0.5 0.6 0.7}
[ "$SMOKE" = 1 ] && TAUS=${SMOKE_TAUS:-0.4 0.6}
RES=docs/results/moe
[ "$SMOKE" = 1 ] && RES=$RUNS/moe/results
cfg() { case $1 in finedeep|*_from_dense|dense_continued) echo "configs/moe/dense_split/$1.toml" ;; *) echo "configs/moe/$1.toml" ;; esac; }
routed() { case $1 in smoe_share|smoe_top3|fine_grained|topp|cartesian|maskmoe) return 0 ;; *) return 1 ;; esac; }
prepare_data wikitext-2
extra=("$@")

# Two queues side by side (every other line), one thread each: small models use 2 cores better so.
train_two_queues() {  # stdin: train_queue lines; $1: log name
  local lines pids=()
  lines=$(cat)
  for half in 0 1; do
    awk -v h=$half 'NR % 2 == h' <<<"$lines" | OMP_NUM_THREADS=1 configs/train_queue.sh >"$RUNS/moe/$1-$half.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "training failed: see $RUNS/moe/$1-*.log" >&2; exit 1; }; done
}

train_seed() {  # $1 seed
  local seed=$1 dir=$RUNS/moe/s$1 start
  start=$(date +%s)
  for c in $SCRATCH; do
    echo "$(cfg $c) --set run.seed=$seed --set run.out_dir=$dir/$c $SMOKE_SET ${extra[*]}"
  done | train_two_queues "s$seed-scratch"
  # The continuations start from this seed's own dense run.
  for c in $CONTINUED; do
    echo "$(cfg $c) --set run.seed=$seed --set run.out_dir=$dir/$c --set train.init_from=$dir/dense $SMOKE_SET ${extra[*]}"
  done | train_two_queues "s$seed-continued"
  echo "seed $seed trained in $(( $(date +%s) - start )) s (logs: $RUNS/moe/s$seed-*.log)"
}

# NAME=@FILE:KEY for the val task's KEY when FILE has it, else NAME=null.
val_metric() { if grep -q "\"$3\"" "$2"; then echo "$1=@$2:checkpoints.0.results.val.$3"; else echo "$1=null"; fi; }
evaluate() {  # $1 checkpoint, $2 output, then --set pairs
  local ck=$1 out=$2
  shift 2
  # shellcheck disable=SC2086  # EVAL_LIMIT is "" or "--limit N"
  [ -f "$out" ] || "$LMLAB" eval --checkpoint "$ck" --tasks val $EVAL_LIMIT "$@" --output "$out" >/dev/null
}
record() {  # $1 group, $2 variant, $3 seed, $4 run dir, $5 eval json, then more --metric specs
  local group=$1 variant=$2 seed=$3 run=$4 ev=$5 params nominal=null
  shift 5
  # Parameter counts depend on the config only: counted once, for its first seed.
  local counts=$RUNS/moe/params-$(basename "$run").txt
  [ -f "$counts" ] || "$LMLAB" train --config "$run/config.toml" --print-params >"$counts"
  params=$(cat "$counts")
  # The nominal count next to the measured one, for the types that route (top-p's varies).
  grep -q '"experts_per_token"' "$ev" && nominal=$(awk -F' *= *' '$1 == "top_k" {print $2}' "$run/config.toml")
  "$LMLAB" results record --method moe --group "$group" --variant "$variant" --seed "$seed" \
    --settings "{\"checkpoint\": \"$run\"}" --output "$RES/$group-$variant-s$seed.json" \
    --metric "$(val_metric val_loss "$ev" loss)" --metric "$(val_metric val_ppl "$ev" perplexity)" \
    --metric "$(val_metric ppl_low "$ev" ppl_low)" "$@" \
    --metric "$(val_metric experts_per_token "$ev" experts_per_token)" --metric "nominal_experts_per_token=$nominal" \
    --metric "$(val_metric active_share "$ev" active_share)" --metric "$(val_metric near_zero_share "$ev" near_zero_share)" \
    --metric "total_params=$(awk '/^total_params/ {print $2}' <<<"$params")" \
    --metric "active_params=$(awk '/^active_params/ {print $2}' <<<"$params")" \
    --metric "train_s=$(cat "$run/train.done")" >/dev/null
}

score_seed() {  # $1 seed: every run on the validation split, one result file per run
  local seed=$1 dir=$RUNS/moe/s$1 c tau ev group more
  for c in $SCRATCH $CONTINUED; do
    evaluate "$dir/$c" "$dir/$c/eval_val.json"
    more=(--metric ppl_no_top1=null --metric ppl_no_top1_first=null)
    if routed "$c"; then
      evaluate "$dir/$c" "$dir/$c/eval_val_no_top1.json" --set model.ffn.disable_top1=true
      more=(--metric "$(val_metric ppl_no_top1 "$dir/$c/eval_val_no_top1.json" perplexity)" --metric ppl_no_top1_first=null)
      if [ "$c" = cartesian ]; then
        evaluate "$dir/$c" "$dir/$c/eval_val_no_top1_first.json" --set model.ffn.disable_top1=true \
          --set model.ffn.disable_top1_layers=first
        more[3]=$(val_metric ppl_no_top1_first "$dir/$c/eval_val_no_top1_first.json" perplexity)
      fi
    fi
    group=scratch
    [[ " $CONTINUED " == *" $c "* ]] && group=continued
    record "$group" "$c" "$seed" "$dir/$c" "$dir/$c/eval_val.json" "${more[@]}"
  done
  for tau in $TAUS; do  # DSMoE trained at tau 0.5, evaluated at each threshold
    ev=$dir/dsmoe_from_dense/eval_val_tau$tau.json
    evaluate "$dir/dsmoe_from_dense" "$ev" --set "model.ffn.dsmoe_tau=$tau"
    record tau_sweep "dsmoe_tau$tau" "$seed" "$dir/dsmoe_from_dense" "$ev" \
      --metric ppl_no_top1=null --metric ppl_no_top1_first=null
  done
}

mkdir -p "$RUNS/moe" "$RES"
for seed in $SEEDS; do
  train_seed "$seed"
  score_seed "$seed"
done

echo; echo "mean ± sd over seeds $SEEDS (results: $RES)"
DOC=""
[ "$SMOKE" = 0 ] && DOC="--doc docs/moe.md"
# shellcheck disable=SC2086  # DOC is "" or "--doc FILE"
variants=$(for v in $SCRATCH $CONTINUED; do printf '%s,' "$v"; done; for t in $TAUS; do printf 'dsmoe_tau%s,' "$t"; done)
"$LMLAB" results table "$RES" --markdown $DOC --variants "${variants%,}" \
  --metrics val_loss,val_ppl,ppl_low,ppl_no_top1,ppl_no_top1_first,experts_per_token,nominal_experts_per_token,active_share,near_zero_share,active_params,train_s
