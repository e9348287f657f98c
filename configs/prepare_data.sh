#!/usr/bin/env bash
# Token shards the experiment configs read (data/<name>), built from $LMLAB_DATA (../shared/data).
#   wikitext-2    BPE 4096 on WikiText-2 train; val = WikiText-2 valid            (configs/moe)
#   tinystories   BPE 2048 on the TinyStories train slice; val = the first 1000 valid stories,
#                 lower-cased like the train slice (the quickstart's scale; configs/mile)
#   tinystories-docs  the same tokenizer and text split into documents on the <|endoftext|>
#                 lines (--doc-split eot), so every story starts right after an EOT id: the
#                 document-start validation windows of configs/scaling
#   mix-a|b|c     3 MB training mixtures, one BPE 4096 for all three, the same val
#                 (lower-cased TinyStories valid + WikiText-2 valid; configs/uniattn uses mix-b):
#                 a = 3 MB TinyStories; b = 1.5 MB TinyStories + 1.5 MB WikiText-2;
#                 c = 1 MB each of TinyStories, WikiText-2, KJV Bible
#   mixdoc-a|b|c  the same mixtures split on <|endoftext|> lines (--doc-split eot), val = the
#                 TinyStories valid stories + WikiText-2 valid with one document per paragraph
#                 line (headings dropped): document-start windows for configs/mixtures
#   smoke         BPE 512 on 400 kB of the TinyStories train slice; val = 100 kB of its valid
#                 stories (every run_all.sh --smoke)
# Idempotent: an existing data/<name>/meta.json is kept. LMLAB=path/to/lmlab overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
LMLAB=${LMLAB:-build/tools/lmlab}
DATA=${LMLAB_DATA:-../shared/data}
name=${1:?usage: configs/prepare_data.sh wikitext-2|tinystories|tinystories-docs|mix-a|mix-b|mix-c|mixdoc-a|mixdoc-b|mixdoc-c|smoke}
[ -f "data/$name/meta.json" ] && exit 0
mkdir -p data
TS=$DATA/lm/tinystories/tinystories_train_slice_lowercased.txt
WT=$DATA/lm/wikitext-2/train.txt.gz
KJV=$DATA/corpus/kjv/kjv.txt.gz
# The first $2 bytes of $1 (.gz decompressed), cut back to the last whole line.
slice() { (set +o pipefail; zcat -f "$1" | head -c "$2" | sed '$d'); }
# The TinyStories train slice is lower-cased by its source; its validation stories are not.
ts_valid_lower() {
  [ -f data/tinystories-valid-lower.txt ] ||
    tr '[:upper:]' '[:lower:]' < "$DATA/lm/tinystories/tinystories_valid_first1000.txt" > data/tinystories-valid-lower.txt
}
# WikiText-2 valid with an <|endoftext|> line after every paragraph (headings " = T = " dropped).
wt_valid_paragraphs() {
  [ -f data/wikitext-2-valid-paragraphs.txt ] ||
    awk 'NF > 0 && !/^ = .* = $/ { print; print "<|endoftext|>" }' "$DATA/lm/wikitext-2/valid.txt" \
      > data/wikitext-2-valid-paragraphs.txt
}
case "$name" in
  wikitext-2)
    "$LMLAB" tokenizer train --vocab-size 4096 --input "$WT" --output data/wikitext-2-bpe4096.json
    "$LMLAB" data prepare --tokenizer data/wikitext-2-bpe4096.json --doc-split file \
      --input "$WT" --val-input "$DATA/lm/wikitext-2/valid.txt" --output data/wikitext-2 ;;
  tinystories)
    ts_valid_lower
    "$LMLAB" tokenizer train --vocab-size 2048 --input "$TS" --output data/tinystories-bpe2048.json
    "$LMLAB" data prepare --tokenizer data/tinystories-bpe2048.json --doc-split file --input "$TS" \
      --val-input data/tinystories-valid-lower.txt --output data/tinystories ;;
  tinystories-docs)
    ts_valid_lower
    [ -f data/tinystories-bpe2048.json ] ||
      "$LMLAB" tokenizer train --vocab-size 2048 --input "$TS" --output data/tinystories-bpe2048.json
    "$LMLAB" data prepare --tokenizer data/tinystories-bpe2048.json --doc-split eot --input "$TS" \
      --val-input data/tinystories-valid-lower.txt --output data/tinystories-docs ;;
  smoke)
    ts_valid_lower
    mkdir -p data/smoke-sources
    slice "$TS" 400000 > data/smoke-sources/train.txt
    slice data/tinystories-valid-lower.txt 100000 > data/smoke-sources/valid.txt
    "$LMLAB" tokenizer train --vocab-size 512 --input data/smoke-sources/train.txt --output data/smoke-bpe512.json
    "$LMLAB" data prepare --tokenizer data/smoke-bpe512.json --doc-split file --input data/smoke-sources/train.txt \
      --val-input data/smoke-sources/valid.txt --output data/smoke ;;
  mix-a|mix-b|mix-c|mixdoc-a|mixdoc-b|mixdoc-c)
    src=data/mix-sources
    if [ ! -f "$src/done" ]; then
      mkdir -p "$src"
      slice "$TS" 3000000 > "$src/ts3.txt"; slice "$TS" 1500000 > "$src/ts1.5.txt"; slice "$TS" 1000000 > "$src/ts1.txt"
      slice "$WT" 1500000 > "$src/wt1.5.txt"; slice "$WT" 1000000 > "$src/wt1.txt"
      slice "$KJV" 1000000 > "$src/kjv1.txt"
      "$LMLAB" tokenizer train --vocab-size 4096 --input "$src/ts1.txt" "$src/wt1.txt" "$src/kjv1.txt" \
        --output "$src/bpe4096.json"
      touch "$src/done"
    fi
    case "${name#*-}" in
      a) inputs=("$src/ts3.txt") ;;
      b) inputs=("$src/ts1.5.txt" "$src/wt1.5.txt") ;;
      c) inputs=("$src/ts1.txt" "$src/wt1.txt" "$src/kjv1.txt") ;;
    esac
    ts_valid_lower
    split=(--doc-split file) val=("$DATA/lm/wikitext-2/valid.txt")
    if [ "${name%%-*}" = mixdoc ]; then
      wt_valid_paragraphs
      split=(--doc-split eot) val=(data/wikitext-2-valid-paragraphs.txt)
    fi
    "$LMLAB" data prepare --tokenizer "$src/bpe4096.json" "${split[@]}" --input "${inputs[@]}" \
      --val-input data/tinystories-valid-lower.txt "${val[@]}" --output "data/$name" ;;
  *) echo "configs/prepare_data.sh: unknown data set '$name'" >&2; exit 2 ;;
esac
