#!/usr/bin/env bash
# Dial-MAE vs its baselines (docs/dialmae.md). One small encoder (configs/dialmae/*.toml), the
# built LIMA + HC3 + Alpaca response-selection set (lmlab data rsel-build), 3 seeds of:
#   none           no post-training: the retriever's towers start from the random init
#   mlm            post-trained with plain MLM on [CLS] context [SEP] response [SEP]
#   dialmae        post-trained with Dial-MAE (encoder 0.30, decoder 0.75, 1 decoder layer)
#   dialmae-dec45  ablation: decoder mask ratio 0.45
#   dialmae-dec2l  ablation: 2 decoder layers
# each fine-tuned identically (finetune.toml), then scored on the built test split and on the
# real Ubuntu V1 and E-commerce samples. Runs that already finished (train.done) are kept.
#   configs/dialmae/run_all.sh [--smoke]      (--smoke: the same at toy size, configs/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
SRC=${LMLAB_DATA:-../shared/data}
SEEDS="1 2 3"
if [ "$SMOKE" = 1 ]; then
  D=data/smoke-dialmae VOCAB=512 RES=$RUNS/dialmae/results
  BUILD="--max-dialogues 400 --valid-dialogues 40 --test-dialogues 40"
  SMOKE_SET+=" --set train.batch_size=16 --set train.steps=20 --set data.seq_len=48 --set eval.every=0"
else
  D=data/dialmae VOCAB=2048 RES=docs/results/dialmae
  BUILD="--valid-dialogues 300 --test-dialogues 500"
fi

# 1. The response-selection set and a BPE tokenizer on its positive training dialogues.
if [ ! -f "$D/rsel/meta.json" ]; then
  # shellcheck disable=SC2086  # BUILD is a list of options
  "$LMLAB" data rsel-build --lima "$SRC/sft/lima/lima.json" --alpaca "$SRC/sft/alpaca/alpaca_5000.json" \
    --hc3 "$SRC/hc3/hc3_official/en/open_qa.jsonl" "$SRC/hc3/hc3_official/en/medicine.jsonl" $BUILD --output "$D/rsel"
fi
if [ ! -f "$D/bpe.json" ]; then
  awk -F'\t' '$1 == 1' "$D/rsel/train.tsv" | cut -f2- | tr '\t' '\n' > "$D/train-text.txt"
  "$LMLAB" tokenizer train --vocab-size "$VOCAB" --input "$D/train-text.txt" --output "$D/bpe.json"
fi
DATA_SET="--set data.tokenizer=$D/bpe.json --set data.train_files=[\"$D/rsel/train.tsv\"] --set data.eval_files=[\"$D/rsel/valid.tsv\"]"

# 2. Post-training, then fine-tuning of every variant.
post_args() {  # variant -> the task.dialmae settings of its post-training
  case "$1" in
    mlm) echo "--set task.dialmae.objective=mlm" ;;
    dialmae) echo "" ;;
    dialmae-dec45) echo "--set task.dialmae.decoder_mask_ratio=0.45" ;;
    dialmae-dec2l) echo "--set task.dialmae.decoder_layers=2" ;;
  esac
}
VARIANTS="none mlm dialmae dialmae-dec45 dialmae-dec2l"
for v in $VARIANTS; do
  for seed in $SEEDS; do
    [ "$v" = none ] && continue
    echo "configs/dialmae/posttrain.toml $(post_args "$v") --set run.seed=$seed --set run.out_dir=$RUNS/dialmae/post-$v-$seed $DATA_SET $SMOKE_SET"
  done
done | configs/train_queue.sh
for v in $VARIANTS; do
  for seed in $SEEDS; do
    init=""
    [ "$v" != none ] && init="--set train.init_from=$RUNS/dialmae/post-$v-$seed"
    echo "configs/dialmae/finetune.toml $init --set run.seed=$seed --set run.out_dir=$RUNS/dialmae/ft-$v-$seed $DATA_SET $SMOKE_SET"
  done
done | configs/train_queue.sh

# 3. Every retriever on the built test split and the real samples: one results JSON per run and file.
for v in $VARIANTS; do
  for seed in $SEEDS; do
    post=none
    [ "$v" != none ] && post=$RUNS/dialmae/post-$v-$seed
    "$LMLAB" retrieve eval --checkpoint "$RUNS/dialmae/ft-$v-$seed" "$D/rsel/test.tsv" \
      "$SRC/dialogue/ubuntu_v1_sample/test.txt" "$SRC/dialogue/ecommerce_sample/test.txt" \
      --results-dir "$RES" --variant "$v" --seed "$seed" --setting "post_train=$post" \
      --setting "post_train_s=$(cat "$post/train.done" 2>/dev/null || echo 0)" \
      --setting "finetune_s=$(cat "$RUNS/dialmae/ft-$v-$seed/train.done")" > /dev/null
  done
done
DOC=""
[ "$SMOKE" = 0 ] && DOC="--doc docs/dialmae.md"
# shellcheck disable=SC2086  # DOC is "" or "--doc FILE"
"$LMLAB" results table "$RES" --metrics r10_1,r10_2,r10_5,mrr,r2_1 --variants "${VARIANTS// /,}" $DOC
