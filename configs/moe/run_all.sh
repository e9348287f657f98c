#!/usr/bin/env bash
# The MoE experiments of docs/moe.md at CPU scale, on WikiText-2 (BPE 4096):
#  1. the CartesianMoE paper's comparison: the 8 configs of Table 1 at equal total and active
#     parameters (dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe);
#  2. Finedeep vs the same dense model (perplexity and near-zero activation share);
#  3. DSMoE as continued pre-training of the dense run, against 500 more dense steps.
# Then scores every run on the whole WikiText-2 validation split (`lmlab eval --tasks val`),
# and the routed models again with each token's top-1 expert disabled (robustness test).
#   configs/moe/run_all.sh [--smoke] [--set key=value ...]   (extra arguments go to every `lmlab train`;
#                                                            --smoke: the same at toy size, configs/smoke.sh)
# A run that already finished (runs/moe/<name>/train.done, holding its wall time) is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
cfg() { case $1 in finedeep|dense_continued|dsmoe_from_dense) echo "dense_split/$1.toml" ;; *) echo "$1.toml" ;; esac; }
CONFIGS=${CONFIGS:-dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe finedeep dense_continued dsmoe_from_dense}
prepare_data wikitext-2
# Both continuations start from this script's own dense run.
from_dense() { case $1 in dense_continued|dsmoe_from_dense) echo "--set train.init_from=$RUNS/moe/dense" ;; esac; }
for c in $CONFIGS; do
  echo "configs/moe/$(cfg "$c") --set run.out_dir=$RUNS/moe/$c $(from_dense "$c") $SMOKE_SET $*"
done | configs/train_queue.sh

echo; echo "parameters (lmlab train --print-params) and training wall time"
printf '| config | total params | active params | train time (s) |\n|---|---|---|---|\n'
for c in $CONFIGS; do
  # shellcheck disable=SC2086  # SMOKE_SET: --set pairs without spaces
  params=$("$LMLAB" train --config "configs/moe/$(cfg $c)" $SMOKE_SET --print-params)
  printf '| %s | %s | %s | %s |\n' "$c" "$(awk '/^total_params/ {print $2}' <<<"$params")" \
    "$(awk '/^active_params/ {print $2}' <<<"$params")" "$(cat "$RUNS/moe/$c/train.done")"
done

runs=$(for c in $CONFIGS; do printf '%s/moe/%s,' "$RUNS" "$c"; done)
echo; echo "whole validation split"
# shellcheck disable=SC2086  # EVAL_LIMIT is "" or "--limit N"
"$LMLAB" eval --checkpoint "${runs%,}" --tasks val $EVAL_LIMIT --output "$RUNS/moe/eval_val.json"
routed=""
for c in $CONFIGS; do
  case $c in smoe_share|smoe_top3|fine_grained|topp|cartesian|maskmoe) routed+="$RUNS/moe/$c," ;; esac
done
if [ -n "$routed" ]; then
  echo; echo "whole validation split, each token's top-1 expert disabled"
  # shellcheck disable=SC2086
  "$LMLAB" eval --checkpoint "${routed%,}" --tasks val $EVAL_LIMIT --set model.ffn.disable_top1=true \
    --output "$RUNS/moe/eval_val_no_top1.json"
fi
