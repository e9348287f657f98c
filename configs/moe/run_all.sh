#!/usr/bin/env bash
# The MoE experiments of docs/moe.md at CPU scale, on WikiText-2 (BPE 4096):
#  1. the CartesianMoE paper's comparison: the 8 configs of Table 1 at equal total and active
#     parameters (dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe);
#  2. Finedeep vs the same dense model (perplexity and near-zero activation share);
#  3. DSMoE as continued pre-training of the dense run, against 500 more dense steps.
# Then scores every run on the whole WikiText-2 validation split (`lmlab eval --tasks val`),
# and the routed models again with each token's top-1 expert disabled (robustness test).
#   configs/moe/run_all.sh [--set key=value ...]      (extra arguments go to every `lmlab train`)
# A run that already finished (runs/moe/<name>/train.done, holding its wall time) is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
cfg() { case $1 in finedeep|dense_continued|dsmoe_from_dense) echo "dense_split/$1.toml" ;; *) echo "$1.toml" ;; esac; }
CONFIGS=${CONFIGS:-dense smoe_share smoe_top3 hash fine_grained topp cartesian maskmoe finedeep dense_continued dsmoe_from_dense}
configs/prepare_data.sh wikitext-2
for c in $CONFIGS; do echo "configs/moe/$(cfg "$c") $*"; done | configs/train_queue.sh

echo; echo "parameters (lmlab train --print-params) and training wall time"
printf '| config | total params | active params | train time (s) |\n|---|---|---|---|\n'
for c in $CONFIGS; do
  params=$("$LMLAB" train --config "configs/moe/$(cfg $c)" --print-params)
  printf '| %s | %s | %s | %s |\n' "$c" "$(awk '/^total_params/ {print $2}' <<<"$params")" \
    "$(awk '/^active_params/ {print $2}' <<<"$params")" "$(cat "runs/moe/$c/train.done")"
done

runs=$(for c in $CONFIGS; do printf 'runs/moe/%s,' "$c"; done)
echo; echo "whole validation split"
"$LMLAB" eval --checkpoint "${runs%,}" --tasks val --output runs/moe/eval_val.json
routed=""
for c in $CONFIGS; do
  case $c in smoe_share|smoe_top3|fine_grained|topp|cartesian|maskmoe) routed+="runs/moe/$c," ;; esac
done
if [ -n "$routed" ]; then
  echo; echo "whole validation split, each token's top-1 expert disabled"
  "$LMLAB" eval --checkpoint "${routed%,}" --tasks val --set model.ffn.disable_top1=true \
    --output runs/moe/eval_val_no_top1.json
fi
