#!/usr/bin/env bash
# ctest: scripts/gpu-check.sh --cpu --quick on this build. Every check that needs neither CUDA
# nor a missing Python module must pass, the CUDA ones must say they were skipped for CUDA, and
# the report must hold every check and the CPU figures (MoE layer, MiLe).
#   tests/scripts/gpu_check_quick.sh BUILD_DIR OUTDIR
set -uo pipefail
build=$1 out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/gpu-check.sh" --cpu --quick --build-dir "$build" "$out"
rc=$?
python3 - "$out" "$rc" <<'PY'
import json, sys
out, rc = sys.argv[1], int(sys.argv[2])
checks = {c["check"]: c for c in map(json.loads, open(f"{out}/checks.jsonl"))}
figures = [json.loads(l) for l in open(f"{out}/figures.jsonl")]
report = open(f"{out}/gpu-report.md").read()
problems = []
for name in ("cuda_tests", "gpt2_throughput"):
    if checks.get(name, {}).get("status") != "skip" or "CUDA" not in checks[name]["note"]:
        problems.append(f"{name} should be skipped for CUDA: {checks.get(name)}")
for name, c in checks.items():
    if c["status"] == "fail" or (c["status"] == "skip" and "needs" not in c["note"]):
        problems.append(f"{name}: {c}")
    if f"| {name} |" not in report:
        problems.append(f"{name} missing from gpu-report.md")
for name in ("build", "data", "train_resume", "data_parallel", "export_hf", "tensorboard", "moe_layer", "mile_overhead"):
    if checks.get(name, {}).get("status") != "pass":
        problems.append(f"{name} did not pass on the CPU")
for check in ("moe_layer", "mile_overhead"):
    if not any(f["check"] == check and f["ours"] and f["peer"] for f in figures):
        problems.append(f"no figure from {check}")
if rc != (1 if any(c["status"] == "fail" for c in checks.values()) else 0):
    problems.append(f"exit status {rc} does not follow the failures")
print("\n".join(problems) or f"{len(checks)} checks, {len(figures)} figures as expected")
sys.exit(1 if problems else 0)
PY
