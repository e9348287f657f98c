# The checks of scripts/gpu-check.sh, one function each (sourced by it; each runs in its own
# bash with its output in logs/<check>.log). Exit status 0 = pass. A line "NOTE: ..." is the
# report's note; figures are appended to $out/figures.jsonl through scripts/gpu_check.py.
# Shared: $root, $out, $work, $lmlab, $dev (cuda or cpu), $quick, $build_dir, $mode.

bench_targets="lmlab test_model test_train moe_layer_bench loss_bench tokenizer_encode_bench"

step_build() {
  cd "$root"
  if [ "$mode" = gpu ]; then
    LMLAB_BUILD_DIR=$build_dir scripts/gpu-build.sh $bench_targets || return 1
  elif [ "$quick" = 1 ]; then
    for t in tools/lmlab bench/moe_layer_bench bench/loss_bench; do
      [ -x "$build_dir/$t" ] || { echo "no $build_dir/$t: build first (scripts/test.sh)"; return 1; }
    done
  else
    scripts/setup.sh "$build_dir" Release && cmake --build "$build_dir" --target $bench_targets || return 1
  fi
  echo "NOTE: $("$lmlab" --version 2>/dev/null | head -n1) in $build_dir"
}

step_cuda_tests() {
  local t=$build_dir/tests
  "$t/test_model" --gtest_filter='Cuda*' && "$t/test_train" --gtest_filter='PickDevice*' || return 1
  # A CUDA test that skipped did not check anything.
  ! grep -q '\[  SKIPPED \]' "$out/logs/cuda_tests.log" || { echo "a CUDA test skipped"; return 1; }
}

# A ~1M-parameter LLaMA on TinyStories, tokenizer and shards built here (nothing from data/).
# Without the shared data (a machine it did not travel to), the repository's own docs stand in.
step_data() {
  local ts=$LMLAB_DATA/lm/tinystories
  if [ -f "$ts/tinystories_train_slice_lowercased.txt" ]; then
    (set +o pipefail; head -c "$(size 200000 2000000)" "$ts/tinystories_train_slice_lowercased.txt" | sed '$d') >"$work/train.txt"
    (set +o pipefail; head -c 60000 "$ts/tinystories_valid_first1000.txt" | tr '[:upper:]' '[:lower:]' | sed '$d') >"$work/valid.txt"
  else
    echo "NOTE: no $ts: trained on the repository's docs instead"
    cat "$root"/docs/*.md "$root"/README.md >"$work/train.txt"
    cat "$root"/configs/*/*.toml >"$work/valid.txt"
  fi
  "$lmlab" tokenizer train --vocab-size "$(size 512 2048)" --input "$work/train.txt" --output "$work/tok.json" &&
    "$lmlab" data prepare --tokenizer "$work/tok.json" --doc-split file --input "$work/train.txt" \
      --val-input "$work/valid.txt" --output "$work/data"
}

# tiny_train RUN_DIR [--set ...]: a short run of the quickstart model on $dev (bf16 autocast on CUDA).
tiny_train() {
  local run=$1; shift
  "$lmlab" train --config "$root/configs/quickstart.toml" --set data.dir="$work/data" --set run.out_dir="$run" \
    --set run.device="$dev" --set train.max_minutes=0 --set train.steps="$(size 12 60)" --set train.warmup_steps=2 \
    --set train.log_every=1 --set eval.every="$(size 6 20)" --set eval.windows=4 --set train.batch_size=8 \
    --set data.seq_len=64 --set model.max_seq_len=64 --set train.checkpoint_every="$(size 4 20)" "$@"
}
export -f tiny_train

step_train_resume() {
  local kill_at; kill_at=$(size 6 30)
  tiny_train "$work/run_a" --set model.dropout=0.1 || return 1
  LMLAB_TEST_KILL_AFTER_STEP=$kill_at tiny_train "$work/run_b" --set model.dropout=0.1 && { echo "the kill did not happen"; return 1; }
  tiny_train "$work/run_b" --resume --set model.dropout=0.1 || return 1
  if py same-metrics "$work/run_a/metrics.jsonl" "$work/run_b/metrics.jsonl"; then
    echo "NOTE: dropout 0.1, $([ "$dev" = cuda ] && echo "bf16 autocast, ")killed after step $kill_at and resumed:" \
      "every logged value bit-identical to the uninterrupted run"
    return 0
  fi
  # Is it the resume, or do two uninterrupted runs differ too (non-deterministic kernels)?
  tiny_train "$work/run_a2" --set model.dropout=0.1 || return 1
  echo "NOTE: the resumed run differs from the uninterrupted one; two uninterrupted runs:" \
    "$(py same-metrics "$work/run_a/metrics.jsonl" "$work/run_a2/metrics.jsonl" | tail -n1)"
  return 1
}

