#!/usr/bin/env bash
# CPU training throughput: `lmlab train` next to the same model in plain PyTorch eager
# (bench/gpt2_reference.py) on the same libtorch and token shard, interleaved A B A B.
#   bench/train_cpu_bench.sh [build-dir] [data-dir] [rounds]
# Default model: configs/quickstart.toml (LLaMA-style, 4 x 128, T = 128, batch 16, fp32) on a
# prepared shard directory (default data/tinystories from configs/prepare_data.sh), 5 rounds.
# Needs Debian's python3-torch (1.13, the same libtorch lmlab links) for the reference.
# Each run: 60 steps, the first 10 excluded (lmlab: its first logging interval; reference: 10
# warm-up steps), tokens/s over the other 50. Prints every run, the medians and their ratio.
#
# Threads, the same on both sides: lmlab runs with its default plan (src/lmlab/train/cpu_threads.h:
# intra-op threads = cores, OpenBLAS as many, OMP_WAIT_POLICY=PASSIVE) in the caller's
# environment, and prints it ("threads: 2 intra-op (2 cores), OpenBLAS 2"); the reference is
# given exactly that: torch.set_num_threads(N), OPENBLAS_NUM_THREADS=M and, when N > 1,
# OMP_WAIT_POLICY=PASSIVE (without it the two pools fight and both sides run at half speed).
# The ratio is against that run. A third run per round, PyTorch with its own defaults in the
# caller's environment (on this VM: 1 intra-op thread, OpenBLAS on every core), shows what a
# user of plain PyTorch gets; it is printed, not the ratio's denominator.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${2:-data/tinystories}
rounds=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f "$data/meta.json" ] || { echo "bench: $data/meta.json missing (bash configs/prepare_data.sh tinystories)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "bench: no torch for /usr/bin/python3 (apt-get install python3-torch)" >&2; exit 2; }
vocab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$data/meta.json")
echo "machine: $(nproc) cores ($(nproc --all) online), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "environment: LMLAB_THREADS=${LMLAB_THREADS:-unset} OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}" \
     "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

run_lmlab() {  # $1 = round
  LMLAB_PROGRESS=plain "$build/tools/lmlab" train --config configs/quickstart.toml \
    --set data.dir="$data" --set run.out_dir="$work/run$1" --set train.steps=60 --set train.max_minutes=0 \
    --set train.log_every=10 --set eval.every=100000 --set eval.windows=16 \
    --set train.checkpoint_every=100000 >"$work/lmlab$1.log" 2>&1 || { cat "$work/lmlab$1.log" >&2; exit 1; }
  rm -rf "$work/run$1/checkpoints"
}
reference() {  # $1 = output name, then VAR=value ... -- extra arguments
  local name=$1 vars=()
  shift
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env ${vars[@]+"${vars[@]}"} /usr/bin/python3 bench/gpt2_reference.py "$@" --arch llama --n-layer 4 --n-head 4 \
    --d-model 128 --vocab "$vocab" --seq-len 128 --batch 16 --no-bias --fp32 --modes eager --device cpu \
    --steps 50 --warmup 10 --data "$data/train.bin" --header-bytes 32 \
    --out "$work/$name.jsonl" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
}
run_reference() {  # $1 = round; lmlab's threads (from its first run), then PyTorch's defaults
  reference "ref$1" OPENBLAS_NUM_THREADS="$blas" ${passive:+OMP_WAIT_POLICY=PASSIVE} -- --threads "$intra"
  reference "def$1" --
}

for r in $(seq 1 "$rounds"); do
  run_lmlab "$r"
  if [ "$r" = 1 ]; then
    line=$(grep -m1 '^threads: ' "$work/lmlab1.log") || { echo "bench: lmlab printed no threads line" >&2; exit 1; }
    intra=$(sed -E 's/^threads: ([0-9]+) intra-op.*/\1/' <<<"$line")
    blas=$(sed -nE 's/.*OpenBLAS ([0-9]+).*/\1/p' <<<"$line")
    blas=${blas:-$intra}
    passive=$([ "$intra" -gt 1 ] && echo 1 || true)
    echo "lmlab: $line"
    echo "reference: torch.set_num_threads($intra), OPENBLAS_NUM_THREADS=$blas, OMP_WAIT_POLICY=$([ -n "$passive" ] && echo PASSIVE || echo unset)"
  fi
  run_reference "$r"
  echo "round $r done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
w, rounds = sys.argv[1], int(sys.argv[2])
def lmlab_rate(r):
    steps = [json.loads(l) for l in open(f"{w}/run{r}/metrics.jsonl") if '"tokens_per_s"' in l]
    timed = [s for s in steps if s["step"] > 10]
    # tokens over time: each line covers the 10 steps before it at its rate
    tokens = [b["tokens"] - a["tokens"] for a, b in zip(steps, steps[1:]) if b["step"] > 10]
    return sum(tokens) / sum(t / s["tokens_per_s"] for t, s in zip(tokens, timed)), timed[-1]["mfu"]
rows = []
for r in range(1, rounds + 1):
    ours, mfu = lmlab_rate(r)
    ref = json.loads(open(f"{w}/ref{r}.jsonl").readline())
    default = json.loads(open(f"{w}/def{r}.jsonl").readline())
    rows.append((ours, ref["tokens_per_s"], default["tokens_per_s"]))
    print(f"round {r}: lmlab {ours:>7,.0f} tokens/s (mfu {100 * mfu:.1f}%) | pytorch-eager, same threads "
          f"{ref['tokens_per_s']:>7,.0f} | pytorch-eager, its defaults ({default['threads']} thread) "
          f"{default['tokens_per_s']:>7,.0f} | ratio {ours / ref['tokens_per_s']:.2f}")
a, b, c = (statistics.median(x[i] for x in rows) for i in range(3))
print(f"median of {rounds}: lmlab {a:,.0f} tokens/s; pytorch-eager ({ref['torch']}, {ref['params']:,} params) "
      f"with lmlab's threads ({ref['threads']}) {b:,.0f}, with its defaults {c:,.0f}")
print(f"ratio lmlab / pytorch-eager, same threads: {a / b:.2f}x (per-round {min(x[0] / x[1] for x in rows):.2f}-"
      f"{max(x[0] / x[1] for x in rows):.2f}); against pytorch-eager's defaults: {a / c:.2f}x")
PY
grep -m1 '^mfu peak: ' "$work/lmlab1.log" | sed 's/^/lmlab /'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
