#!/usr/bin/env bash
# Temporal Scaling Law experiment (docs/scaling.md): trains 3 model sizes on TinyStories for
# 1000 steps (eval every 25) and predicts each run's loss from its first 25% of steps with our
# law and the two whole-curve baselines. Runs that already finished (train.done) are kept.
#   configs/scaling/run_all.sh [--smoke] [extra `lmlab scaling fit` options, e.g. --trajectory-forms power]
#   (--smoke: the same at toy size, configs/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
prepare_data tinystories
for size in small medium large; do
  echo "configs/scaling/$size.toml --set run.out_dir=$RUNS/scaling/$size $SMOKE_SET"
done | configs/train_queue.sh
for size in small medium large; do
  echo "== $size"
  "$LMLAB" scaling fit --run "$RUNS/scaling/$size" --observe-until "$(steps 250)" "$@" \
    --json "$RUNS/scaling/$size/fit.json" --plot "$RUNS/scaling/$size/fit.png"
done