step_data_parallel() {
  local port=$((29500 + RANDOM % 1000)) world=2 gpus=0
  [ "$dev" = cuda ] && gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
  [ "$dev" = cuda ] && [ "$gpus" -lt 2 ] && world=1  # one GPU: NCCL across one rank (init, all-reduce, broadcast)
  tiny_train "$work/dp_one" --set train.batch_size=8 || return 1
  local r pids=()
  for ((r = 0; r < world; r++)); do
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=$world RANK=$r LOCAL_RANK=$r \
      tiny_train "$work/dp_many" --set train.batch_size=$((8 / world)) >"$work/dp_rank$r.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$work"/dp_rank*.log; return 1; }; done
  cat "$work/dp_rank0.log"
  py same-metrics "$work/dp_one/metrics.jsonl" "$work/dp_many/metrics.jsonl" --tol 1e-4 || return 1
  echo "NOTE: $world rank(s) on $dev give the losses of one rank with the whole batch (within 1e-4)"
}

# Three exports from short runs: the LLaMA (run_a), a GPT-2 and a top-k MoE (Mixtral); for each,
# reference logits, lmlab's greedy continuation, and for the LLaMA the eval requests and results.
step_export_hf() {
  tiny_train "$work/run_gpt2" --set model.arch=gpt2 || return 1
  tiny_train "$work/run_moe" --set model.ffn.type=moe --set model.ffn.n_experts=4 --set model.ffn.top_k=2 || return 1
  local a run
  for a in llama gpt2 moe; do
    run=$work/run_$a; [ $a = llama ] && run=$work/run_a
    "$lmlab" export hf --checkpoint "$run" --output "$work/hf_$a" --reference || return 1
    for f in config.json generation_config.json tokenizer.json tokenizer_config.json model.safetensors reference_logits.safetensors; do
      [ -s "$work/hf_$a/$f" ] || { echo "export $a: no $f"; return 1; }
    done
    "$lmlab" generate --checkpoint "$run" --prompt "Once upon a time" --max-tokens "$(size 8 24)" --temperature 0 \
      --device "$dev" >"$work/gen_$a.txt" || return 1
    "$lmlab" generate --checkpoint "$run" --prompt "" --max-tokens "$(size 8 24)" --temperature 0 \
      --device "$dev" >"$work/gen_empty_$a.txt" || return 1
  done
  if [ -d "$LMLAB_DATA/eval" ]; then
    "$lmlab" eval --checkpoint "$work/run_a" --tasks "$(size piqa piqa,hellaswag)" --limit "$(size 4 200)" \
      --output "$work/eval_a.json" --samples "$work/samples_a.jsonl" || return 1
  fi
  echo "NOTE: LLaMA, GPT-2 and Mixtral exports written with reference logits$([ -d "$LMLAB_DATA/eval" ] || echo "; no eval data, so no eval requests")"
}

step_hf_transformers() {
  local a ok=0
  for a in llama gpt2 moe; do
    local extra=()
    [ $a = llama ] && [ -f "$work/eval_a.json" ] && extra=(--results "$work/eval_a.json" --samples "$work/samples_a.jsonl")
    echo "-- $a"
    python3 "$root/bench/check_hf_export.py" --export "$work/hf_$a" "${extra[@]}" \
      --generate-prompt "Once upon a time" --generate-expected "$work/gen_$a.txt" --max-new-tokens "$(size 8 24)" \
      --save-back "$work/hf_back_$a" || ok=1
  done
  [ $ok = 0 ] && echo "NOTE: transformers logits within 1e-4, same eval accuracy and same greedy text, for all three; saved back for hf_import_back"
  return $ok
}

# Our own forwards from the transformers formulas, torch only (Debian's python3-torch will do).
step_hf_forward() {
  local a ok=0
  for a in llama gpt2 moe; do
    "$py_torch" "$root/bench/check_hf_forward.py" --export "$work/hf_$a" --expected "$work/gen_empty_$a.txt" \
      --max-new-tokens "$(size 8 24)" || ok=1
  done
  [ $ok = 0 ] && echo "NOTE: LLaMA, GPT-2 and Mixtral forwards in plain torch ($("$py_torch" -c 'import torch; print(torch.__version__)')): logits within 1e-4, same greedy text"
  return $ok
}

step_tensorboard() {
  python3 "$root/bench/check_tb.py" "$work/run_a" && python3 "$root/bench/check_tb.py" "$work/run_b" || return 1
  echo "NOTE: our reader (every CRC checked), killed-and-resumed run: $(grep -o '[0-9]* scalars from [0-9]* event file(s)' \
    "$out/logs/tensorboard.log" | tail -n1), all equal to metrics.jsonl"
}

step_tensorboard_py() {
  python3 "$root/bench/check_tensorboard_run.py" "$work/run_a" && python3 "$root/bench/check_tensorboard_run.py" "$work/run_b"
}

step_tokenizers_py() {
  python3 "$root/bench/check_tokenizer_hf.py" --lmlab "$lmlab" --figures "$out/figures.jsonl"
}

