#!/usr/bin/env bash
# Temporal Scaling Law experiment (docs/scaling.md): trains 3 model sizes on TinyStories for
# 1000 steps (eval every 25) and predicts each run's loss from its first 25% of steps with our
# law and the two whole-curve baselines. Runs that already finished (train.done) are kept.
#   configs/scaling/run_all.sh [extra `lmlab scaling fit` options, e.g. --trajectory-forms power]
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
configs/prepare_data.sh tinystories
printf 'configs/scaling/%s.toml\n' small medium large | configs/train_queue.sh
for size in small medium large; do
  echo "== $size"
  "$LMLAB" scaling fit --run "runs/scaling/$size" --observe-until 250 "$@" \
    --json "runs/scaling/$size/fit.json" --plot "runs/scaling/$size/fit.png"
done
