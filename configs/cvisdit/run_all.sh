#!/usr/bin/env bash
# Few-shot unsupervised domain adaptation on digits (docs/cvisdit.md): source only vs PCS vs
# C-VisDiT, plus X-VD alone and I-VD alone, on MNIST->USPS, USPS->MNIST and MNIST->optdigits,
# 1 and 3 labelled source shots per class, 3 seeds. Target accuracy of the best epoch (the
# paper's protocol: selected on the target test set) and of the last epoch (honest protocol).
#   configs/cvisdit/run_all.sh [--smoke] [--set key=value ...]   (extra arguments go to every
#   `lmlab train`; --smoke: the same grid at toy size: 200 images per domain, 2 epochs, 1 seed)
# Two runs train at a time, one thread each. A run that already finished (train.done) is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LMLAB=${LMLAB:-build/tools/lmlab}
source configs/smoke.sh
V=../shared/data/vision
declare -A SRC=([mnist-usps]=$V/mnist/train-images-idx3-ubyte.gz [usps-mnist]=$V/usps/usps-train-images-idx3-float32.gz
                [mnist-optdigits]=$V/mnist/train-images-idx3-ubyte.gz)
declare -A TGT=([mnist-usps]=$V/usps/usps-train-images-idx3-float32.gz [usps-mnist]=$V/mnist/train-images-idx3-ubyte.gz
                [mnist-optdigits]=$V/optdigits/digits.csv.gz)
declare -A NAME=([mnist-usps]=MNIST-\>USPS [usps-mnist]=USPS-\>MNIST [mnist-optdigits]=MNIST-\>optdigits)
PAIRS=${PAIRS:-mnist-usps usps-mnist mnist-optdigits}
METHODS=${METHODS:-source_only pcs cvisdit xvd_only ivd_only}
SEEDS=${SEEDS:-1 2 3}
SIZE=""
if [ "$SMOKE" = 1 ]; then
  SEEDS=${SMOKE_SEEDS:-1}
  SIZE="--set task.fuda.max_source=200 --set task.fuda.max_target=200 --set train.epochs=2 --set task.fuda.kmeans_repeats=1"
fi
OUT=docs/results/cvisdit
[ "$SMOKE" = 1 ] && OUT=$RUNS/cvisdit/results

lines=$(for pair in $PAIRS; do for shots in 1 3; do for method in $METHODS; do for seed in $SEEDS; do
  run=$RUNS/cvisdit/$pair-${shots}shot-$method-s$seed
  echo "configs/cvisdit/base.toml --set task.fuda.source=${SRC[$pair]} --set task.fuda.target=${TGT[$pair]}" \
       "--set task.fuda.group=${NAME[$pair]}/$shots-shot --set task.fuda.shots=$shots --set task.fuda.method=$method --set run.seed=$seed --set run.out_dir=$run $SIZE $*"
done; done; done; done)
mkdir -p "$RUNS"
start=$(date +%s)
# Two queues side by side (every other line), one thread each: small CNNs use 2 cores better so.
for half in 0 1; do
  awk -v h=$half 'NR % 2 == h' <<<"$lines" | OMP_NUM_THREADS=1 configs/train_queue.sh >"$RUNS/cvisdit-queue-$half.log" 2>&1 &
done
wait
echo "trained in $(( $(date +%s) - start )) s (logs: $RUNS/cvisdit-queue-{0,1}.log)"

# Each run's fuda_result.json (group = pair/shots, variant = method) is one results file.
mkdir -p "$OUT"
for pair in $PAIRS; do for shots in 1 3; do for method in $METHODS; do for seed in $SEEDS; do
  name=$pair-${shots}shot-$method-s$seed
  cp "$RUNS/cvisdit/$name/fuda_result.json" "$OUT/$name.json"
done; done; done; done
DOC=""
[ "$SMOKE" = 0 ] && DOC="--doc docs/cvisdit.md"
# shellcheck disable=SC2086  # DOC is "" or "--doc FILE"
"$LMLAB" results table "$OUT" --metrics best_acc,last_acc $DOC
