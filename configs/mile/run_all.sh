#!/usr/bin/env bash
# CE vs MiLe vs focal (docs/mile.md): the quickstart-size model on TinyStories, 3 losses x 3 seeds,
# then every run scored on the whole validation split with the MiLe paper's frequency buckets
# (`lmlab eval --tasks val`). Runs that already finished (train.done) are kept.
#   configs/mile/run_all.sh [--smoke]      (--smoke: the same at toy size, configs/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
prepare_data tinystories
for seed in 1337 1 2; do
  for loss in ce mile focal; do
    echo "configs/mile/base.toml --set train.loss.type=$loss --set run.seed=$seed --set run.out_dir=$RUNS/mile/$loss-$seed $SMOKE_SET"
  done
done | configs/train_queue.sh
runs=""
for seed in 1337 1 2; do for loss in ce mile focal; do runs+="$RUNS/mile/$loss-$seed,"; done; done
# shellcheck disable=SC2086  # EVAL_LIMIT is "" or "--limit N"
"$LMLAB" eval --checkpoint "${runs%,}" --tasks val $EVAL_LIMIT --output "$RUNS/mile/eval_val.json"
