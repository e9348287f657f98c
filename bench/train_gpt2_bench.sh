#!/usr/bin/env bash
# GPT-2 124M training throughput on the GPU machine: `lmlab train` next to the same model in
# plain PyTorch (bench/gpt2_reference.py, eager and torch.compile), on the same random tokens,
# printing tokens/s and MFU side by side.
#   bench/train_gpt2_bench.sh [lmlab executable]      (default: build-gpu/tools/lmlab)
# Steps: random uint16 tokens -> an LMLAB token shard; lmlab train (configs/gpt2_124m.toml,
# 60 steps, the first logging interval of 10 steps excluded as warm-up); the reference with
# --warmup 10 --steps 50 on the same shard (--header-bytes 32 skips the shard header).
set -euo pipefail
cd "$(dirname "$0")/.."
lmlab=${1:-build-gpu/tools/lmlab}
work=${BENCH_DIR:-/tmp/lmlab-gpt2-bench}
batch=${BATCH:-16}
rm -rf "$work" && mkdir -p "$work/data"

python3 - "$work/data" <<'PY'
import json, struct, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
for name, n in (("train.bin", 20_000_000), ("val.bin", 200_000)):
    ids = rng.integers(0, 50257, size=n, dtype=np.uint16)
    with open(f"{d}/{name}", "wb") as f:
        f.write(b"LMLABTOK" + struct.pack("<IIQQ", 1, 2, n, 0))
        f.write(ids.astype("<u2").tobytes())
json.dump({"vocab_size": 50304, "eot_id": 50256, "train": {"file": "train.bin"},
           "val": {"file": "val.bin"}}, open(f"{d}/meta.json", "w"))
PY

"$lmlab" train --config configs/gpt2_124m.toml --set data.dir="$work/data" --set run.out_dir="$work/run" \
  --set train.batch_size="$batch" >"$work/lmlab.log" 2>&1
python3 bench/gpt2_reference.py --arch gpt2 --batch "$batch" --steps 50 --warmup 10 \
  --data "$work/data/train.bin" --header-bytes 32 --modes eager,compile --out "$work/ref.jsonl" \
  >"$work/ref.log" 2>&1

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
steps = [json.loads(l) for l in open(f"{w}/run/metrics.jsonl") if '"tokens_per_s"' in l]
timed = [s for s in steps if s["step"] > 10] or steps
tps = sum(s["tokens_per_s"] for s in timed) / len(timed)
mfu = sum(s["mfu"] for s in timed) / len(timed)
print(f"{'implementation':<28}{'tokens/s':>14}{'MFU':>8}")
print(f"{'lmlab train (libtorch)':<28}{tps:>14,.0f}{100 * mfu:>7.1f}%")
for l in open(f"{w}/ref.jsonl"):
    r = json.loads(l)
    name = str(r.get("impl", "?"))
    print(f"{name:<28}{r.get('tokens_per_s', float('nan')):>14,.0f}{100 * r.get('mfu', float('nan')):>7.1f}%")
PY
