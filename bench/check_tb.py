#!/usr/bin/env python3
"""Reads a run's TensorBoard events with our own reader (bench/tb_events.py: standard library,
every CRC-32C checked) and checks that they hold exactly the scalars of metrics.jsonl, to float32
precision, as bench/check_tensorboard_run.py does with TensorBoard's EventAccumulator. Runs
wherever Python does (scripts/gpu-check.sh, ctest through it).

    python3 bench/check_tb.py RUN_DIR [--require loss,lr]
Exit 0 on a match, 1 on any difference or a damaged file (the offset is printed).
"""
import argparse, sys

from tb_events import compare, event_files, event_scalars


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="run directory (metrics.jsonl + tb/)")
    ap.add_argument("--require", default="loss", help="comma-separated tags that must be logged")
    a = ap.parse_args()
    files = event_files(a.run)
    got = {}
    for path in files:
        try:
            scalars, version = event_scalars(path)
        except ValueError as e:
            print(f"tensorboard run check: {e}")
            return 1
        if version != "brain.Event:2":
            print(f"{path}: file_version {version!r}, expected 'brain.Event:2'")
            return 1
        got.update(scalars)  # a later file's value wins, as in TensorBoard
    return 0 if compare(a.run, got, len(files), [t for t in a.require.split(",") if t]) else 1


if __name__ == "__main__":
    sys.exit(main())
