#!/usr/bin/env bash
# CPU training throughput: `lmlab train` next to the same model in plain PyTorch eager
# (bench/gpt2_reference.py) on the same libtorch and token shard, one after the other.
#   bench/train_cpu_bench.sh [build-dir] [data-dir]
# Default model: configs/quickstart.toml (LLaMA-style, 4 x 128, T = 128, batch 16, fp32) on a
# prepared shard directory (default data/tinystories from configs/prepare_data.sh).
# Needs Debian's python3-torch (1.13, the same libtorch lmlab links) for the reference.
# lmlab: 60 steps, the first logging interval of 10 excluded; reference: 10 warm-up + 50 timed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${2:-data/tinystories}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f "$data/meta.json" ] || { echo "bench: $data/meta.json missing (bash configs/prepare_data.sh)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "bench: no torch for /usr/bin/python3 (apt-get install python3-torch)" >&2; exit 2; }
vocab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$data/meta.json")
# Threads: both run in the caller's environment. Setting OMP_NUM_THREADS=2 and
# OPENBLAS_NUM_THREADS=2 together halves both on 2 cores (OpenMP and OpenBLAS oversubscribe).
echo "machine: $(nproc --all) cores, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

LMLAB_PROGRESS=plain "$build/tools/lmlab" train --config configs/quickstart.toml \
  --set data.dir="$data" --set run.out_dir="$work/run" --set train.steps=60 --set train.max_minutes=0 \
  --set train.log_every=10 --set eval.every=100000 --set train.checkpoint_every=100000 >"$work/lmlab.log" 2>&1
/usr/bin/python3 bench/gpt2_reference.py --arch llama --n-layer 4 --n-head 4 \
  --d-model 128 --vocab "$vocab" --seq-len 128 --batch 16 --no-bias --fp32 --modes eager --device cpu \
  --steps 50 --warmup 10 --data "$data/train.bin" --header-bytes 32 --out "$work/ref.jsonl" >"$work/ref.log" 2>&1

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
steps = [json.loads(l) for l in open(f"{w}/run/metrics.jsonl") if '"tokens_per_s"' in l]
timed = [s for s in steps if s["step"] > 10]
print(f"{'implementation':<34}{'tokens/s':>10}{'params':>12}")
print(f"{'lmlab train (libtorch)':<34}{sum(s['tokens_per_s'] for s in timed) / len(timed):>10,.0f}{'':>12}")
for l in open(f"{w}/ref.jsonl"):
    r = json.loads(l)
    print(f"{r['impl'] + ' ' + r['torch']:<34}{r['tokens_per_s']:>10,.0f}{r['params']:>12,}")
PY
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