step_moe_layer() {
  local dtype=fp32; [ "$dev" = cuda ] && dtype=bf16
  "$build_dir/bench/moe_layer_bench" --device "$dev" --dtype $dtype --tokens "$(size 256 16384)" --d "$(size 64 768)" \
    --experts 8 --top-k 2 --iters "$(size 2 20)" --warmup 1 | tee "$work/moe.txt" || return 1
  py figures moe "$work/moe.txt" --check moe_layer >>"$out/figures.jsonl"
}

step_mile_overhead() {
  local bf16=(); [ "$dev" = cuda ] && bf16=(--bf16)
  "$build_dir/bench/loss_bench" --device "$dev" --rows "$(size 256 16384)" --vocab "$(size 2048 50304)" \
    --iters "$(size 3 20)" --warmup 1 "${bf16[@]}" | tee "$work/loss.txt" || return 1
  py figures loss "$work/loss.txt" --check mile_overhead >>"$out/figures.jsonl"
}

step_gpt2_throughput() {
  BENCH_DIR=$work/gpt2 bash "$root/bench/train_gpt2_bench.sh" "$lmlab" | tee "$work/gpt2.txt" || return 1
  py figures gpt2 "$work/gpt2.txt" --check gpt2_throughput >>"$out/figures.jsonl"
}

# What transformers saved back in step_hf_transformers (save_pretrained in 1 MB shards with their
# index, AutoTokenizer's files) imports with `lmlab import hf`: the imported checkpoint generates
# lmlab's greedy text, and exported again its every tensor is bit-identical to the first export.
step_hf_import_back() {
  local a ok=0
  for a in llama gpt2 moe; do
    echo "-- $a"
    [ -f "$work/hf_back_$a/config.json" ] || { echo "no $work/hf_back_$a (step hf_transformers did not save it)"; ok=1; continue; }
    "$lmlab" import hf --input "$work/hf_back_$a" --output "$work/ck_back_$a" || { ok=1; continue; }
    "$lmlab" generate --checkpoint "$work/ck_back_$a" --prompt "Once upon a time" --max-tokens "$(size 8 24)" \
      --temperature 0 --device "$dev" >"$work/gen_back_$a.txt" || { ok=1; continue; }
    if cmp -s "$work/gen_back_$a.txt" "$work/gen_$a.txt"; then
      echo "greedy text equal: $(cat "$work/gen_back_$a.txt")"
    else
      echo "greedy text DIFFERENT: imported $(cat "$work/gen_back_$a.txt") / lmlab $(cat "$work/gen_$a.txt")"; ok=1
    fi
    "$lmlab" export hf --checkpoint "$work/ck_back_$a" --output "$work/hf_again_$a" || { ok=1; continue; }
    py same-tensors "$work/hf_$a/model.safetensors" "$work/hf_again_$a/model.safetensors" || ok=1
  done
  [ $ok = 0 ] && echo "NOTE: LLaMA, GPT-2, Mixtral as transformers saved them (sharded) import: same greedy text, re-export bit-identical"
  return $ok
}

# The size check against the GPU's memory, not the host's (issue #23): a dense LLaMA sized to
# ~1.1x the device's memory (d_model 4096, ~3 GiB of weights, gradients and AdamW state per
# layer) is refused by `train --print-params` on CUDA with exit 2 naming device memory; the same
# config with run.device = cpu is checked against host memory instead and, where it fits there
# (an 80 GB H100 in a 128 GiB machine), counted from the config alone (nothing is built).
step_size_limit() {
  local gpu_mib layers rc=0 cpu_rc=0 out cpu
  gpu_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -n1) || return 1
  layers=$(( (gpu_mib * 11 / 10 / 1024 - 2) / 3 + 1 ))
  local args=(train --config "$root/configs/quickstart.toml" --print-params --set model.vocab_size=32000
    --set model.d_model=4096 --set model.n_head=32 --set model.n_layer="$layers" --set data.seq_len=16
    --set model.max_seq_len=16 --set train.batch_size=1)
  out=$("$lmlab" "${args[@]}" --set run.device=cuda 2>&1) || rc=$?
  cpu=$("$lmlab" "${args[@]}" --set run.device=cpu 2>&1) || cpu_rc=$?
  if [ $rc != 2 ] || ! grep -q "model.d_model = 4096: .* of device memory" <<<"$out"; then
    echo "cuda: not refused naming device memory (exit $rc): $out"; return 1
  fi
  if [ $cpu_rc = 0 ] && grep -q '^counted_from config' <<<"$cpu"; then
    echo "NOTE: $layers layers: refused on CUDA ($(grep -o "CUDA device [0-9]*'s [0-9.]* GiB of device memory" <<<"$out")), counted from the config on the CPU"
  elif [ $cpu_rc = 2 ] && grep -q "this machine's" <<<"$cpu"; then
    echo "NOTE: $layers layers: refused on CUDA naming device memory; the host has less memory than the GPU, so the CPU refuses too"
  else
    echo "cpu: unexpected (exit $cpu_rc): $cpu"; return 1
  fi
  printf '%s\n%s\n' "$out" "$cpu"
}
