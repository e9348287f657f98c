#!/usr/bin/env bash
# Cross-checks lmlab's tokenizers against HF tokenizers and tiktoken on this machine's CPU (no GPU,
# no Python packages needed): bench/check_tokenizer_peers.mjs explains the checks.
# Usage: bench/tokenizer_peers.sh [build-dir]   (data: $LMLAB_DATA or ../shared/data)
# Needs Node.js and the npm registry once: the two pinned peers go to bench/peers/node_modules
# (gitignored). This is a developer's check; lmlab itself never downloads anything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for f in "$build/tools/lmlab" "$build/bench/tokenizer_encode_bench"; do
  [ -x "$f" ] || { echo "bench: $f missing: cmake --build $build --target lmlab tokenizer_encode_bench" >&2; exit 2; }
done
command -v node >/dev/null || { echo "bench: node missing (apt-get install nodejs npm)" >&2; exit 2; }
[ -d bench/peers/node_modules/tokenizers ] && [ -d bench/peers/node_modules/tiktoken ] ||
  npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version)"
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
  node bench/check_tokenizer_peers.mjs "$build/tools/lmlab" "$build/bench/tokenizer_encode_bench" "${LMLAB_DATA:-../shared/data}"
