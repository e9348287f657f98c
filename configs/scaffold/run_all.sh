#!/usr/bin/env bash
# Scaffold-BPE vs BPE, the paper's experiment at our scale (docs/tokenizer.md, issue 20.1): a BPE
# and a Scaffold-BPE tokenizer at each vocabulary size of VOCABS, trained on the same corpus (the
# TinyStories train slice; GPT-2 pre-tokenizer with single digits, as the paper), the data prepared
# with each, and the same model (configs/scaffold/base.toml) trained on each with each seed of
# SEEDS on the same number of training BYTES: steps = BYTES / (bytes/token of that tokenizer's
# training shard x tokens per step), so a tokenizer that compresses better takes fewer steps.
# Every run is scored on held-out text no tokenizer saw (the first 1000 TinyStories validation
# stories, lower-cased): bits per byte and token-level perplexity (`lmlab eval --tasks ppl`, the
# whole text), and zero-shot accuracy on the first ZS_LIMIT items of each task of ZS_TASKS. Each
# tokenizer is measured on the same held-out text (`lmlab tokenizer stats`): bytes/token and the
# share of its vocabulary used fewer than 10 times (rare_share, never-used ones included) or never
# (unused_share). One result file per run goes to docs/results/scaffold/ (runs/smoke/scaffold/
# results with --smoke) and the table in docs/tokenizer.md is regenerated from them.
# Runs that already finished (train.done) and data already prepared (meta.json) are kept.
#   configs/scaffold/run_all.sh [--smoke]      (--smoke: the same at toy size, configs/smoke.sh)
# QUEUES runs (default 2) train and are evaluated side by side, one thread each (small models use
# 2 cores better so).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
SEEDS=${SEEDS:-1337 1 2}
QUEUES=${QUEUES:-2}
VOCABS=${VOCABS:-1024 4096}
BYTES=${BYTES:-1600000}  # training bytes per run (0.38 of the 4.2 MB corpus; see docs/tokenizer.md)
ZS_TASKS=${ZS_TASKS:-lambada,hellaswag,piqa,winogrande,arc_easy}
ZS_LIMIT=${ZS_LIMIT:-300}
BATCH=16 SEQ=128  # configs/scaffold/base.toml's tokens per step
TRAIN_TEXT=${LMLAB_DATA:-../shared/data}/lm/tinystories/tinystories_train_slice_lowercased.txt
HELD_OUT=data/tinystories-valid-lower.txt
DATA=data/scaffold
RES=docs/results/scaffold
if [ "$SMOKE" = 1 ]; then
  SEEDS=${SMOKE_SEEDS:-1 2}  # two seeds: the table keeps its sd
  VOCABS=${SMOKE_VOCABS:-384 512}
  BYTES=${SMOKE_BYTES:-15000}
  ZS_LIMIT=8
  BATCH=4 SEQ=64  # SMOKE_SET's
  TRAIN_TEXT=data/smoke-sources/train.txt HELD_OUT=data/smoke-sources/valid.txt
  DATA=data/smoke-scaffold RES=$RUNS/scaffold/results
fi
ALGOS="bpe scaffold"
prepare_data tinystories  # the lower-cased validation stories (and, with --smoke, the toy corpus)

# Tokenizer NAME=ALGO-N in $DATA/NAME: trained, measured on the held-out text, data prepared.
prepare_tokenizer() {  # $1 algo, $2 vocab size
  local dir=$DATA/$1-$2
  [ -f "$dir/meta.json" ] && return 0
  mkdir -p "$DATA"
  "$LMLAB" tokenizer train --algo "$1" --vocab-size "$2" --split-digits --input "$TRAIN_TEXT" \
    --output "$DATA/$1-$2.tokenizer.json" >/dev/null
  "$LMLAB" tokenizer stats --tokenizer "$DATA/$1-$2.tokenizer.json" --input "$HELD_OUT" >"$DATA/$1-$2.stats.txt"
  "$LMLAB" data prepare --tokenizer "$DATA/$1-$2.tokenizer.json" --doc-split file --input "$TRAIN_TEXT" \
    --val-input "$HELD_OUT" --output "$dir" >/dev/null
}
# Bytes per token of a tokenizer's training shard: corpus bytes / train.bin tokens (meta.json).
train_bytes_per_token() {  # $1 data dir
  local tokens
  tokens=$(tr -d ' \n' <"$1/meta.json" | sed -n 's/.*"train":{[^}]*"tokens":\([0-9]*\).*/\1/p')
  awk -v b="$(wc -c <"$TRAIN_TEXT")" -v t="$tokens" 'BEGIN {printf "%.4f", b / t}'
}
steps_for() {  # $1 data dir: the steps that train on BYTES bytes
  awk -v B="$BYTES" -v bpt="$(train_bytes_per_token "$1")" -v n=$((BATCH * SEQ)) \
    'BEGIN {s = int(B / (bpt * n) + 0.5); print (s < 1 ? 1 : s)}'
}
for n in $VOCABS; do for a in $ALGOS; do prepare_tokenizer "$a" "$n"; done; done

