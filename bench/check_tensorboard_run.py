#!/usr/bin/env python3
"""Checks a real training run's TensorBoard events (not the fixture of check_tensorboard.py):
TensorBoard's EventAccumulator, reading the run's whole tb/ directory the way `tensorboard
--logdir` does, must see exactly the scalars of metrics.jsonl (float32 precision), including
after a resume (metrics.jsonl drops the steps after the resume point; in the events the later
file's value wins, as in TensorBoard's purge of orphaned data).

    python3 bench/check_tensorboard_run.py RUN_DIR [--require loss,lr]
    python3 bench/check_tensorboard_run.py --train build/lmlab --config configs/X.toml --out runs/tb_check

With --train, it first runs `lmlab train --config X --set run.out_dir=OUT --set train.steps=N`
(a short run), then checks OUT. Needs `pip install tensorboard` (no TensorFlow).
"""
import argparse, os, subprocess, sys

from tensorboard.backend.event_processing import event_accumulator

# The metrics.jsonl side and the comparison are shared with bench/check_tb.py (our own reader).
from tb_events import compare, event_files


def accumulator_scalars(run):
    files = event_files(run)
    got = {}
    for path in files:
        acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            for ev in acc.Scalars(tag):
                got[(tag, ev.step)] = ev.value
    # The directory as `tensorboard --logdir` loads it must hold the same tags.
    whole = event_accumulator.EventAccumulator(os.path.join(run, "tb"), size_guidance={event_accumulator.SCALARS: 0})
    whole.Reload()
    return got, set(whole.Tags()["scalars"]), len(files)


def check(run, required):
    got, dir_tags, n_files = accumulator_scalars(run)
    return compare(run, got, n_files, required, dir_tags)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", nargs="?", help="run directory (metrics.jsonl + tb/)")
    ap.add_argument("--require", default="loss", help="comma-separated tags that must be logged")
    ap.add_argument("--train", help="path of the lmlab executable: run a short training first")
    ap.add_argument("--config", help="experiment TOML for --train")
    ap.add_argument("--out", default="runs/tb_check", help="run directory for --train")
    ap.add_argument("--steps", type=int, default=50)
    a = ap.parse_args()
    run = a.run
    if a.train:
        if not a.config:
            ap.error("--train needs --config")
        subprocess.run([a.train, "train", "--config", a.config, "--set", f"run.out_dir={a.out}",
                        "--set", f"train.steps={a.steps}"], check=True)
        run = a.out
    if not run:
        ap.error("give a RUN directory or --train")
    required = [t for t in a.require.split(",") if t]
    return 0 if check(run, required) else 1


if __name__ == "__main__":
    sys.exit(main())
