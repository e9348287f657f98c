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
import argparse, glob, json, os, subprocess, sys

from tensorboard.backend.event_processing import event_accumulator

# The same float32 rounding and metrics.jsonl flattening as the fixture check beside this file.
from check_tensorboard import f32, flatten


def expected_scalars(run):
    expected = {}  # (tag, step) -> value; a later line for the same step replaces an earlier one
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if "step" not in rec:
                raise SystemExit(f"{run}/metrics.jsonl:{n}: no 'step'")
            step = rec.pop("step")
            flat = {}
            flatten(rec, "", flat)
            for tag, v in flat.items():
                expected[(tag, step)] = v
    return expected


def event_scalars(run):
    files = sorted(glob.glob(os.path.join(run, "tb", "events.out.tfevents.*")))
    if not files:
        raise SystemExit(f"{run}/tb: no event files")
    got = {}
    for path in files:  # in creation order (the file names start with the wall time)
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
    expected = expected_scalars(run)
    got, dir_tags, n_files = event_scalars(run)
    # Steps dropped from metrics.jsonl by a resume may survive in an older event file.
    last_step = max(step for _, step in expected) if expected else -1
    got = {k: v for k, v in got.items() if k in expected or k[1] <= last_step}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    bad = [(k, expected[k], got[k]) for k in expected.keys() & got.keys() if f32(expected[k]) != got[k]]
    tags = {t for t, _ in expected}
    absent_required = [t for t in required if t not in tags]
    print(f"tensorboard run check: {len(got)} scalars from {n_files} event file(s), {len(expected)} in "
          f"metrics.jsonl, {len(tags)} tags; missing {len(missing)}, extra {len(extra)}, mismatched {len(bad)}")
    for k in missing[:5]:
        print("  missing", k)
    for k in extra[:5]:
        print("  extra", k)
    for k, e, g in bad[:5]:
        print("  mismatch", k, e, g)
    if tags - dir_tags:
        print("  tags not seen when loading tb/ as a directory:", sorted(tags - dir_tags)[:5])
    if absent_required:
        print("  required tags absent from metrics.jsonl:", absent_required)
    ok = not missing and not extra and not bad and not (tags - dir_tags) and not absent_required
    print("tensorboard run check:", "PASS" if ok else "FAIL")
    return ok


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
