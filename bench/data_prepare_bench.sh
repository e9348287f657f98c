#!/usr/bin/env bash
# `lmlab data prepare` against Hugging Face `tokenizers` doing the same job (bench/data_prepare_peer.mjs:
# its Rust core through the Node binding) on WikiText-2 train, one 10.8 MB file: split into
# articles at " = Title = " headings, encode each article, <|endoftext|> after each, the last 5%
# of the articles held out, train.bin + val.bin + meta.json + tokenizer.json written.
# Both sides are timed as whole commands (process start to exit, wall clock), interleaved
# (lmlab, HF, lmlab, HF, ...) after one untimed warm-up each, at 1 and 2 threads (lmlab --threads N,
# HF RAYON_NUM_THREADS=N); medians of the repeats; their shards are compared byte for byte.
# The tokenizer is byte-level BPE with 4,096 ids trained by lmlab on the same file (what
# configs/prepare_data.sh uses for WikiText-2); both sides load that same tokenizer.json.
# Usage: bench/data_prepare_bench.sh [build-dir] [repeats]   (data: $LMLAB_DATA or ../shared/data)
# Needs Node.js and the npm registry once (bench/peers, as bench/tokenizer_peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
repeats=${2:-5}
data=${LMLAB_DATA:-../shared/data}
lmlab=$build/tools/lmlab
[ -x "$lmlab" ] || { echo "bench: $lmlab missing: cmake --build $build --target lmlab" >&2; exit 2; }
command -v node >/dev/null || { echo "bench: node missing (apt-get install nodejs npm)" >&2; exit 2; }
[ -d bench/peers/node_modules/tokenizers ] || npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

zcat "$data/lm/wikitext-2/train.txt.gz" >"$work/train.txt"
"$lmlab" tokenizer train --algo bpe --vocab-size 4096 --input "$work/train.txt" --output "$work/tok.json" >/dev/null 2>&1
echo "command: bench/data_prepare_bench.sh $build $repeats   ($(date -u '+%Y-%m-%d %H:%M UTC'), lmlab $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); node $(node --version)," \
  "HF tokenizers $(node -p 'require("./bench/peers/node_modules/tokenizers/package.json").version')"
echo "input: WikiText-2 train ($(wc -c <"$work/train.txt") bytes, decompressed once before timing), BPE 4096"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Each prints "wall cpu": seconds of wall clock and of CPU (user + system) of the whole command;
# the command's stdout and stderr go to $work/NAME.out and $work/NAME.err.
time_of() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err"
  awk '{printf "%.3f %.2f\n", $1, $2 + $3}' "$work/time"
}
run_lmlab() { rm -rf "$work/l"; time_of l "$lmlab" data prepare --tokenizer "$work/tok.json" --input "$work/train.txt" \
  --output "$work/l" --threads "$1"; }
run_hf() { rm -rf "$work/h"; RAYON_NUM_THREADS=$1 TOKENIZERS_PARALLELISM=true \
  time_of h node bench/data_prepare_peer.mjs "$work/tok.json" "$work/train.txt" "$work/h" 0.05; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

for threads in 1 2; do
  run_lmlab "$threads" >/dev/null
  run_hf "$threads" >/dev/null  # warm-ups: page cache, node's module cache
  ours=() theirs=() encode=() ours_cpu=() theirs_cpu=()
  for _ in $(seq "$repeats"); do
    read -r wall cpu < <(run_lmlab "$threads")
    ours+=("$wall") ours_cpu+=("$cpu")
    read -r wall cpu < <(run_hf "$threads")
    theirs+=("$wall") theirs_cpu+=("$cpu")
    encode+=("$(sed -n 's/.*encodeBatch \([0-9.]*\) s.*/\1/p' "$work/h.err")")
  done
  same=identical
  for f in train.bin val.bin; do cmp -s "$work/l/$f" "$work/h/$f" || same="DIFFERENT ($f)"; done
  m_ours=$(printf '%s\n' "${ours[@]}" | median)
  m_theirs=$(printf '%s\n' "${theirs[@]}" | median)
  m_encode=$(printf '%s\n' "${encode[@]}" | median)
  c_ours=$(printf '%s\n' "${ours_cpu[@]}" | median)
  c_theirs=$(printf '%s\n' "${theirs_cpu[@]}" | median)
  echo
  echo "threads $threads: $(tail -1 "$work/l.out")"
  echo "  lmlab data prepare   wall s: ${ours[*]}  median $m_ours (CPU median $c_ours s)"
  echo "  HF peer, whole       wall s: ${theirs[*]}  median $m_theirs (CPU median $c_theirs s)"
  echo "  HF encodeBatch alone wall s: ${encode[*]}  median $m_encode  ($(tail -1 "$work/h.err"))"
  echo "  shards (train.bin, val.bin): $same"
  awk -v a="$m_ours" -v b="$m_theirs" -v e="$m_encode" 'BEGIN {
    printf "  ratio lmlab/HF time, whole commands: %.2fx (lmlab %.1fx faster)\n", a / b, b / a
    printf "  lmlab whole command against HF encodeBatch alone: %.1fx faster\n", e / a }'
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
