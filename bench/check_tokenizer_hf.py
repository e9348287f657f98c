#!/usr/bin/env python3
"""Two-way interoperability check of lmlab tokenizers with Hugging Face `tokenizers` and `tiktoken`
(run on the GPU machine, which has both; needs an lmlab build: scripts/gpu-build.sh).

  lmlab -> HF:  train with `lmlab tokenizer train` (gpt2, gpt4, gpt2 + single digits), load the
                tokenizer.json unchanged in HF `tokenizers` and as a tiktoken Encoding; every
                document must get identical ids from all three, and decode back exactly.
  HF -> lmlab:  train a byte-level BPE with HF `tokenizers` (ByteLevel / Split(GPT-4) + ByteLevel),
                save tokenizer.json, encode with lmlab; ids must be identical.
Text: WikiText-2 test + HC3 Plus zh (Chinese) + HC3 Plus en. Also prints single-thread encode
MB/s of tiktoken next to lmlab's (bench/tokenizer_encode_bench) on WikiText-2 train with the same
vocabulary.

Usage: python3 bench/check_tokenizer_hf.py [--lmlab build-gpu/tools/lmlab] [--data ../shared/data]
Exit 0 when everything matches, 1 on any mismatch (the first ones are printed).
"""
import argparse, gzip, json, os, re, subprocess, sys, tempfile, time

GPT4 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"


def read(path):
    with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
        return f.read()


def jsonl_texts(path):
    return [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]


def lmlab_encode_docs(lmlab, tok, docs, tmp):
    """Encodes every document separately in one lmlab call: documents are joined by the special
    token, which lmlab never merges across, and the ids are split back at its id."""
    src = os.path.join(tmp, "docs.txt")
    with open(src, "w", encoding="utf-8") as f:
        f.write(EOT.join(docs))
    out = subprocess.run([lmlab, "tokenizer", "encode", "--ids", "--tokenizer", tok, "--input", src],
                         check=True, capture_output=True, text=True).stdout.split()
    eot = json.load(open(tok, encoding="utf-8"))["model"]["vocab"][EOT]
    result, cur = [], []
    for x in map(int, out):
        if x == eot:
            result.append(cur)
            cur = []
        else:
            cur.append(x)
    result.append(cur)
    return result


def compare(name, docs, ours, theirs):
    bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    if len(ours) != len(theirs):
        bad.append(-1)
    print(f"  {name}: {len(docs) - len(bad)}/{len(docs)} documents identical")
    for i in bad[:3]:
        if i >= 0:
            j = next(k for k in range(min(len(ours[i]), len(theirs[i])) + 1)
                     if k == min(len(ours[i]), len(theirs[i])) or ours[i][k] != theirs[i][k])
            print(f"    doc {i}: first difference at token {j}: lmlab {ours[i][j:j+5]} vs {theirs[i][j:j+5]}; "
                  f"text {docs[i][:80]!r}")
    return not bad


def tiktoken_encoding(tok_path, pattern):
    import tiktoken
    spec = json.load(open(tok_path, encoding="utf-8"))
    byte_of = {}
    n = 0
    for b in range(256):  # GPT-2's bytes_to_unicode
        printable = (33 <= b <= 126) or (161 <= b <= 172) or (174 <= b <= 255)
        byte_of[chr(b) if printable else chr(256 + n)] = b
        n += 0 if printable else 1
    specials = {t["content"]: t["id"] for t in spec["added_tokens"]}
    scaffold = set(spec.get("lmlab", {}).get("scaffold_tokens", []))
    ranks = {bytes(byte_of[c] for c in s): i for s, i in spec["model"]["vocab"].items()
             if s not in specials and i not in scaffold}
    return tiktoken.Encoding(name="lmlab", pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)


