#!/usr/bin/env bash
# Tokenizer benchmark, one run, numbers side by side:
#  1. training time + peak memory on corpus/linux-doc (21.5 MB), vocab 32000, 2 threads:
#     lmlab --algo bpe, lmlab --algo scaffold, Debian spm_train --model_type=bpe (same file);
#  2. encode throughput on WikiText-2 train (10.8 MB), one thread, with the trained tokenizers.
# Usage: bench/tokenizer_bench.sh [build-dir]   (data: $LMLAB_DATA or ../shared/data)
# Needs: /usr/bin/time (package `time`); installs `sentencepiece` (spm_train) if missing.
# `lmlab tokenizer` runs in the torch-free front (tools/lmlab.cpp): no libtorch loading in its times.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${LMLAB_DATA:-../shared/data}
lmlab="$build/tools/lmlab"
encode_bench="$build/bench/tokenizer_encode_bench"
for f in "$lmlab" "$encode_bench"; do
  [ -x "$f" ] || { echo "bench: $f missing: cmake --build $build --target lmlab tokenizer_encode_bench" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
if ! command -v spm_train >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench: installing sentencepiece for spm_train" >&2
  $sudo apt-get install -y -qq sentencepiece >/dev/null 2>&1 || echo "bench: could not install sentencepiece; spm_train is skipped" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat "$data/corpus/linux-doc/linux-6.1-doc-en.rst.txt.gz" > "$tmp/linux-doc.txt"
zcat "$data/lm/wikitext-2/train.txt.gz" > "$tmp/wikitext-2-train.txt"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
# run NAME CMD...: wall seconds and peak RSS from GNU time -v.
run() {
  local name=$1; shift
  /usr/bin/time -v "$@" > "$tmp/$name.out" 2> "$tmp/$name.time"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$tmp/$name.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$tmp/$name.time" | awk '{print $NF}')
  printf "%-34s wall %8s   peak RSS %6.0f MB\n" "$name" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')"
}

echo "== train: linux-doc (21.5 MB), vocab 32000, 2 threads"
for algo in bpe scaffold; do
  run "lmlab tokenizer train --algo $algo" "$lmlab" tokenizer train --algo "$algo" --vocab-size 32000 --threads 2 \
    --input "$tmp/linux-doc.txt" --output "$tmp/$algo.json"
  grep "^tokenizer:" "$tmp/lmlab tokenizer train --algo $algo.time" | sed 's/^/    /'
done
if command -v spm_train >/dev/null; then
  run "spm_train --model_type=bpe" spm_train --input="$tmp/linux-doc.txt" --model_prefix="$tmp/spm" \
    --vocab_size=32000 --model_type=bpe --num_threads=2 --minloglevel=2
fi

echo "== encode: WikiText-2 train (10.8 MB), 1 thread, tokenizers above"
for algo in bpe scaffold; do
  echo "  $algo:"
  "$encode_bench" "$tmp/$algo.json" "$tmp/wikitext-2-train.txt" 1 | sed 's/^/    /'
done
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
