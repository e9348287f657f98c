#!/usr/bin/env python3
"""Reads a run's TensorBoard events with TensorBoard's own EventAccumulator and checks every
scalar equals the value in metrics.jsonl (to float32 precision, which is what events store).

    python3 bench/check_tensorboard.py RUN_DIR
"""
import glob, json, math, sys

from tb_events import f32, flatten
from tensorboard.backend.event_processing import event_accumulator


def main(run):
    expected = {}  # (tag, step) -> value
    with open(f"{run}/metrics.jsonl") as f:
        for line in f:
            rec = json.loads(line)
            step = rec.pop("step")
            flat = {}
            flatten(rec, "", flat)
            for tag, v in flat.items():
                expected[(tag, step)] = v
    files = glob.glob(f"{run}/tb/events.out.tfevents.*")
    assert files, "no event files"
    got = {}
    for path in files:
        acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            for ev in acc.Scalars(tag):
                got[(tag, ev.step)] = ev.value
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    bad = [(k, expected[k], got[k]) for k in expected.keys() & got.keys()
           if not math.isclose(f32(expected[k]), got[k], rel_tol=0, abs_tol=0)]
    print(f"tensorboard: {len(got)} scalars read back from {len(files)} file(s); "
          f"{len(expected)} in metrics.jsonl; missing {len(missing)}, extra {len(extra)}, "
          f"mismatched {len(bad)}")
    for k, e, g in bad[:5]:
        print("  mismatch", k, e, g)
    ok = not missing and not extra and not bad
    print("tensorboard check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