# "NAME=VALUE" from the tokenizer's held-out stats: bytes/token, rare and unused shares, |S|.
stats_metrics() {  # $1 stats file
  awk '/^vocab size/ {v = $3} /^scaffold/ && !/standalone/ {s = $3}
       /^input/ {for (i = 1; i <= NF; ++i) if ($i == "bytes/token") bpt = $(i - 1)}
       /^low frequency/ {rare = $3; unused = $(NF - 2)}
       END {printf "heldout_bytes_per_token=%s rare_share=%.4f unused_share=%.4f scaffold_tokens=%s\n",
            bpt, (rare + unused) / v, unused / v, s}' "$1"
}
zs_metrics() {  # $1 eval json: NAME=@FILE:KEY for each task's acc
  local t
  for t in ${ZS_TASKS//,/ }; do echo "--metric ${t}_acc=@$1:checkpoints.0.results.$t.acc"; done
}
evaluate() {  # $1 run dir: held-out perplexity, zero-shot tasks
  local ppl=$1/eval_heldout.json zs=$1/eval_zero_shot.json
  # shellcheck disable=SC2086  # EVAL_LIMIT is "" or "--limit N"
  [ -f "$ppl" ] || "$LMLAB" eval --checkpoint "$1" --tasks ppl --ppl-file "$HELD_OUT" $EVAL_LIMIT --output "$ppl" >/dev/null
  [ -f "$zs" ] || "$LMLAB" eval --checkpoint "$1" --tasks "$ZS_TASKS" --limit "$ZS_LIMIT" --output "$zs" >/dev/null
}
record() {  # $1 algo, $2 vocab size, $3 seed
  local run=$RUNS/scaffold/$1-$2-$3 m metrics=()
  for m in $(stats_metrics "$DATA/$1-$2.stats.txt"); do metrics+=(--metric "$m"); done
  # shellcheck disable=SC2046  # zs_metrics prints --metric pairs without spaces
  "$LMLAB" results record --method scaffold --variant "$1-$2" --seed "$3" --output "$RES/$1-$2-s$3.json" \
    --settings "{\"algo\": \"$1\", \"vocab_size\": $2, \"train_bytes\": $BYTES, \"zero_shot_limit\": $ZS_LIMIT, \"checkpoint\": \"$run\"}" \
    --metric "bits_per_byte=@$run/eval_heldout.json:checkpoints.0.results.ppl.bits_per_byte" \
    --metric "token_ppl=@$run/eval_heldout.json:checkpoints.0.results.ppl.perplexity" "${metrics[@]}" \
    $(zs_metrics "$run/eval_zero_shot.json") --metric "train_bytes_per_token=$(train_bytes_per_token "$DATA/$1-$2")" \
    --metric "steps=$(steps_for "$DATA/$1-$2")" --metric "train_s=$(cat "$run/train.done")" >/dev/null
}
mkdir -p "$RUNS/scaffold" "$RES"
lines=() runs=()
for seed in $SEEDS; do
  for n in $VOCABS; do
    for a in $ALGOS; do
      runs+=("$RUNS/scaffold/$a-$n-$seed")
      lines+=("configs/scaffold/base.toml $SMOKE_SET --set data.dir=$DATA/$a-$n --set train.steps=$(steps_for "$DATA/$a-$n") --set run.seed=$seed --set run.out_dir=${runs[-1]}")
    done
  done
done
# QUEUES queues side by side, one thread each: queue q trains and then evaluates runs q, q + QUEUES, ...
run_queue() {  # $1: q
  local i
  for ((i = $1; i < ${#runs[@]}; i += QUEUES)); do
    echo "${lines[i]}" | configs/train_queue.sh
    evaluate "${runs[i]}"
  done
}
pids=()
for ((q = 0; q < QUEUES; ++q)); do OMP_NUM_THREADS=1 run_queue $q >"$RUNS/scaffold/queue-$q.log" 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || { echo "a run failed: see $RUNS/scaffold/queue-*.log" >&2; exit 1; }; done
for seed in $SEEDS; do for n in $VOCABS; do for a in $ALGOS; do record "$a" "$n" "$seed"; done; done; done
echo; echo "mean ± sd over seeds $SEEDS (results: $RES)"
DOC=""
[ "$SMOKE" = 0 ] && DOC="--doc docs/tokenizer.md"
variants=$(for n in $VOCABS; do for a in $ALGOS; do printf '%s,' "$a-$n"; done; done)
zs_cols=$(for t in ${ZS_TASKS//,/ }; do printf '%s_acc,' "$t"; done)
# shellcheck disable=SC2086  # DOC is "" or "--doc FILE"
"$LMLAB" results table "$RES" --markdown $DOC --variants "${variants%,}" \
  --metrics "bits_per_byte,token_ppl,heldout_bytes_per_token,rare_share,unused_share,scaffold_tokens,${zs_cols}train_bytes_per_token,steps,train_s"
