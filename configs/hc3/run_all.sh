#!/usr/bin/env bash
# HC3 Plus detection (docs/hc3.md): per language (en, zh) split the real HC3 data by question,
# train the four detectors (n-gram logistic regression; LM statistics under our own LM; the
# MLM-pre-trained encoder classifier; the instruction-tuned decoder, single template and
# majority vote) and score each on the semantic-invariant (si) and QA (qa) test files; one
# results JSON per (detector, file) in docs/results/hc3/, then one table. Finished trainings
# (train.done) and prepared data (done) are kept.
#   configs/hc3/run_all.sh [--smoke]      (--smoke: the same path at toy size into runs/smoke/)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
HC3=${LMLAB_DATA:-../shared/data}/hc3
# Sizes (texts per pool and side, chosen by hash): see docs/hc3.md.
MAX_TRAIN=3000; MAX_VAL=200; MAX_TEST=200; VOTE_MAX=25; VOCAB=2048
DATA=data/hc3; RESULTS=docs/results/hc3; TRAIN_SET=""
if [ "$SMOKE" = 1 ]; then
  MAX_TRAIN=150; MAX_VAL=30; MAX_TEST=30; VOTE_MAX=10; VOCAB=512
  DATA=data/smoke-hc3; RESULTS=$RUNS/hc3/results
  TRAIN_SET="--set train.steps=15 --set train.batch_size=4 --set eval.every=15 --set eval.windows=4"
fi

prepare() {  # lang si-inputs... -- qa-inputs...
  local lang=$1 d=$DATA/$1; shift
  [ -f "$d/done" ] && return 0
  local si=() qa=(); while [ "$1" != "--" ]; do si+=("$1"); shift; done; shift; qa=("$@")
  local sizes=(--max-train $MAX_TRAIN --max-val $MAX_VAL --max-test $MAX_TEST)
  "$LMLAB" detect split --input "${si[@]}" --output-prefix "$d/si" "${sizes[@]}"
  "$LMLAB" detect split --input "${qa[@]}" --output-prefix "$d/qa" "${sizes[@]}"
  for side in train val; do
    "$LMLAB" detect sft-data --input "$d/si.$side.jsonl" "$d/qa.$side.jsonl" --templates "configs/hc3/templates/$lang.jsonl" \
      --text-bytes "$(text_bytes "$lang")" --output "$d/sft.$side.jsonl"
  done
  (set +o pipefail; head -n 100 "$d/sft.val.jsonl" > "$d/sft.val100.jsonl")  # the SFT run's held-out loss
  # The SFT records join the tokenizer's input so the fixed prompt text is a few tokens, not bytes.
  "$LMLAB" tokenizer train --vocab-size $VOCAB --input "$d/si.train.txt" "$d/qa.train.txt" "$d/sft.train.jsonl" --output "$d/bpe.json"
  "$LMLAB" data prepare --tokenizer "$d/bpe.json" --doc-split line --input "$d/si.train.txt" "$d/qa.train.txt" \
    --val-input "$d/si.val.txt" "$d/qa.val.txt" --output "$d/lm"
  touch "$d/done"
}
text_bytes() { if [ "$1" = zh ]; then echo 240; else echo 400; fi; }
seconds() { cat "$1/train.done"; }

run_language() {
  local lang=$1 d=$DATA/$1 r=$RUNS/hc3/$1 c=$RUNS/hc3/$1/configs
  mkdir -p "$c"
  # The shipped configs name en paths; each language gets a copy with its own paths. Chinese
  # has no spaces, so whole-word masking would mask whole lines (or nothing: a NaN loss).
  local whole_word=true; [ "$lang" = zh ] && whole_word=false
  for f in configs/hc3/*.toml; do
    sed -e "s#data/hc3/en/#$d/#g; s#runs/hc3/en/#$r/#g; s#templates/en.jsonl#templates/$lang.jsonl#" \
      -e "s#^text_bytes = .*#text_bytes = $(text_bytes "$lang")#; s#^whole_word = .*#whole_word = $whole_word#" \
      "$f" > "$c/$(basename "$f")"
  done
  for cfg in lm mlm classify sft; do echo "$c/$cfg.toml $TRAIN_SET"; done | configs/train_queue.sh
  "$LMLAB" detect train --config "$c/ngram.toml"
  "$LMLAB" detect train --config "$c/lm_stats.toml" --set detect.base_train_seconds="$(seconds "$r/lm")"
  "$LMLAB" detect train --config "$c/lm_stats.toml" --set detect.base_train_seconds="$(seconds "$r/lm")" \
    --set detect.out_dir="$r/lm_logrank" --set detect.lm_stats.statistic=logrank
  "$LMLAB" detect train --config "$c/encoder.toml" --set detect.base_train_seconds=$(( $(seconds "$r/mlm") + $(seconds "$r/classify") ))
  local instruct_s=$(( $(seconds "$r/lm") + $(seconds "$r/sft") ))
  "$LMLAB" detect train --config "$c/instruct.toml" --set detect.base_train_seconds=$instruct_s
  "$LMLAB" detect train --config "$c/instruct.toml" --set detect.base_train_seconds=$instruct_s \
    --set detect.out_dir="$r/instruct_vote" --set detect.instruct.vote=true
  for det in ngram lm_loglik lm_logrank encoder instruct instruct_vote; do
    local limit=""; [ "$det" = instruct_vote ] && limit="--max $VOTE_MAX"
    # shellcheck disable=SC2086  # limit is "" or "--max N"
    "$LMLAB" detect eval --checkpoint "$r/$det" --data "$d/si.test.jsonl" "$d/qa.test.jsonl" $limit \
      --output "$r/$det/eval.json" --results-dir "$RESULTS" --variant "$det" --group-prefix "$lang/"
  done
}

start=$(date +%s)
prepare en "$HC3/hc3_plus/en/val_hc3_si.jsonl" -- "$HC3/hc3_official/en/open_qa.jsonl" "$HC3/hc3_official/en/medicine.jsonl"
prepare zh "$HC3/hc3_plus/zh/val_hc3_si.jsonl" "$HC3/hc3_plus/zh/test_hc3_si.jsonl" -- "$HC3/hc3_plus/zh/val_hc3_QA.jsonl"
run_language en
run_language zh
echo "hc3: $(( $(date +%s) - start )) s in all"
doc=(); [ "$SMOKE" = 0 ] && doc=(--doc docs/hc3.md)
"$LMLAB" results table "$RESULTS" --metrics acc,f1_model,auroc,train_s,params "${doc[@]}"
