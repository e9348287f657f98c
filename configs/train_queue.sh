#!/usr/bin/env bash
# Trains each "config [--set ...]" line of stdin unless its run directory already has train.done
# (which holds the wall time in seconds). Used by the configs/*/run_all.sh experiment scripts.
set -euo pipefail
LMLAB=${LMLAB:-build/tools/lmlab}
while read -r config args; do
  out=$(sed -n 's/^out_dir = "\(.*\)"/\1/p' "$config")
  for a in $args; do case "$a" in run.out_dir=*) out=${a#run.out_dir=} ;; esac; done
  if [ -f "$out/train.done" ]; then echo "== $out: already trained"; continue; fi
  echo "== $out"
  start=$(date +%s)
  # shellcheck disable=SC2086  # args are --set pairs without spaces
  "$LMLAB" train --config "$config" $args </dev/null
  echo $(( $(date +%s) - start )) > "$out/train.done"
done
