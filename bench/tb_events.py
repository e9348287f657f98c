"""TensorBoard event files without TensorBoard (standard library only): the TFRecord framing with
its CRC-32C checks, the few protobuf fields of Event/Summary a scalar uses, and the comparison
of a run's scalars with its metrics.jsonl that bench/check_tb.py (this reader) and
bench/check_tensorboard_run.py (TensorBoard's EventAccumulator) share.

Written from the formats' public descriptions, not from lmlab's writer (src/lmlab/runlog), so a
mistake in one is not repeated in the other:
  record  = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
  Event   = 1: wall_time (double), 2: step (int64), 3: file_version (string), 5: summary
  Summary = 1: value (repeated); Value = 1: tag (string), 2: simple_value (float)
"""
import glob, json, os, struct


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # Castagnoli, reflected
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The data of every record; raises ValueError naming the offset of a bad CRC or a cut record."""
    with open(path, "rb") as f:
        blob = f.read()
    pos = 0
    while pos < len(blob):
        if pos + 12 > len(blob):
            raise ValueError(f"{path}: byte {pos}: record header cut short")
        head = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", head)
        (crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if crc != masked_crc(head):
            raise ValueError(f"{path}: byte {pos}: length CRC mismatch")
        data = blob[pos + 12:pos + 12 + length]
        end = pos + 12 + length
        if end + 4 > len(blob):
            raise ValueError(f"{path}: byte {pos}: record data cut short")
        (crc,) = struct.unpack("<I", blob[end:end + 4])
        if crc != masked_crc(data):
            raise ValueError(f"{path}: byte {pos}: data CRC mismatch")
        yield data
        pos = end + 4


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(buf):
    """(field number, wire type, value) of a protobuf message; bytes for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, value


def event_scalars(path):
    """{(tag, step): simple_value} of one event file, and its file_version string."""
    scalars, version = {}, None
    for data in records(path):
        step, values = 0, []
        for num, _, value in fields(data):
            if num == 2:
                step = value - (1 << 64) if value >= 1 << 63 else value
            elif num == 3:
                version = value.decode()
            elif num == 5:
                values += [v for n, _, v in fields(value) if n == 1]
        for v in values:
            tag = simple = None
            for n, w, x in fields(v):
                if n == 1:
                    tag = x.decode()
                elif n == 2 and w == 5:
                    (simple,) = struct.unpack("<f", x)
            if tag is not None and simple is not None:
                scalars[(tag, step)] = simple
    return scalars, version


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def flatten(obj, prefix, out):
    for k, v in obj.items():
        tag = f"{prefix}/{k}" if prefix else k
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[tag] = v
        elif isinstance(v, dict):
            flatten(v, tag, out)


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


def event_files(run):
    files = sorted(glob.glob(os.path.join(run, "tb", "events.out.tfevents.*")))
    if not files:
        raise SystemExit(f"{run}/tb: no event files")
    return files  # in creation order (the file names start with the wall time)


def compare(run, got, n_files, required, dir_tags=None):
    """True when the events hold exactly metrics.jsonl's scalars (float32), prints the counts."""
    expected = expected_scalars(run)
    # Steps dropped from metrics.jsonl by a resume may survive in an older event file.
    last_step = max(step for _, step in expected) if expected else -1
    got = {k: v for k, v in got.items() if k in expected or k[1] <= last_step}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    bad = [(k, expected[k], got[k]) for k in expected.keys() & got.keys() if f32(expected[k]) != got[k]]
    tags = {t for t, _ in expected}
    absent_required = [t for t in required if t not in tags]
    unseen = tags - dir_tags if dir_tags is not None else set()
    print(f"tensorboard run check: {len(got)} scalars from {n_files} event file(s), {len(expected)} in "
          f"metrics.jsonl, {len(tags)} tags; missing {len(missing)}, extra {len(extra)}, mismatched {len(bad)}")
    for k in missing[:5]:
        print("  missing", k)
    for k in extra[:5]:
        print("  extra", k)
    for k, e, g in bad[:5]:
        print("  mismatch", k, e, g)
    if unseen:
        print("  tags not seen when loading tb/ as a directory:", sorted(unseen)[:5])
    if absent_required:
        print("  required tags absent from metrics.jsonl:", absent_required)
    ok = not missing and not extra and not bad and not unseen and not absent_required
    print("tensorboard run check:", "PASS" if ok else "FAIL")
    return ok
