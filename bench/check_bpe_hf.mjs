#!/usr/bin/env node
// Does `lmlab tokenizer train --algo bpe --tie-break hf` learn exactly the merges of Hugging Face
// tokenizers' own BpeTrainer, and how fast is it next to it? Run on the CPU through HF's Node
// binding (its Rust core). Set-up and run: bench/check_bpe_hf.sh [build-dir] [repetitions].
//
// What each side gets, so that they are given the same problem:
// - pre-tokenizer: HF gets the pre_tokenizer of a tokenizer.json lmlab wrote (Split(GPT-2 regex,
//   Isolated) + ByteLevel(use_regex: false)), i.e. the identical split;
// - text: HF's `train(files)` reads a file line by line (newlines kept) and pre-tokenizes each line
//   alone. lmlab pre-tokenizes the whole text, which can join whitespace across a line end
//   (" \n", "\n\n"), so lmlab gets the same lines with <|endoftext|> after each: a special token is
//   cut out before pre-tokenization, so every line is split alone there too;
// - vocabulary and special tokens: the binding cannot set trainer options, so HF trains with its
//   defaults (vocab_size 30000, no special tokens, alphabet = the characters the corpus has).
//   lmlab gets --vocab-size 256 + 1 (<|endoftext|>, never in the corpus, never merged) + 30000 - A,
//   where A is the number of distinct bytes: the same number of merged tokens.
// Each corpus trains REPS times per side, interleaved (lmlab, HF, lmlab, HF, ...); medians.
// Exit 0 when --tie-break hf gives HF's merges on every corpus, 1 if not.
import { createRequire } from "node:module";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

const require = createRequire(new URL("./peers/package.json", import.meta.url));
const { Tokenizer } = require("tokenizers");

const [lmlab, data, repsArg, threadsArg] = process.argv.slice(2);
const REPS = Number(repsArg || 3), THREADS = String(threadsArg || 2);
const EOT = "<|endoftext|>";
const HF_VOCAB = 30000;  // BpeTrainer::default()
const CORPORA = [
  ["TinyStories train slice", "lm/tinystories/tinystories_train_slice_lowercased.txt"],
  ["KJV Bible", "corpus/kjv/kjv.txt.gz"],
  ["WikiText-2 train", "lm/wikitext-2/train.txt.gz"],
];

const read = (p) => (p.endsWith(".gz") ? zlib.gunzipSync(fs.readFileSync(p)) : fs.readFileSync(p));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
// Merges as "left right" strings (lmlab writes strings, HF 0.23 writes [left, right] pairs).
const mergesOf = (file) => JSON.parse(fs.readFileSync(file, "utf8")).model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));

function lmlabTrain(input, vocab, tieBreak, out) {
  const t0 = process.hrtime.bigint();
  const run = spawnSync(lmlab, ["tokenizer", "train", "--algo", "bpe", "--tie-break", tieBreak, "--vocab-size", String(vocab),
    "--threads", THREADS, "--input", input, "--output", out], { stdio: ["ignore", "ignore", "pipe"] });
  const wall = seconds(t0);
  const log = run.stderr.toString();
  if (run.status !== 0) throw new Error(`lmlab tokenizer train failed: ${log}`);
  const inside = Number((log.match(/ ([0-9.]+) s -> /) || [])[1]);  // the command's own training time
  return { wall, inside, merges: mergesOf(out) };
}

function hfTrain(preTokenizer, input, out) {
  const json = { version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: preTokenizer, post_processor: null, decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [] } };
  const tok = Tokenizer.fromString(JSON.stringify(json));
  const t0 = process.hrtime.bigint();
  tok.train([input]);
  const wall = seconds(t0);
  tok.save(out);
  return { wall, merges: mergesOf(out) };
}

