#!/usr/bin/env bash
# Every experiment's `run_all.sh --smoke` in turn (each 1-3 minutes on 2 cores), one line per
# experiment with its wall time and exit status; exits 1 if any failed. Not part of ctest: ten of
# them would take the suite past its budget. `cmake --build build --target smoke` runs this.
#   configs/smoke_all.sh [NAME...]      (default: every configs/*/run_all.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls configs/*/run_all.sh | cut -d/ -f2))
mkdir -p runs/smoke
failed=0
for n in "${names[@]}"; do
  start=$SECONDS
  log=runs/smoke/$n.log
  if bash "configs/$n/run_all.sh" --smoke >"$log" 2>&1; then status=ok; else status="FAILED (log: $log)"; failed=1; fi
  echo "smoke $n: $status in $((SECONDS - start)) s"
done
exit $failed
