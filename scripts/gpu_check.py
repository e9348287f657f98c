#!/usr/bin/env python3
"""The parts of scripts/gpu-check.sh that are easier in Python (standard library only, so they
run on every machine): turning the benchmarks' printed tables into figure records, comparing two
runs' metrics, and writing the report.

  gpu_check.py figures moe|loss|gpt2 LOG [--check NAME]   figure records (JSON lines) on stdout
  gpu_check.py same-metrics A/metrics.jsonl B/metrics.jsonl [--tol T]   exit 1 when they differ
  gpu_check.py same-tensors A.safetensors B.safetensors   exit 1 unless every tensor is bit-identical
  gpu_check.py report OUTDIR                              writes gpu-report.md and gpu-figures.json

A figure record: {"check", "figure", "ours", "peer", "peer_name", "unit", "lower_is_better",
"target"}; `speed` = peer/ours when lower is better, ours/peer otherwise, and `target` (or null)
is the least speed the issue asks for. The checks file has one {"check", "status", "seconds",
"note"} per check, status pass, fail or skip.
"""
import argparse, json, math, os, re, struct, sys


def record(check, figure, ours, peer, peer_name, unit, lower_is_better, target=None):
    return {"check": check, "figure": figure, "ours": ours, "peer": peer, "peer_name": peer_name,
            "unit": unit, "lower_is_better": lower_is_better, "target": target}


def moe_figures(text, check):
    """moe_layer_bench: one row per variant (ms against the dense FFN of equal active FLOPs),
    then DSMoE's eval forward skipping experts under tau against computing all of them."""
    out = []
    row = re.compile(r"^(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")
    for line in text.splitlines():
        m = row.match(line)
        if m and not line.startswith("device"):
            name = m.group(1).strip()
            out.append(record(check, f"MoE layer fwd+bwd: {name}", float(m.group(4)), float(m.group(5)),
                              "dense FFN, equal active FLOPs", "ms", True, 0.7))
        m = re.search(r"dsmoe inference: active share ([\d.]+), forward ([\d.]+) ms .* vs ([\d.]+) ms", line)
        if m:
            out.append(record(check, f"DSMoE eval forward at active share {m.group(1)}", float(m.group(2)),
                              float(m.group(3)), "all experts (the dense FFN)", "ms", True, 1.0))
    return out


def loss_figures(text, check):
    """loss_bench: ms per loss+backward step of MiLe and focal against CE."""
    ms = {}
    for line in text.splitlines():
        m = re.match(r"^(ce|mile|focal)\s+([\d.]+)\s", line)
        if m:
            ms[m.group(1)] = float(m.group(2))
    if "ce" not in ms:
        return []
    return [record(check, f"{name} loss step", ms[name], ms["ce"], "cross-entropy", "ms", True,
                   1 / 1.05 if name == "mile" else None) for name in ("mile", "focal") if name in ms]


def gpt2_figures(text, check):
    """bench/train_gpt2_bench.sh: tokens/s and MFU of lmlab and of the PyTorch reference modes."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^(.+?)\s+([\d,]+)\s+([\d.]+|nan)%\s*$", line)
        if m and not line.startswith("implementation"):
            rows[m.group(1).strip()] = (float(m.group(2).replace(",", "")), float(m.group(3)))
    ours = next((v for k, v in rows.items() if k.startswith("lmlab")), None)
    if ours is None:
        return []
    out = [record(check, "GPT-2 124M bf16 train MFU", ours[1], None, None, "%", False)]
    for name, target in (("eager", 1.0), ("compile", 0.9)):
        peer = next((v for k, v in rows.items() if name in k), None)
        if peer:
            out.append(record(check, "GPT-2 124M bf16 train tokens/s", ours[0], peer[0],
                              f"PyTorch {name}", "tokens/s", False, target))
            out.append(record(check, f"GPT-2 124M bf16 MFU of PyTorch {name}", peer[1], None, None, "%", False))
    return out


def same_metrics(a, b, tol):
    """Every record of run A equals run B's record of the same step (every numeric key A has
    but wall-clock ones), within tol (0 = bit for bit)."""
    timing = {"tokens_per_s", "samples_per_s", "mfu", "elapsed_s", "step_s", "wall_s"}
    def load(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    rb = {(r.get("step"), tuple(sorted(r))): r for r in load(b)}
    ra = load(a)
    compared = 0
    for r in ra:
        other = rb.get((r.get("step"), tuple(sorted(r))))
        if other is None:
            print(f"step {r.get('step')}: no record with the same keys in {b}")
            return False
        for k, v in r.items():
            if k in timing or not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            w = other[k]
            if not (abs(v - w) <= tol or (isinstance(v, float) and math.isnan(v) and math.isnan(w))):
                print(f"step {r.get('step')}: {k} {v!r} in {a} but {w!r} in {b}")
                return False
            compared += 1
    print(f"{len(ra)} records, {compared} values equal (tolerance {tol:g})")
    return compared > 0


def read_safetensors(path):
    """{name: (dtype, shape, raw bytes)} from the format's layout: u64 header size, JSON, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items()}


