#!/usr/bin/env bash
# Temporal Scaling Law experiment (docs/scaling.md): 3 model sizes on TinyStories, each with each
# seed of SEEDS, evaluated on validation windows that start at document starts; each run's loss
# predicted from its first 25% of steps by our law (with the run's learning-rate schedule and
# without it) and by the baselines (power law, exponential, the loss at the cut-off). One result
# file per run goes to docs/results/scaling/ (runs/smoke/scaling/results with --smoke) and the
# table in docs/scaling.md is regenerated from them. Runs that already finished (train.done) are kept.
#   configs/scaling/run_all.sh [--smoke]   (--smoke: the same at toy size, configs/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
source configs/scaling/fit_record.sh
SEEDS=${SEEDS:-1337 1 2}
[ "$SMOKE" = 1 ] && SEEDS=${SMOKE_SEEDS:-1 2}
RES=docs/results/scaling
[ "$SMOKE" = 1 ] && RES=$RUNS/scaling/results
# The configs train 400 steps and evaluate every 10: the law sees steps 10..100 (the first 25%,
# group "sizes"), and again 10..200 (half, group "sizes-half"); smoke: 40 steps, eval every 2.
observe=100 half=200 end=400
[ "$SMOKE" = 1 ] && observe=10 half=20 end=40
prepare_data tinystories-docs
for seed in $SEEDS; do
  for size in small medium large; do
    echo "configs/scaling/$size.toml --set run.seed=$seed --set run.out_dir=$RUNS/scaling/$size-$seed $SMOKE_SET"
  done
done | configs/train_queue.sh
for seed in $SEEDS; do
  for size in small medium large; do
    fit_and_record sizes "$size" "$seed" "$RUNS/scaling/$size-$seed" "$observe" "$end" "$RES"
    fit_and_record sizes-half "$size" "$seed" "$RUNS/scaling/$size-$seed" "$half" "$end" "$RES"
  done
done
echo; echo "MAPE % on the steps after the cut-off, mean ± sd over seeds $SEEDS (results: $RES)"
DOC=""
[ "$SMOKE" = 0 ] && DOC=docs/scaling.md
scaling_table "$RES" "$DOC"
