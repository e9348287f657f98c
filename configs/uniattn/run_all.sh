#!/usr/bin/env bash
# UniAttn against standard post-training, softmax unification without W_c, and cross-layer KV
# sharing (CLA) (docs/uniattn.md). One 8-layer base pre-trained on mix-b, then per seed:
#   plain     configs/uniattn/sft.toml from the base
#   softmax   + SuperBlock {4..7} sharing its first layer's softmax, no W_c (one stage)
#   cla       + SuperBlock {4..7} sharing its first layer's K/V (no wk/wv in layers 5-7)
#   uniattn   `lmlab uniattn init` (closed-form W_c, once), stage 1 = W_c only (30 steps),
#             stage 2 = everything (the baselines' 60 steps)
# Each is scored by its held-out response loss (the sft task's val_loss), zero-shot piqa /
# arc_easy / copa (`lmlab eval`, first 200 items) and build/bench/uniattn_bench (decode tokens/s,
# prefill, KV bytes per token; UniAttn also as released). Finished runs are kept.
#   configs/uniattn/run_all.sh [--smoke]
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
BENCH=${BENCH:-build/bench/uniattn_bench}
source configs/smoke.sh
R=$RUNS/uniattn
RESULTS=docs/results/uniattn
TOKENIZER=data/mix-sources/bpe4096.json
SFT_SET=""
ZS_LIMIT="--limit 200"
S1_STEPS=30
INIT_SIZE="--samples 256 --seq-len 32"  # T / d = 1/4, as the paper's 1024 / 4096
BENCH_SIZE="--prompt 128 --new 64 --repeats 3"
if [ "$SMOKE" = 1 ]; then
  RESULTS=$R/results
  TOKENIZER=data/smoke-bpe512.json
  SFT_SET="$SMOKE_SET --set data.seq_len=128 --set eval.every=0 --set task.sft.val_fraction=0.02"
  ZS_LIMIT="--limit 16"
  S1_STEPS=8
  INIT_SIZE="--samples 32 --seq-len 64"
  BENCH_SIZE="--prompt 32 --new 16 --repeats 1"
fi
prepare_data mix-b
mkdir -p "$R" "$RESULTS"
LAYOUT="--set model.attention.unify_group=4 --set model.attention.unify_begin=4"
SFT="configs/uniattn/sft.toml --set data.tokenizer=$TOKENIZER $SFT_SET"

echo "configs/uniattn/base.toml --set run.out_dir=$R/base $SMOKE_SET" | configs/train_queue.sh
if [ ! -f "$R/uniattn-init/checkpoints/latest" ]; then
  # shellcheck disable=SC2086
  "$LMLAB" uniattn init --checkpoint "$R/base" --data ../shared/data/sft/alpaca/alpaca_5000.json $INIT_SIZE \
    $LAYOUT --output "$R/uniattn-init" | tee "$R/uniattn-init.txt"
fi
seeds="1 2 3"
for s in $seeds; do
  common="--set run.seed=$s"
  echo "$SFT $common --set train.init_from=$R/base --set run.out_dir=$R/plain-$s"
  echo "$SFT $common $LAYOUT --set train.init_from=$R/base --set run.out_dir=$R/softmax-$s"
  echo "$SFT $common $LAYOUT --set model.attention.share=kv --set train.init_from=$R/base --set run.out_dir=$R/cla-$s"
  uni="$SFT $common $LAYOUT --set model.attention.compensation=true"
  echo "$uni --set train.train_only=[\"*.wc.*\"] --set train.steps=$S1_STEPS --set train.init_from=$R/uniattn-init --set run.out_dir=$R/uniattn-s1-$s"
  echo "$uni --set train.init_from=$R/uniattn-s1-$s --set run.out_dir=$R/uniattn-$s"
done | configs/train_queue.sh

for s in $seeds; do
  runs=""
  for v in plain softmax cla uniattn; do runs+=" --run $v=$R/$v-$s"; done
  mkdir -p "$R/bench-$s"
  # shellcheck disable=SC2086
  "$BENCH" $runs $BENCH_SIZE --threads 2 --json-dir "$R/bench-$s"
  for v in plain softmax cla uniattn uniattn-released; do
    run=$R/${v%-released}-$s
    quality=(--metric "response_loss=@$run/metrics.jsonl:val_loss")
    if [ "$v" = uniattn-released ]; then
      quality=(--metric response_loss=null)  # the same weights and logits as uniattn
    else
      [ -f "$run/zeroshot.json" ] || "$LMLAB" eval --checkpoint "$run" --tasks piqa,arc_easy,copa $ZS_LIMIT \
        --output "$run/zeroshot.json" >/dev/null
    fi
    zs=()
    for t in piqa arc_easy copa; do
      if [ "$v" = uniattn-released ]; then zs+=(--metric "$t=null")
      else zs+=(--metric "$t=@$run/zeroshot.json:checkpoints.0.results.$t.acc"); fi
    done
    b=$R/bench-$s/$v.json
    "$LMLAB" results record --method uniattn --variant "$v" --seed "$s" --output "$RESULTS/$v-$s.json" \
      --settings "{\"layout\": \"g=4 b=4 e=8 of 8 layers\", \"smoke\": $SMOKE}" "${quality[@]}" "${zs[@]}" \
      --metric "decode_tok_per_s=@$b:decode_tokens_per_s" --metric "prefill_ms=@$b:prefill_ms" \
      --metric "kv_bytes_per_tok=@$b:kv_bytes_per_token" --metric "params=@$b:params" >/dev/null
  done
done
doc=""
[ "$SMOKE" = 1 ] || doc="--doc docs/uniattn.md"
# shellcheck disable=SC2086
"$LMLAB" results table "$RESULTS" --variants plain,softmax,cla,uniattn,uniattn-released $doc