def same_tensors(a, b):
    ta, tb = read_safetensors(a), read_safetensors(b)
    if set(ta) != set(tb):
        print(f"names differ: only in {a}: {sorted(set(ta) - set(tb))[:5]}, only in {b}: {sorted(set(tb) - set(ta))[:5]}")
        return False
    differ = [k for k in ta if ta[k] != tb[k]]
    print(f"{len(ta)} tensors, {len(ta) - len(differ)} bit-identical" + (f"; differ: {differ[:5]}" if differ else ""))
    return not differ


def speed(f):
    if f["peer"] in (None, 0) or f["ours"] in (None, 0):
        return None
    return f["peer"] / f["ours"] if f["lower_is_better"] else f["ours"] / f["peer"]


def fmt(x):
    if x is None:
        return "–"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def report(outdir):
    def load(name):
        path = os.path.join(outdir, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    checks, figures = load("checks.jsonl"), load("figures.jsonl")
    meta = json.load(open(os.path.join(outdir, "meta.json"))) if os.path.exists(os.path.join(outdir, "meta.json")) else {}
    counts = {s: sum(c["status"] == s for c in checks) for s in ("pass", "fail", "skip")}
    lines = ["# lmlab GPU check", "",
             f"{meta.get('date', '?')} on {meta.get('device', '?')}, mode {meta.get('mode', '?')}, "
             f"commit {meta.get('commit', '?')}: {counts['pass']} passed, {counts['fail']} failed, "
             f"{counts['skip']} skipped.", "",
             "| check | status | seconds | note |", "|---|---|---:|---|"]
    for c in checks:
        lines.append(f"| {c['check']} | {c['status'].upper()} | {c['seconds']:.0f} | {c.get('note', '')} |")
    lines += ["", "## Figures (ours next to the peer, same run)", "",
              "| figure | ours | peer | peer is | unit | speed vs peer | target | met |",
              "|---|---:|---:|---|---|---:|---:|---|"]
    for f in figures:
        s = speed(f)
        f["speed"] = s
        met = "–" if f["target"] is None or s is None else ("yes" if s >= f["target"] else "NO")
        target = "–" if f["target"] is None else f"≥ {f['target']:.3g}x"
        lines.append(f"| {f['figure']} | {fmt(f['ours'])} | {fmt(f['peer'])} | {f['peer_name'] or '–'} | "
                     f"{f['unit']} | {'–' if s is None else f'{s:.2f}x'} | {target} | {met} |")
    lines += ["", "Speed is the peer's time over ours (or our rate over the peer's): above 1 we are faster.",
              "Logs of every check are in logs/ beside this report.", ""]
    write_atomic(os.path.join(outdir, "gpu-report.md"), "\n".join(lines))
    write_atomic(os.path.join(outdir, "gpu-figures.json"),
                 json.dumps({"meta": meta, "checks": checks, "figures": figures}, indent=1) + "\n")
    return 1 if counts["fail"] else 0


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figures")
    f.add_argument("kind", choices=["moe", "loss", "gpt2"])
    f.add_argument("log")
    f.add_argument("--check", default=None)
    s = sub.add_parser("same-metrics")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--tol", type=float, default=0.0)
    t = sub.add_parser("same-tensors")
    t.add_argument("a")
    t.add_argument("b")
    r = sub.add_parser("report")
    r.add_argument("outdir")
    a = ap.parse_args()
    if a.cmd == "figures":
        parse = {"moe": moe_figures, "loss": loss_figures, "gpt2": gpt2_figures}[a.kind]
        recs = parse(open(a.log, encoding="utf-8", errors="replace").read(), a.check or a.kind)
        for rec in recs:
            print(json.dumps(rec))
        return 0 if recs else 1
    if a.cmd == "same-metrics":
        return 0 if same_metrics(a.a, a.b, a.tol) else 1
    if a.cmd == "same-tensors":
        return 0 if same_tensors(a.a, a.b) else 1
    return report(a.outdir)


if __name__ == "__main__":
    sys.exit(main())