function firstDifference(a, b) {
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  return i === a.length && i === b.length ? -1 : i;
}
const describe = (ours, theirs) => {
  const d = firstDifference(ours, theirs);
  if (d < 0) return "yes";
  return `no: first difference at merge ${d + 1} (lmlab "${ours[d] ?? "-"}", HF "${theirs[d] ?? "-"}")`;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "check_bpe_hf-"));
let allOk = true;
const rows = [];
for (const [name, rel] of CORPORA) {
  const bytes = read(path.join(data, rel));
  const text = bytes.toString("utf8");
  const hfInput = path.join(tmp, "hf.txt"), lmlabInput = path.join(tmp, "lmlab.txt");
  fs.writeFileSync(hfInput, bytes);
  fs.writeFileSync(lmlabInput, text.split(/(?<=\n)/).join(EOT));
  const alphabet = new Set(bytes).size;
  const vocab = 257 + HF_VOCAB - alphabet;
  // The pre-tokenizer lmlab writes (a tiny training run: only the file's pre_tokenizer is used).
  fs.writeFileSync(path.join(tmp, "seed.txt"), "a b");
  execFileSync(lmlab, ["tokenizer", "train", "--vocab-size", "257", "--input", path.join(tmp, "seed.txt"),
    "--output", path.join(tmp, "seed.json")], { stdio: "ignore" });
  const preTokenizer = JSON.parse(fs.readFileSync(path.join(tmp, "seed.json"), "utf8")).pre_tokenizer;

  const ours = [], theirs = [];
  for (let r = 0; r < REPS; r++) {
    ours.push(lmlabTrain(lmlabInput, vocab, "hf", path.join(tmp, "lmlab.json")));
    theirs.push(hfTrain(preTokenizer, hfInput, path.join(tmp, "hf.json")));
  }
  const plain = lmlabTrain(lmlabInput, vocab, "lmlab", path.join(tmp, "lmlab_default.json"));
  const hfMerges = theirs[0].merges, ourMerges = ours[0].merges;
  const same = firstDifference(ourMerges, hfMerges) < 0;
  allOk &&= same;
  const row = { name, mb: bytes.length / 1e6, alphabet, merges: [ourMerges.length, hfMerges.length],
    hf_mode: describe(ourMerges, hfMerges), default_mode: describe(plain.merges, hfMerges),
    lmlab_wall: median(ours.map((o) => o.wall)), lmlab_inside: median(ours.map((o) => o.inside)),
    hf_train: median(theirs.map((t) => t.wall)) };
  rows.push(row);
  console.log(`${name} (${row.mb.toFixed(1)} MB, ${alphabet} distinct bytes, lmlab --vocab-size ${vocab}):`);
  console.log(`  merges: lmlab ${row.merges[0]}, HF ${row.merges[1]}`);
  console.log(`  identical to HF with --tie-break hf: ${row.hf_mode}`);
  console.log(`  identical to HF with the default tie-break: ${row.default_mode}`);
  console.log(`  lmlab wall ${row.lmlab_wall.toFixed(2)} s (training inside the command ${row.lmlab_inside.toFixed(2)} s), ` +
    `HF train() ${row.hf_train.toFixed(2)} s: HF / lmlab = ${(row.hf_train / row.lmlab_wall).toFixed(1)}x wall, ` +
    `${(row.hf_train / row.lmlab_inside).toFixed(1)}x inside (medians of ${REPS})`);
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log("\n| corpus | MB | merges lmlab / HF | identical (--tie-break hf) | identical (default) | lmlab wall (inside) | HF train() | HF / lmlab wall (inside) |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.name} | ${r.mb.toFixed(1)} | ${r.merges[0]} / ${r.merges[1]} | ${r.hf_mode} | ${r.default_mode} | ` +
    `${r.lmlab_wall.toFixed(2)} s (${r.lmlab_inside.toFixed(2)} s) | ${r.hf_train.toFixed(2)} s | ` +
    `${(r.hf_train / r.lmlab_wall).toFixed(1)}x (${(r.hf_train / r.lmlab_inside).toFixed(1)}x) |`);
process.exit(allOk ? 0 : 1);
