#!/usr/bin/env bash
# Everything the CPU cannot check or measure, in one command for the GPU machine (issue #21):
# the CUDA build, the CUDA tests, exact resume with the CUDA RNG, NCCL, GPT-2 124M tokens/s and
# MFU next to PyTorch eager and torch.compile, the MoE layer against a dense FFN of equal active
# FLOPs, MiLe's overhead over CE, DSMoE's eval saving, transformers on our exports (logits,
# eval requests, generate(), what it saves back imported again), TensorBoard's reader on our events, tiktoken on our tokenizers.
#
#   scripts/gpu-check.sh [--cpu] [--quick] [--build-dir DIR] [OUTDIR]
#
# OUTDIR (default $OUT, else runs/gpu-check) gets gpu-report.md (every check pass/fail/skip,
# every figure beside its peer), gpu-figures.json and logs/. Each check has a time limit and a
# failed one does not stop the rest; the exit status is 1 when any check failed.
#   --cpu        run every check that does not need CUDA on the CPU; report the rest as skipped
#   --quick      toy sizes (what ctest runs, with --cpu, in well under a minute)
#   --build-dir  use the lmlab build there instead of building (default: build-gpu, or build with --cpu)
# A check that needs a Python module the machine lacks (transformers, tensorboard, tiktoken) is
# skipped, naming the module; so is any check that would start after GPU_CHECK_BUDGET_S (540 s
# on the GPU, whose calls end at 600 s) so that the report is always written. On the GPU machine: `scripts/gpu-build.sh fetch` here first, then
#   run(command="scripts/gpu-check.sh", carry=[".debs"])
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=gpu quick=0 build_dir="" out=${OUT:-runs/gpu-check}
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) mode=cpu ;;
    --quick) quick=1 ;;
    --build-dir) build_dir=$2; shift ;;
    -*) echo "gpu-check.sh: unknown option $1 (--cpu, --quick, --build-dir DIR)" >&2; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
[ -n "$build_dir" ] || build_dir=$([ $mode = cpu ] && echo build || echo build-gpu)
build_dir=$(cd "$build_dir" 2>/dev/null && pwd || echo "$root/$build_dir")
mkdir -p "$out/logs" && out=$(cd "$out" && pwd)
rm -f "$out/checks.jsonl" "$out/figures.jsonl"
work=$out/work
rm -rf "$work" && mkdir -p "$work"
lmlab=$build_dir/tools/lmlab
dev=$([ $mode = cpu ] && echo cpu || echo cuda)
export LMLAB_PROGRESS=plain PYTHONDONTWRITEBYTECODE=1
export LMLAB_DATA=${LMLAB_DATA:-$(cd "$root/../shared/data" 2>/dev/null && pwd)}
py() { python3 "$root/scripts/gpu_check.py" "$@"; }
has_module() { python3 -c "import $1" 2>/dev/null; }
# The first Python that has torch: the GPU machine's, or Debian's python3-torch beside another python3.
py_torch=$(for p in python3 /usr/bin/python3; do "$p" -c 'import torch' 2>/dev/null && { command -v "$p"; break; }; done)
size() { if [ $quick = 1 ]; then echo "$1"; else echo "$2"; fi; }

# check NAME LIMIT_S NEEDS FUNCTION: runs FUNCTION with its output in logs/NAME.log and records
# pass, fail or skip. NEEDS: cuda, py:MODULE[,MODULE], pytorch (some Python with torch), or - ; a skip says what was missing.
check() {
  local name=$1 limit=$2 needs=$3 fn=$4 note="" status start=$SECONDS missing=""
  if [ "$needs" = cuda ] && [ $mode = cpu ]; then missing="needs CUDA (run without --cpu on the GPU machine)"; fi
  if [ "$needs" = pytorch ] && [ -z "$py_torch" ]; then missing="needs a Python with torch (Debian: python3-torch)"; fi
  if [[ $needs == py:* ]]; then
    local modules=${needs#py:}
    local absent=""
    for m in ${modules//,/ }; do has_module "$m" || absent+=" $m"; done
    [ -n "$absent" ] && missing="needs the Python module(s)$absent"
  fi
  local left=$((budget - (SECONDS - start_all)))
  [ -z "$missing" ] && [ "$left" -lt 20 ] && missing="out of the ${budget} s budget (GPU_CHECK_BUDGET_S)"
  [ "$left" -lt "$limit" ] && limit=$left
  if [ -n "$missing" ]; then
    status=skip note=$missing
  else
    echo "== $name" >&2
    export -f "$fn"
    timeout --kill-after 10 "$limit" bash -c "$fn" >"$out/logs/$name.log" 2>&1
    local rc=$?
    if [ $rc = 0 ]; then status=pass; else status=fail; fi
    [ $rc = 124 ] && note="timed out after ${limit} s"
    [ -z "$note" ] && note=$(grep -m1 '^NOTE: ' "$out/logs/$name.log" | cut -c7-)
    [ -z "$note" ] && [ $status = fail ] && note=$(tail -n1 "$out/logs/$name.log" | cut -c1-160)
  fi
  python3 -c 'import json,sys; print(json.dumps({"check": sys.argv[1], "status": sys.argv[2],
    "seconds": float(sys.argv[3]), "note": sys.argv[4].replace("|", "/")}))' \
    "$name" "$status" "$((SECONDS - start))" "$note" >>"$out/checks.jsonl"
  echo "   $name: $status${note:+: $note}" >&2
}
export root out work lmlab dev quick build_dir mode bench_targets py_torch
export -f py has_module size

source "$root/scripts/gpu_check_steps.sh"

# The device call's limit is 600 s: stop starting checks before it, so the report is written.
budget=${GPU_CHECK_BUDGET_S:-$([ $mode = gpu ] && echo 540 || echo 3600)}
start_all=$SECONDS
python3 -c 'import json,sys,datetime; json.dump({"date": datetime.date.today().isoformat(),
  "device": sys.argv[1], "mode": sys.argv[2], "commit": sys.argv[3]}, open(sys.argv[4], "w"))' \
  "$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo "CPU: $(nproc) cores") | head -n1)" \
  "$mode$([ $quick = 1 ] && echo ' quick')" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$out/meta.json"

# Most valuable first: if the budget runs out, what is lost is the least missed.
check build            420 -               step_build
check cuda_tests       120 cuda            step_cuda_tests
check data             120 -               step_data
check train_resume     180 -               step_train_resume
check gpt2_throughput  240 cuda            step_gpt2_throughput
check export_hf        120 -               step_export_hf
check hf_transformers  150 py:torch,transformers,tokenizers,safetensors step_hf_transformers
check hf_import_back   120 py:torch,transformers step_hf_import_back
check hf_forward       120 pytorch         step_hf_forward
check moe_layer        120 -               step_moe_layer
check mile_overhead    60  -               step_mile_overhead
check data_parallel    120 -               step_data_parallel
check tensorboard      60  -               step_tensorboard
check tensorboard_py   60  py:tensorboard  step_tensorboard_py
check tokenizers_py    240 py:tokenizers,tiktoken step_tokenizers_py
check size_limit       30  cuda            step_size_limit

py report "$out"
rc=$?
echo "gpu-check: $(grep -c '"pass"' "$out/checks.jsonl") passed, $(grep -c '"fail"' "$out/checks.jsonl") failed," \
  "$(grep -c '"skip"' "$out/checks.jsonl") skipped in $((SECONDS - start_all)) s; report: $out/gpu-report.md" >&2
exit $rc
