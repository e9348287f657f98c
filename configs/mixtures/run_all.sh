#!/usr/bin/env bash
# Data-mixture selection with the Temporal Scaling Law (docs/scaling.md): the same model trained
# on 3 mixtures (configs/prepare_data.sh mix-a|b|c) for 1000 steps, scored on one validation set.
# The law sees each run's first 250 steps (a short run: the schedule up to there is the same) and
# predicts its loss at step 1000; the ranking of the predictions is checked against the runs.
#   configs/mixtures/run_all.sh [--smoke]  (--smoke: the same at toy size, configs/smoke.sh; all
#                                           three "mixtures" are then the one smoke data set)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
for m in a b c; do prepare_data "mix-$m"; done
for m in a b c; do echo "configs/mixtures/$m.toml --set run.out_dir=$RUNS/mixtures/$m $SMOKE_SET"; done | configs/train_queue.sh
observe=$(steps 250) end=$(steps 1000)
printf '| mixture | ours: predicted | power law: predicted | exponential: predicted | actual |\n|---|---|---|---|---|\n'
for m in a b c; do
  run=$RUNS/mixtures/$m
  "$LMLAB" scaling fit --run "$run" --observe-until "$observe" --predict-to "$end" \
    --json "$run/fit.json" --plot "$run/fit.png" > "$run/fit.txt"
  awk -v m="$m" -v end="$end" '$1 == end && NF == 5 { printf "| %s | %s | %s | %s | %s |\n", m, $3, $4, $5, $2 }' "$run/fit.txt"
done
