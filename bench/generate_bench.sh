#!/usr/bin/env bash
# Decode speed: `lmlab generate` against a plain PyTorch eager KV-cache greedy loop
# (bench/generate_reference.py, Debian's python3-torch = the libtorch lmlab links) on the same
# weights, the quickstart model (configs/quickstart.toml: LLaMA-style, 4 x 128, max_seq_len 128,
# 2048-token BPE), trained here for a few seconds by `lmlab quickstart` in a temporary directory.
#
#   bench/generate_bench.sh                 # from the repository root, after a build
#   LMLAB=build/tools/lmlab TOKENS="128 1000" REPEATS=3 THREADS=1 CHECKPOINT=dir bench/generate_bench.sh
#
# For each length: greedy (--temperature 0 --ignore-eos), first both sides' token ids are checked
# equal (lmlab --ids), then REPEATS rounds of A B / B A (lmlab, reference), each a fresh process, each
# timing its own generation in-process (prompt forward to last token; lmlab's --timing, which
# includes streaming the text to stdout). Prints every run, the medians and their ratio
# lmlab / reference, and the median and range of the rounds' own ratios. Both sides get the
# same intra-op threads (THREADS, default 1 = torch's default on this VM) and OMP_NUM_THREADS.
# Past 128 tokens the window slides and both sides recompute the last 128 tokens per step, so
# the 1000-token figure measures mostly that.
set -euo pipefail

LMLAB=${LMLAB:-build/tools/lmlab}
PYTHON=${PYTHON:-/usr/bin/python3}
TOKENS=${TOKENS:-"128 1000"}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-1}
PROMPT=${PROMPT:-"once upon a time"}
REFERENCE="$(dirname "$0")/generate_reference.py"
export OMP_NUM_THREADS=$THREADS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lmlab: $LMLAB; reference: $PYTHON $REFERENCE (torch $("$PYTHON" -c 'import torch; print(torch.__version__)'))"

if [[ -z "${CHECKPOINT:-}" ]]; then
  "$LMLAB" quickstart --minutes "${TRAIN_MINUTES:-0.3}" --output "$work/qs" > "$work/quickstart.log"
  grep -E "validation loss|steps" "$work/quickstart.log" | head -2 | sed 's/^ */quickstart: /'
  CHECKPOINT="$work/qs/run/checkpoints/$(cat "$work/qs/run/checkpoints/latest")"
fi
echo "checkpoint: $CHECKPOINT"
prompt_ids=$(printf '%s' "$PROMPT" | "$LMLAB" tokenizer encode --tokenizer "$CHECKPOINT/tokenizer.json" --ids | tr '\n' ' ')
echo "prompt: \"$PROMPT\" = ids [$prompt_ids], threads $THREADS"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lmlab_run() {  # N extra-args... -> stdout of lmlab generate
  "$LMLAB" generate --checkpoint "$CHECKPOINT" --prompt "$PROMPT" --temperature 0 --ignore-eos --max-tokens "$1" \
    --threads "$THREADS" "${@:2}"
}
reference_run() { "$PYTHON" "$REFERENCE" --checkpoint "$CHECKPOINT" --prompt-ids "$prompt_ids" --max-tokens "$1" --threads "$THREADS"; }
json_field() { "$PYTHON" -c "import json, sys; j = json.loads(sys.stdin.read()); print(j['$1'] if '$1' != 'ids' else ' '.join(map(str, j['ids'])))"; }

status=0
for n in $TOKENS; do
  ours=$(lmlab_run "$n" --ids)
  ref_json=$(reference_run "$n")
  theirs=$(json_field ids <<< "$ref_json")
  if [[ "$ours" == "$theirs" ]]; then
    echo "== $n new tokens: greedy token ids identical ($(wc -w <<< "$ours") tokens)"
  else
    echo "== $n new tokens: greedy token ids DIFFER"
    echo "lmlab:     $ours" | cut -c1-300
    echo "reference: $theirs" | cut -c1-300
    status=1
  fi
  : > "$work/a" && : > "$work/b" && : > "$work/ratio"
  for r in $(seq 1 "$REPEATS"); do
    # A B in odd rounds, B A in even ones: a load that drifts during the run favours neither side.
    (( r % 2 )) || b=$(reference_run "$n" | json_field tokens_per_s)
    lmlab_run "$n" --timing > "$work/text" 2> "$work/err"
    a=$(sed -n 's/.* = \([0-9.]*\) tokens\/s.*/\1/p' "$work/err")
    (( r % 2 == 0 )) || b=$(reference_run "$n" | json_field tokens_per_s)
    printf '   round %d: lmlab %8.1f tokens/s   reference %8.1f tokens/s\n' "$r" "$a" "$b"
    echo "$a" >> "$work/a" && echo "$b" >> "$work/b" && echo "$a / $b" | bc -l >> "$work/ratio"
  done
  expected_text="$PROMPT$(printf '%s' "$theirs" | "$LMLAB" tokenizer decode --tokenizer "$CHECKPOINT/tokenizer.json")"
  [[ "$(cat "$work/text")" == "$expected_text" ]] || { echo "   lmlab's streamed text differs from decoding the reference's ids"; status=1; }
  ma=$(median < "$work/a") mb=$(median < "$work/b")
  printf '   median: lmlab %.1f tokens/s, reference %.1f tokens/s, ratio %.2fx\n' "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
  # The two sides of a round run seconds apart, so the machine's slow phases (a 128-token run
  # lasts ~70 ms) weigh on both: the median of the rounds' ratios is the steadier figure.
  printf '   per round: median ratio %.2fx, range %.2f-%.2fx\n' "$(median < "$work/ratio")" \
    "$(sort -g "$work/ratio" | head -1)" "$(sort -g "$work/ratio" | tail -1)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
