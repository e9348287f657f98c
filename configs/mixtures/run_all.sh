#!/usr/bin/env bash
# Data-mixture selection with the Temporal Scaling Law (docs/scaling.md): the same model trained
# on 3 mixtures (configs/prepare_data.sh mix-a|b|c) for 1000 steps, scored on one validation set.
# The law sees each run's first 250 steps (a short run: the schedule up to there is the same) and
# predicts its loss at step 1000; the ranking of the predictions is checked against the runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
for m in a b c; do configs/prepare_data.sh "mix-$m"; done
printf 'configs/mixtures/%s.toml\n' a b c | configs/train_queue.sh
printf '| mixture | ours: predicted | power law: predicted | exponential: predicted | actual |\n|---|---|---|---|---|\n'
for m in a b c; do
  "$LMLAB" scaling fit --run "runs/mixtures/$m" --observe-until 250 --predict-to 1000 \
    --json "runs/mixtures/$m/fit.json" --plot "runs/mixtures/$m/fit.png" > "runs/mixtures/$m/fit.txt"
  awk -v m="$m" '$1 == 1000 && NF == 5 { printf "| %s | %s | %s | %s | %s |\n", m, $3, $4, $5, $2 }' "runs/mixtures/$m/fit.txt"
done