def time_against_tiktoken(a, enc, tok, train_text, tmp):
    """Single-thread encode MB/s of tiktoken and of lmlab's tokenizer_encode_bench (first pass,
    empty word cache) on WikiText-2 train with the same vocabulary; --figures records both."""
    t = time.perf_counter()
    enc.encode_ordinary(train_text)
    tiktoken_mbs = len(train_text.encode()) / 1e6 / (time.perf_counter() - t)
    bench = os.path.join(os.path.dirname(a.lmlab), "..", "bench", "tokenizer_encode_bench")
    text_path = os.path.join(tmp, "wikitext2-train.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(train_text)
    ours = None
    if os.path.exists(bench):
        out = subprocess.run([bench, tok, text_path, "1"], check=True, capture_output=True, text=True).stdout
        m = re.search(r"encode cold: .*? = ([\d.]+) MB/s", out)
        ours = float(m.group(1)) if m else None
    print(f"  encode, 1 thread, WikiText-2 train: tiktoken {tiktoken_mbs:.1f} MB/s, lmlab "
          f"{'(no ' + bench + ')' if ours is None else f'{ours:.1f} MB/s'}")
    if a.figures:
        with open(a.figures, "a") as f:
            f.write(json.dumps({"check": "tokenizers_py", "figure": "encode WikiText-2 train, 1 thread, GPT-2 pattern",
                                "ours": ours, "peer": tiktoken_mbs, "peer_name": "tiktoken (in-process)",
                                "unit": "MB/s", "lower_is_better": False, "target": None}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lmlab", default="build-gpu/tools/lmlab")
    ap.add_argument("--data", default=os.environ.get("LMLAB_DATA", "../shared/data"))
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--figures", help="append the encode MB/s figures (scripts/gpu_check.py records) here")
    a = ap.parse_args()
    from tokenizers import Tokenizer, Regex, decoders, models, pre_tokenizers, trainers

    d = a.data
    docs = [p for p in read(f"{d}/lm/wikitext-2/test.txt").split("\n \n") if p.strip()]
    docs += jsonl_texts(f"{d}/hc3/hc3_plus/zh/val_hc3_si.jsonl")[:3000]
    docs += jsonl_texts(f"{d}/hc3/hc3_plus/en/val_hc3_si.jsonl")[:1000]
    docs = [x.replace(EOT, "") for x in docs]
    train_text = read(f"{d}/lm/wikitext-2/train.txt.gz")
    zh_train = "\n".join(jsonl_texts(f"{d}/hc3/hc3_plus/zh/test_hc3_si.jsonl"))
    print(f"{len(docs)} documents ({sum(len(x.encode()) for x in docs) / 1e6:.1f} MB): WikiText-2 test, HC3 Plus zh + en")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "train.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(train_text + "\n" + zh_train)

        print("lmlab -> HF tokenizers / tiktoken")
        for name, extra, pattern in [("gpt2", [], GPT2), ("gpt4", ["--pretokenizer", "gpt4"], GPT4),
                                     ("gpt2+digits", ["--split-digits"], None)]:
            tok = os.path.join(tmp, f"lmlab-{name}.json")
            subprocess.run([a.lmlab, "tokenizer", "train", "--algo", "bpe", "--vocab-size", str(a.vocab_size),
                            "--input", corpus, "--output", tok] + extra, check=True)
            ours = lmlab_encode_docs(a.lmlab, tok, docs, tmp)
            hf = Tokenizer.from_file(tok)
            theirs = [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)]
            ok &= compare(f"{name}: HF tokenizers encode", docs, ours, theirs)
            ok &= compare(f"{name}: HF tokenizers decode", docs, [[x] for x in docs],
                          [[hf.decode(ids, skip_special_tokens=False)] for ids in ours])
            if pattern:
                enc = tiktoken_encoding(tok, pattern)
                ok &= compare(f"{name}: tiktoken encode", docs, ours, [enc.encode_ordinary(x) for x in docs])
                if name == "gpt2":
                    time_against_tiktoken(a, enc, tok, train_text, tmp)

        print("HF tokenizers -> lmlab")
        for name, pre in [("ByteLevel(use_regex)", pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)),
                          ("Split(gpt4)+ByteLevel", pre_tokenizers.Sequence([
                              pre_tokenizers.Split(Regex(GPT4), behavior="isolated"),
                              pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]))]:
            hf = Tokenizer(models.BPE())
            hf.pre_tokenizer = pre
            hf.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(vocab_size=a.vocab_size, special_tokens=[EOT], show_progress=False,
                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
            hf.train([corpus], trainer)
            tok = os.path.join(tmp, "hf.json")
            hf.save(tok)
            ours = lmlab_encode_docs(a.lmlab, tok, docs, tmp)
            theirs = [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)]
            ok &= compare(f"{name}: lmlab encode", docs, ours, theirs)
    print("ALL IDENTICAL" if ok else "MISMATCHES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
