#!/usr/bin/env bash
# Start-up, peak memory and whole-process encoding of the tokenizer commands against native
# tiktoken (npm tiktoken-node, cl100k_base), interleaved run by run (issue #22.2):
#  1. start-up: `lmlab tokenizer --help`, the same through lmlab-core (libtorch loaded: what every
#     tokenizer command cost before the torch-free front), encoding an empty file with a 2,048-id
#     BPE (the quickstart's size) and with cl100k_base (process start + vocabulary load + exit),
#     the latter cold (an empty LMLAB_CACHE_DIR each run: the JSON is parsed and the cache entry
#     written) and warm (the entry read), beside tiktoken-node doing the same;
#  2. whole process: encode WikiText-2 train (10.8 MB) to ids in a file, cl100k_base, lmlab with
#     its default threads and with --threads 1 (warm cache), against tiktoken-node (one thread);
#     both outputs are the same text format and must be byte-identical.
# Wall times are medians over the rounds (bash $EPOCHREALTIME around each process), peak RSS
# from GNU time; the ratios are tiktoken-node's median over lmlab's.
# Usage: bench/tokenizer_startup_bench.sh [build-dir] [rounds]   (data: $LMLAB_DATA or ../shared/data)
# Needs Node.js, /usr/bin/time (package `time`) and the npm registry once (bench/peers).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-10}
data=${LMLAB_DATA:-../shared/data}
lmlab="$build/tools/lmlab"
core="$build/tools/lmlab-core"
for f in "$lmlab" "$core"; do
  [ -x "$f" ] || { echo "bench: $f missing: cmake --build $build --target lmlab" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
command -v node >/dev/null || { echo "bench: node missing (apt-get install nodejs npm)" >&2; exit 2; }
[ -d bench/peers/node_modules/tokenizers ] && [ -d bench/peers/node_modules/tiktoken ] &&
  [ -d bench/peers/node_modules/tiktoken-node ] || npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat "$data/lm/wikitext-2/train.txt.gz" > "$tmp/wikitext-2-train.txt"
: > "$tmp/empty.txt"
node bench/tokenizer_official.mjs cl100k_base "$tmp/cl100k_base.json"
"$lmlab" tokenizer train --vocab-size 2048 --threads 1 --input "$data/lm/tinystories/tinystories_valid_first1000.txt" \
  --output "$tmp/bpe2048.json" 2> /dev/null
peer="node bench/tokenizer_startup_peer.cjs"
# The tokenizer cache (docs/tokenizer.md) lives here, never in $HOME; each cold run empties it.
export LMLAB_CACHE_DIR="$tmp/cache"

echo "command: bash bench/tokenizer_startup_bench.sh $build $rounds   ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; node $(node --version)"

# once NAME CMD...: runs CMD once, appends "wall_ms peak_rss_kib" to $tmp/NAME.runs.
once() {
  local name=$1; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$tmp/rss" "$@" > /dev/null 2> "$tmp/stderr" ||
    { echo "bench: $name failed: $(cat "$tmp/stderr")" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }') $(tail -1 "$tmp/rss")" >> "$tmp/$name.runs"
}
# median NAME COLUMN: the median of one column of $tmp/NAME.runs.
median() {
  cut -d' ' -f"$2" "$tmp/$1.runs" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
row() {  # row NAME LABEL
  printf "  %-72s %9.1f ms %7.1f MiB\n" "$2" "$(median "$1" 1)" "$(awk -v k="$(median "$1" 2)" 'BEGIN { print k / 1024 }')"
}
ratio() { awk -v a="$(median "$1" 1)" -v b="$(median "$2" 1)" 'BEGIN { printf "%.2f", a / b }'; }

encode=(tokenizer encode --ids --tokenizer "$tmp/cl100k_base.json")
for ((r = 0; r < rounds; ++r)); do
  once help "$lmlab" tokenizer --help
  once core_help "$core" tokenizer --help
  rm -rf "$LMLAB_CACHE_DIR"
  once cold "$lmlab" "${encode[@]}" --input "$tmp/empty.txt" --output "$tmp/empty.lmlab"
  once empty "$lmlab" "${encode[@]}" --input "$tmp/empty.txt" --output "$tmp/empty.lmlab"
  once small "$lmlab" tokenizer encode --ids --tokenizer "$tmp/bpe2048.json" --input "$tmp/empty.txt" --output "$tmp/small.lmlab"
  once peer_empty $peer "$tmp/empty.txt" "$tmp/empty.peer"
  once wiki "$lmlab" "${encode[@]}" --input "$tmp/wikitext-2-train.txt" --output "$tmp/wiki.lmlab"
  once peer_wiki $peer "$tmp/wikitext-2-train.txt" "$tmp/wiki.peer"
  once wiki1 "$lmlab" "${encode[@]}" --threads 1 --input "$tmp/wikitext-2-train.txt" --output "$tmp/wiki1.lmlab"
done

echo "== start-up, median of $rounds runs: wall, peak RSS"
row help "lmlab tokenizer --help (torch-free front)"
row core_help "lmlab-core tokenizer --help (libtorch loaded, as before)"
row small "lmlab tokenizer encode --ids, empty file, 2,048-id BPE, cold cache"
row cold "lmlab tokenizer encode --ids, empty file, cl100k_base, cold cache"
row empty "lmlab tokenizer encode --ids, empty file, cl100k_base, warm cache"
row peer_empty "tiktoken-node cl100k_base, empty file"
echo "== encode WikiText-2 train (10.8 MB) to ids, whole process, cl100k_base"
row wiki "lmlab tokenizer encode --ids (default: $(nproc) threads)"
row wiki1 "lmlab tokenizer encode --ids --threads 1"
row peer_wiki "tiktoken-node encode (1 thread)"
same=no
cmp -s "$tmp/wiki.lmlab" "$tmp/wiki.peer" && cmp -s "$tmp/wiki1.lmlab" "$tmp/wiki.peer" &&
  cmp -s "$tmp/empty.lmlab" "$tmp/empty.peer" && same=yes
echo "identical ids (lmlab both thread counts vs tiktoken-node, WikiText-2 and empty): $same ($(wc -w < "$tmp/wiki.peer") tokens)"
echo "ratios (tiktoken-node wall / lmlab wall): start-up (empty file) $(ratio peer_empty empty)x warm, $(ratio peer_empty cold)x cold;" \
     "WikiText-2 $(ratio peer_wiki wiki)x default threads, $(ratio peer_wiki wiki1)x one thread"
echo "front vs lmlab-core start-up: $(ratio core_help help)x"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
[ "$same" = yes ]
