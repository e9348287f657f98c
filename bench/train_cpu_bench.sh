#!/usr/bin/env bash
# CPU training throughput: `lmlab train` next to the same model in plain PyTorch eager
# (bench/gpt2_reference.py) on the same libtorch and token shard, interleaved: A B in odd
# rounds, B A in even ones, so a drift of the machine's speed weighs on both sides alike.
#   bench/train_cpu_bench.sh [build-dir] [data-dir] [rounds] [steps]
# Default model: configs/quickstart.toml (LLaMA-style, 4 x 128, T = 128, batch 16, fp32) on a
# prepared shard directory (default data/tinystories from configs/prepare_data.sh), 5 rounds.
# Needs Debian's python3-torch (1.13, the same libtorch lmlab links) for the reference.
# Each run: 10 warm-up steps, then `steps` timed ones (default 160; 50 gave per-round ratios
# 0.94-1.30 on the quiet machine): lmlab's first logging interval of 10 is excluded, the
# reference runs --warmup 10. Prints every run, the medians, the ratio of the medians, the
# median of the per-round ratios and their range. BASELINE=dir (another build directory, e.g.
# of main) adds that lmlab to every round, next to this one, and prints this / baseline:
# one change measured in the same interleaving.
#
# No loss check: the reference draws its own init and its batches from torch's generator,
# so its loss sequence is not lmlab's at any seed. lmlab's numerics are pinned by
# tests/train/test_golden_lm.cpp and its attention and RoPE against the textbook ops by
# tests/model/test_layers.cpp.
#
# Cores, the same on both sides: lmlab runs with its default plan in the caller's environment and
# prints it: one process per core, each with one thread (src/lmlab/train/cpu_ranks.h: "cpu ranks:
# 2 processes x 8 of each batch of 16", "threads: 1 intra-op (2 cores / 2 local ranks), OpenBLAS
# 1"), or one process with intra-op threads = cores (cpu_threads.h) where the batch does not split
# exactly. The reference is given all the cores lmlab used, the way plain PyTorch uses them in one
# process: torch.set_num_threads(N), OPENBLAS_NUM_THREADS=M and, when N > 1,
# OMP_WAIT_POLICY=PASSIVE (without it the two pools fight and both sides run at half speed).
# The ratio is against that run. A third run per round, PyTorch with its own defaults in the
# caller's environment (on this VM: 1 intra-op thread, OpenBLAS on every core), shows what a
# user of plain PyTorch gets; it is printed, not the ratio's denominator. When lmlab ran CPU
# ranks, a fourth run is PyTorch's own data parallelism on the same cores: as many processes of
# DistributedDataParallel over Gloo, one thread each, sharing the batch (gpt2_reference.py
# --modes ddp), with its ratio printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${2:-data/tinystories}
rounds=${3:-5}
steps=${4:-160}
baseline=${BASELINE:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -z "$baseline" ] || [ -x "$baseline/tools/lmlab" ] || { echo "bench: BASELINE=$baseline has no tools/lmlab" >&2; exit 2; }
[ -f "$data/meta.json" ] || { echo "bench: $data/meta.json missing (bash configs/prepare_data.sh tinystories)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "bench: no torch for /usr/bin/python3 (apt-get install python3-torch)" >&2; exit 2; }
vocab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$data/meta.json")
echo "machine: $(nproc) cores ($(nproc --all) online), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
echo "environment: LMLAB_THREADS=${LMLAB_THREADS:-unset} OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}" \
     "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

run_lmlab() {  # $1 = run name (run<round> or base<round>), $2 = build directory
  LMLAB_PROGRESS=plain "$2/tools/lmlab" train --config configs/quickstart.toml \
    --set data.dir="$data" --set run.out_dir="$work/$1" --set train.steps=$((steps + 10)) --set train.max_minutes=0 \
    --set train.log_every=10 --set eval.every=100000 --set eval.windows=16 \
    --set train.checkpoint_every=100000 >"$work/$1.log" 2>&1 || { cat "$work/$1.log" >&2; exit 1; }
  rm -rf "$work/$1/checkpoints"
}
reference() {  # $1 = output name, then VAR=value ... -- extra arguments
  local name=$1 vars=()
  shift
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  # The extra arguments come last: a repeated option's last value wins (--modes ddp).
  env ${vars[@]+"${vars[@]}"} /usr/bin/python3 bench/gpt2_reference.py --arch llama --n-layer 4 --n-head 4 \
    --d-model 128 --vocab "$vocab" --seq-len 128 --batch 16 --no-bias --fp32 --modes eager --device cpu \
    --steps "$steps" --warmup 10 --data "$data/train.bin" --header-bytes 32 \
    --out "$work/$name.jsonl" "$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
}
run_reference() {  # $1 = round; lmlab's cores (from its first run), PyTorch's defaults, PyTorch DDP
  reference "ref$1" OPENBLAS_NUM_THREADS="$blas" ${passive:+OMP_WAIT_POLICY=PASSIVE} -- --threads "$intra"
  reference "def$1" --
  [ "$ranks" = 1 ] || run_reference_ddp "$1"
}
run_reference_ddp() {  # $1 = round: PyTorch's own data parallelism as lmlab's CPU ranks do it
  local port=$((20000 + RANDOM % 20000)) k
  for k in $(seq 0 $((ranks - 1))); do
    reference "ddp$1.$k" RANK="$k" WORLD_SIZE="$ranks" MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" \
      OPENBLAS_NUM_THREADS=1 -- --threads 1 --modes ddp &
  done
  wait
}

run_lmlabs() {  # $1 = round: this build, and the baseline when given (first in even rounds)
  [ -z "$baseline" ] || [ $(($1 % 2)) = 1 ] || run_lmlab "base$1" "$baseline"
  run_lmlab "run$1" "$build"
  [ -z "$baseline" ] || [ $(($1 % 2)) = 0 ] || run_lmlab "base$1" "$baseline"
}

for r in $(seq 1 "$rounds"); do
  if [ "$r" = 1 ]; then  # the threads lmlab chose set the reference's: lmlab runs first
    run_lmlabs "$r"
    line=$(grep -m1 '^threads: ' "$work/run1.log") || { echo "bench: lmlab printed no threads line" >&2; exit 1; }
    ranks=$(sed -nE 's/^cpu ranks: ([0-9]+) processes.*/\1/p' "$work/run1.log" | head -1)
    ranks=${ranks:-1}
    intra=$(( ranks * $(sed -E 's/^threads: ([0-9]+) intra-op.*/\1/' <<<"$line") ))
    blas=$(sed -nE 's/.*OpenBLAS ([0-9]+).*/\1/p' <<<"$line")
    blas=$(( ranks * ${blas:-$intra} ))
    passive=$([ "$intra" -gt 1 ] && echo 1 || true)
    [ "$ranks" = 1 ] || echo "lmlab: $(grep -m1 '^cpu ranks: ' "$work/run1.log")"
    echo "lmlab: $line"
    echo "reference: torch.set_num_threads($intra), OPENBLAS_NUM_THREADS=$blas, OMP_WAIT_POLICY=$([ -n "$passive" ] && echo PASSIVE || echo unset)"
    echo "steps: $steps timed per run after 10 warm-up ones${baseline:+; baseline lmlab: $baseline}"
    run_reference "$r"
  elif [ $((r % 2)) = 0 ]; then
    run_reference "$r"
    run_lmlabs "$r"
  else
    run_lmlabs "$r"
    run_reference "$r"
  fi
  echo "round $r done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done

python3 - "$work" "$rounds" "$baseline" "$ranks" <<'PY'
import json, statistics, sys
w, rounds, baseline, ranks = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def lmlab_rate(run):
    steps = [json.loads(l) for l in open(f"{w}/{run}/metrics.jsonl") if '"tokens_per_s"' in l]
    timed = [s for s in steps if s["step"] > 10]
    # tokens over time: each line covers the 10 steps before it at its rate
    tokens = [b["tokens"] - a["tokens"] for a, b in zip(steps, steps[1:]) if b["step"] > 10]
    return sum(tokens) / sum(t / s["tokens_per_s"] for t, s in zip(tokens, timed)), timed[-1]["mfu"]
def spread(values):
    return f"median {statistics.median(values):.2f}x, per-round {min(values):.2f}-{max(values):.2f}"
rows, base, ddp = [], [], []
for r in range(1, rounds + 1):
    ours, mfu = lmlab_rate(f"run{r}")
    ref = json.loads(open(f"{w}/ref{r}.jsonl").readline())
    default = json.loads(open(f"{w}/def{r}.jsonl").readline())
    rows.append((ours, ref["tokens_per_s"], default["tokens_per_s"]))
    extra = ""
    try:
        peer = json.loads(open(f"{w}/ddp{r}.0.jsonl").readline())
        assert peer["impl"] == "pytorch-ddp" and peer["ranks"] == int(ranks), peer
        ddp.append(peer["tokens_per_s"])
        extra += f" | pytorch DDP, {ranks} gloo ranks x 1 thread {ddp[-1]:>7,.0f}"
    except FileNotFoundError:  # lmlab ran one process: no DDP peer
        pass
    if baseline:
        base.append(lmlab_rate(f"base{r}")[0])
        extra = f" | baseline lmlab {base[-1]:>7,.0f} ({ours / base[-1]:.2f}x)"
    print(f"round {r}: lmlab {ours:>7,.0f} tokens/s (mfu {100 * mfu:.1f}%) | pytorch-eager, same cores "
          f"{ref['tokens_per_s']:>7,.0f} | pytorch-eager, its defaults ({default['threads']} thread) "
          f"{default['tokens_per_s']:>7,.0f} | ratio {ours / ref['tokens_per_s']:.2f}{extra}")
a, b, c = (statistics.median(x[i] for x in rows) for i in range(3))
print(f"median of {rounds}: lmlab {a:,.0f} tokens/s (rounds {min(x[0] for x in rows):,.0f}-{max(x[0] for x in rows):,.0f}); "
      f"pytorch-eager ({ref['torch']}, {ref['params']:,} params) with lmlab's cores ({ref['threads']}) {b:,.0f} "
      f"(rounds {min(x[1] for x in rows):,.0f}-{max(x[1] for x in rows):,.0f}), with its defaults {c:,.0f}")
print(f"ratio lmlab / pytorch-eager, same cores: {a / b:.2f}x of the medians; per round: {spread([x[0] / x[1] for x in rows])}")
print(f"ratio lmlab / pytorch-eager's defaults: {a / c:.2f}x of the medians; per round: {spread([x[0] / x[2] for x in rows])}")
if ddp:
    d = statistics.median(ddp)
    print(f"ratio lmlab / pytorch DDP ({ranks} gloo ranks x 1 thread): {a / d:.2f}x of the medians "
          f"({d:,.0f} tokens/s); per round: {spread([x[0] / y for x, y in zip(rows, ddp)])}")
if baseline:
    print(f"ratio lmlab / baseline lmlab ({baseline}): {a / statistics.median(base):.2f}x of the medians; "
          f"per round: {spread([x[0] / y for x, y in zip(rows, base)])}")
PY
grep -m1 '^mfu peak: ' "$work/run1.log" | sed 's/^/lmlab /'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
