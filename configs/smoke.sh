# Sourced by configs/*/run_all.sh. With --smoke as the first argument the script runs its same
# path end to end at toy size (well under 3 minutes on 2 cores): the configs' models on tiny data
# (configs/prepare_data.sh smoke: BPE 512 on 400 kB of TinyStories), few steps, short windows,
# into runs/smoke/ so real runs are never mixed with toy ones. Sets:
#   SMOKE       1 with --smoke, else 0 (and --smoke is shifted off the arguments)
#   RUNS        where the runs go: runs or runs/smoke
#   SMOKE_SET   --set arguments added to every `lmlab train` (empty without --smoke)
#   EVAL_LIMIT  --limit for `lmlab eval --tasks val` (empty without --smoke)
#   steps N     prints N, or N / 25 with --smoke (step counts the scripts pass to fits)
# and prepare_data NAME prepares NAME, or the smoke data with --smoke.
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then SMOKE=1; shift; fi
RUNS=runs
SMOKE_SET=""
EVAL_LIMIT=""
if [ "$SMOKE" = 1 ]; then
  RUNS=runs/smoke
  SMOKE_SET="--set data.dir=data/smoke --set data.seq_len=64 --set train.batch_size=4 --set train.steps=40 --set train.warmup_steps=4 --set train.checkpoint_every=0 --set eval.every=2 --set eval.windows=8"
  EVAL_LIMIT="--limit 8"
fi
steps() { if [ "$SMOKE" = 1 ]; then echo $(( $1 / 25 )); else echo "$1"; fi; }
prepare_data() { if [ "$SMOKE" = 1 ]; then configs/prepare_data.sh smoke; else configs/prepare_data.sh "$1"; fi; }
