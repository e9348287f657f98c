#!/usr/bin/env bash
# `lmlab tokenizer train --algo bpe --tie-break hf` against HF tokenizers' own BpeTrainer on three
# corpora: identical merges (yes/no, and where they first differ) and the speed ratio, interleaved
# runs, medians (bench/check_bpe_hf.mjs explains how both sides get the same problem).
# Usage: bench/check_bpe_hf.sh [build-dir] [repetitions] [threads]   (data: $LMLAB_DATA or ../shared/data)
# Needs Node.js and the npm registry once (bench/peers/node_modules, gitignored); a developer's
# check: lmlab itself never downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
reps=${2:-3}
threads=${3:-2}
[ -x "$build/tools/lmlab" ] || { echo "bench: $build/tools/lmlab missing: cmake --build $build --target lmlab" >&2; exit 2; }
command -v node >/dev/null || { echo "bench: node missing (apt-get install nodejs npm)" >&2; exit 2; }
[ -d bench/peers/node_modules/tokenizers ] || npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error
echo "machine: $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version); threads $threads"
status=0
RAYON_NUM_THREADS=$threads node bench/check_bpe_hf.mjs "$build/tools/lmlab" "${LMLAB_DATA:-../shared/data}" "$reps" "$threads" || status=$?
echo "load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
