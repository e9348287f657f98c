#!/usr/bin/env bash
# PYRA vs ToMe vs LoRA vs a smaller ViT (docs/pyra.md): pre-train a ViT (and a smaller one) on
# MNIST with `classify`, adapt both to USPS and optdigits with task `adapt` (LoRA uncompressed;
# ToMe + LoRA and PYRA at the low and high merge schedules; the smaller ViT + LoRA), 3 seeds;
# time every variant's batch inference side by side (bench/pyra_bench), write one result JSON
# per run to docs/results/pyra/ (runs/smoke/results/pyra with --smoke), print the table, plot
# accuracy against throughput. Runs that already finished (train.done) are kept.
#   configs/pyra/run_all.sh [--smoke]      (--smoke: the same path at toy size)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
BENCH=${PYRA_BENCH:-build/bench/pyra_bench}
source configs/smoke.sh
THREADS=2
SEEDS="1 2 3"
RESULTS=docs/results/pyra
PLOT=docs/pyra_acc_vs_throughput.png
PRE_SET=""
ADAPT_SET=""
BENCH_ARGS="--threads $THREADS --batch 256 --iters 3 --rounds 5"
if [ "$SMOKE" = 1 ]; then
  RESULTS=$RUNS/results/pyra
  PLOT=$RUNS/pyra/acc_vs_throughput.png
  PRE_SET="--set train.steps=20 --set train.warmup_steps=2 --set train.log_every=10"
  ADAPT_SET="--set train.epochs=1 --set task.adapt.train_range=[0,96] --set train.log_every=10"
  BENCH_ARGS="--threads $THREADS --batch 32 --iters 1 --rounds 1"
fi
R=$RUNS/pyra
# --smoke scores 200 records of each target's test part
smoke_eval() {
  if [ "$SMOKE" = 0 ]; then return; fi
  case "$1" in usps) echo "--set task.adapt.eval_range=[0,200]" ;; optdigits) echo "--set task.adapt.eval_range=[1000,1200]" ;; esac
}
SMALL="--set model.d_model=24 --set model.n_head=2"

# variant name | extra --set for `adapt` | pre-training run
variants() {
  echo "lora|--set model.vit.tome_schedule=none|pretrain"
  echo "tome_low|--set model.vit.tome_schedule=low|pretrain"
  echo "pyra_low|--set model.vit.tome_schedule=low --set model.vit.pyra=true|pretrain"
  echo "tome_high|--set model.vit.tome_schedule=high|pretrain"
  echo "pyra_high|--set model.vit.tome_schedule=high --set model.vit.pyra=true|pretrain"
  echo "small_lora|--set model.vit.tome_schedule=none $SMALL|pretrain_small"
}

{
  echo "configs/pyra/pretrain.toml --set run.out_dir=$R/pretrain $PRE_SET"
  echo "configs/pyra/pretrain.toml --set run.out_dir=$R/pretrain_small $SMALL $PRE_SET"
} | configs/train_queue.sh

for target in usps optdigits; do
  for seed in $SEEDS; do
    variants | while IFS='|' read -r name sets pre; do
      echo "configs/pyra/adapt_$target.toml $sets --set train.init_from=$R/$pre --set run.seed=$seed --set run.out_dir=$R/$target/$name-$seed $ADAPT_SET $(smoke_eval "$target")"
    done
  done
done | configs/train_queue.sh

# Throughput: one run per variant (the architecture, not the target, sets the cost).
bench_runs=""
while IFS='|' read -r name _ _; do bench_runs+=" $name=$R/usps/$name-1"; done < <(variants)
# shellcheck disable=SC2086  # BENCH_ARGS and bench_runs are space-separated words
"$BENCH" $BENCH_ARGS --json "$R/throughput.json" $bench_runs | tee "$R/throughput.txt"

# One result JSON per run.
mkdir -p "$RESULTS"
label() {
  case "$1" in
    lora) echo "LoRA (uncompressed)" ;; tome_low) echo "ToMe+LoRA low" ;; pyra_low) echo "PYRA low" ;;
    tome_high) echo "ToMe+LoRA high" ;; pyra_high) echo "PYRA high" ;; small_lora) echo "smaller ViT+LoRA" ;;
  esac
}
for target in usps optdigits; do
  for seed in $SEEDS; do
    while IFS='|' read -r name sets _; do
      run=$R/$target/$name-$seed
      jq -s 'map(select(has("val_loss"))) | last' "$run/metrics.jsonl" | jq --slurpfile tp "$R/throughput.json" \
        --arg variant "$(label "$name")" --arg name "$name" --arg group "$target" --arg sets "$sets" \
        --argjson seed "$seed" --argjson smoke "$SMOKE" '
        {method: "pyra", variant: $variant, group: $group, seed: $seed,
         settings: {run: $name, sets: $sets, smoke: ($smoke == 1), threads: $tp[0].threads, batch: $tp[0].batch,
                    tokens_per_layer: $tp[0].variants[$name].tokens, final_tokens: .final_tokens},
         metrics: {acc: (.acc * 100), images_per_s: $tp[0].variants[$name].images_per_s,
                   speedup: $tp[0].variants[$name].speedup, trainable_params: .trainable_params,
                   pyra_params: .pyra_params, pyra_params_paper: .pyra_params_paper}}' \
        > "$RESULTS/$target-$name-$seed.json.tmp"
      mv "$RESULTS/$target-$name-$seed.json.tmp" "$RESULTS/$target-$name-$seed.json"
    done < <(variants)
  done
done

DOC_ARG=""
if [ "$SMOKE" = 0 ]; then DOC_ARG="--doc docs/pyra.md"; fi
# shellcheck disable=SC2086  # DOC_ARG is "" or two words
order="LoRA (uncompressed),ToMe+LoRA low,PYRA low,ToMe+LoRA high,PYRA high,smaller ViT+LoRA"
"$LMLAB" results table "$RESULTS" --metrics acc,images_per_s,trainable_params,pyra_params --variants "$order" $DOC_ARG

# Accuracy (mean over seeds) against images/s, one series per target.
mkdir -p "$(dirname "$PLOT")"
for target in usps optdigits; do
  jq -s --arg g "$target" -r '
    map(select(.group == $g)) | group_by(.variant)[] |
    "\(.[0].metrics.images_per_s) \(map(.metrics.acc) | add / length) \"\(.[0].variant)\""' "$RESULTS"/*.json \
    > "$R/plot_$target.dat"
done
gnuplot <<EOF
set terminal pngcairo size 900,500 noenhanced
set output "$PLOT.tmp"
set title "Adapted ViT: accuracy vs inference throughput (CPU, $THREADS threads, mean of seeds)"
set xlabel "images/s (batch inference)"
set ylabel "test accuracy (%)"
set key bottom right
set grid
plot "$R/plot_usps.dat" using 1:2 with points pt 7 ps 1.5 title "USPS", \
     "" using 1:2:3 with labels offset 0,1 font ",8" notitle, \
     "$R/plot_optdigits.dat" using 1:2 with points pt 5 ps 1.5 title "optdigits", \
     "" using 1:2:3 with labels offset 0,-1 font ",8" notitle
EOF
mv "$PLOT.tmp" "$PLOT"
echo "plot: $PLOT"
