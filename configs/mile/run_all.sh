#!/usr/bin/env bash
# CE vs MiLe vs focal (docs/mile.md): the quickstart-size model on TinyStories, each loss with
# each seed of SEEDS, plus MiLe's gamma sweep (0, 0.5, 1, 2: `mile` is gamma 1, the official
# default); then every run scored on the whole validation split with the MiLe paper's frequency
# buckets (`lmlab eval --tasks val`). One result file per run goes to docs/results/mile/
# (runs/smoke/mile/results with --smoke) and the table in docs/mile.md is regenerated from them.
# Runs that already finished (train.done) are kept.
#   configs/mile/run_all.sh [--smoke]      (--smoke: the same at toy size, configs/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
SEEDS=${SEEDS:-1337 1 2}
[ "$SMOKE" = 1 ] && SEEDS=${SMOKE_SEEDS:-1 2}  # two seeds: the table keeps its sd
VARIANTS=${VARIANTS:-ce mile focal mile_g0 mile_g0.5 mile_g2}
RES=docs/results/mile
[ "$SMOKE" = 1 ] && RES=$RUNS/mile/results
# variant -> "loss gamma"
loss_of() { case $1 in mile_g*) echo "mile ${1#mile_g}" ;; *) echo "$1 1.0" ;; esac; }
prepare_data tinystories
for seed in $SEEDS; do
  for v in $VARIANTS; do
    read -r loss gamma <<<"$(loss_of "$v")"
    echo "configs/mile/base.toml --set train.loss.type=$loss --set train.loss.gamma=$gamma --set run.seed=$seed" \
         "--set run.out_dir=$RUNS/mile/$v-$seed $SMOKE_SET"
  done
done | configs/train_queue.sh

mkdir -p "$RES"
for seed in $SEEDS; do
  for v in $VARIANTS; do
    run=$RUNS/mile/$v-$seed
    ev=$run/eval_val.json
    # shellcheck disable=SC2086  # EVAL_LIMIT is "" or "--limit N"
    [ -f "$ev" ] || "$LMLAB" eval --checkpoint "$run" --tasks val $EVAL_LIMIT --output "$ev" >/dev/null
    read -r loss gamma <<<"$(loss_of "$v")"
    val=checkpoints.0.results.val
    "$LMLAB" results record --method mile --variant "$v" --seed "$seed" --output "$RES/$v-s$seed.json" \
      --settings "{\"loss\": \"$loss\", \"gamma\": $gamma, \"checkpoint\": \"$run\"}" \
      --metric "val_ce=@$ev:$val.loss" --metric "val_ppl=@$ev:$val.perplexity" \
      --metric "ppl_high=@$ev:$val.ppl_high" --metric "ppl_medium=@$ev:$val.ppl_medium" \
      --metric "ppl_low=@$ev:$val.ppl_low" --metric "train_ce=@$run/metrics.jsonl:ce" \
      --metric "train_loss=@$run/metrics.jsonl:loss" --metric "train_s=$(cat "$run/train.done")" >/dev/null
  done
done
echo; echo "mean ± sd over seeds $SEEDS (results: $RES)"
DOC=""
[ "$SMOKE" = 0 ] && DOC="--doc docs/mile.md"
# shellcheck disable=SC2086  # DOC is "" or "--doc FILE"
"$LMLAB" results table "$RES" --markdown $DOC --variants "${VARIANTS// /,}" \
  --metrics val_ce,val_ppl,ppl_high,ppl_medium,ppl_low,train_ce,train_loss,train_s
