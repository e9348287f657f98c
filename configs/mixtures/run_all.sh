#!/usr/bin/env bash
# Data-mixture selection with the Temporal Scaling Law (docs/scaling.md): the same model trained
# on 3 mixtures (configs/prepare_data.sh mixdoc-a|b|c) with each seed of SEEDS, scored on one
# validation set at document starts. The law sees each run's first 25% of steps (a short run:
# the schedule up to there is the same) and predicts its loss at the end; every method's
# prediction — and the trivial baseline, the loss at the cut-off — ranks the mixtures, checked
# per seed against the runs to the end. Result files go to docs/results/scaling/ beside the
# model sizes' (runs/smoke/mixtures/results with --smoke); docs/scaling.md's tables are
# regenerated from them.
#   configs/mixtures/run_all.sh [--smoke]  (--smoke: the same at toy size, configs/smoke.sh; all
#                                           three "mixtures" are then the one smoke data set)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
source configs/scaling/fit_record.sh
SEEDS=${SEEDS:-1337 1 2}
[ "$SMOKE" = 1 ] && SEEDS=${SMOKE_SEEDS:-1 2}
RES=docs/results/scaling
[ "$SMOKE" = 1 ] && RES=$RUNS/mixtures/results
# The configs' 400 steps, eval every 10: observed up to 25% (group "mixtures") and up to half
# ("mixtures-half"); smoke: 40 steps, eval every 2.
observe=100 half=200 end=400
[ "$SMOKE" = 1 ] && observe=10 half=20 end=40
for m in a b c; do prepare_data "mixdoc-$m"; done
for seed in $SEEDS; do
  for m in a b c; do
    echo "configs/mixtures/$m.toml --set run.seed=$seed --set run.out_dir=$RUNS/mixtures/$m-$seed $SMOKE_SET"
  done
done | configs/train_queue.sh
for seed in $SEEDS; do
  for m in a b c; do
    fit_and_record mixtures "$m" "$seed" "$RUNS/mixtures/$m-$seed" "$observe" "$end" "$RES"
    fit_and_record mixtures-half "$m" "$seed" "$RUNS/mixtures/$m-$seed" "$half" "$end" "$RES"
  done
done
DOC=""
[ "$SMOKE" = 0 ] && DOC=docs/scaling.md
echo; echo "MAPE % after the cut-off, mean ± sd over seeds $SEEDS (results: $RES)"
scaling_table "$RES" "$DOC"
for group in mixtures mixtures-half; do
  echo; echo "mixtures ranked by each method's predicted loss at step $end ($group)"
  # shellcheck disable=SC2046  # the --doc pair or nothing
  "$LMLAB" scaling rank "$RES" --group "$group" --by final_tsl,final_tsl_free,final_power,final_exp,cutoff_loss \
    --actual final_actual $([ -n "$DOC" ] && echo --doc "$DOC")
done
