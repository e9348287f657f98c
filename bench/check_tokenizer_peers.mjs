#!/usr/bin/env node
// Interoperability of lmlab's tokenizers with Hugging Face `tokenizers` and OpenAI `tiktoken`, run
// on any machine with Node.js (the CPU twin of bench/check_tokenizer_hf.py, which needs the GPU
// machine's Python). The peers are their projects' own Rust cores: HF tokenizers through its Node
// binding (native), tiktoken compiled to WebAssembly with the official gpt2 / cl100k_base ranks.
// Set-up and run: bench/tokenizer_peers.sh [build-dir]  (installs the two npm packages once).
//
//   official -> lmlab: GPT-2 and cl100k_base ranks turned into a tokenizer.json the way
//                      `transformers` converts tiktoken files, loaded and saved by HF tokenizers
//                      (so the file is HF-written); lmlab, HF and tiktoken must give identical ids.
//   lmlab -> peers:    `lmlab tokenizer train` (gpt2, gpt4, gpt2 + single digits); HF loads the file
//                      unchanged, tiktoken gets its ranks; ids and decoding must be identical.
//                      A Scaffold-BPE file is given to HF too, to show what HF makes of it.
//   speed:             one thread, WikiText-2 train, the official GPT-2 vocabulary in all three.
// Text: WikiText-2 test + HC3 Plus zh + en validation. Exit 0 when every check passes, 1 if not.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

import { BYTE_CHAR, officialSpec } from "./tokenizer_official.mjs";

const require = createRequire(new URL("./peers/package.json", import.meta.url));
const { Tokenizer } = require("tokenizers");
const { Tiktoken, get_encoding } = require("tiktoken");

const [lmlab, encodeBench, data] = process.argv.slice(2);
const EOT = "<|endoftext|>";
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const GPT4 = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const read = (p) => (p.endsWith(".gz") ? zlib.gunzipSync(fs.readFileSync(p)) : fs.readFileSync(p)).toString("utf8");
const jsonlTexts = (p) => read(p).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).text);
const mb = (s) => Buffer.byteLength(s) / 1e6;

const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));
const toBytes = (chars) => Buffer.from(Array.from(chars, (c) => CHAR_BYTE.get(c)));

// Every document encoded separately in one lmlab call: joined by the special token, which lmlab
// never merges across, and split back at its id.
function lmlabEncodeDocs(tokPath, docs, tmp) {
  const src = path.join(tmp, "docs.txt");
  fs.writeFileSync(src, docs.join(EOT));
  const out = execFileSync(lmlab, ["tokenizer", "encode", "--ids", "--tokenizer", tokPath, "--input", src],
    { maxBuffer: 1 << 30 }).toString().trim().split(/\s+/).map(Number);
  const eot = JSON.parse(fs.readFileSync(tokPath, "utf8")).added_tokens.find((t) => t.content === EOT).id;
  const result = [[]];
  for (const x of out) x === eot ? result.push([]) : result[result.length - 1].push(x);
  return result;
}

let allOk = true;
function compare(name, docs, ours, theirs) {
  const bad = [];
  for (let i = 0; i < docs.length; i++) {
    const a = ours[i] || [], b = theirs[i] || [];
    if (a.length !== b.length || a.some((x, k) => x !== b[k])) bad.push(i);
  }
  if (ours.length !== theirs.length) bad.push(-1);
  console.log(`  ${name}: ${docs.length - bad.length}/${docs.length} documents identical`);
  for (const i of bad.slice(0, 3)) {
    if (i < 0) { console.log(`    ${ours.length} vs ${theirs.length} documents`); continue; }
    const a = ours[i], b = theirs[i];
    let j = 0;
    while (j < Math.min(a.length, b.length) && a[j] === b[j]) j++;
    console.log(`    doc ${i}: first difference at token ${j}: lmlab [${a.slice(j, j + 5)}] vs [${b.slice(j, j + 5)}]; ` +
      `text ${JSON.stringify(docs[i].slice(0, 80))}`);
  }
  allOk &&= bad.length === 0;
  return bad.length;
}

const hfEncodeDocs = async (hf, docs) =>
  (await hf.encodeBatch(docs, { addSpecialTokens: false })).map((e) => Array.from(e.getIds()));

// tiktoken ranks ("base64 rank" lines) of a byte-level tokenizer.json, scaffold tokens left out.
function tiktokenOf(spec, pattern) {
  const specials = Object.fromEntries(spec.added_tokens.map((t) => [t.content, t.id]));
  const scaffold = new Set(spec.lmlab?.scaffold_tokens ?? []);
  const lines = Object.entries(spec.model.vocab)
    .filter(([s, id]) => !Object.hasOwn(specials, s) && !scaffold.has(id))
    .map(([s, id]) => `${toBytes(s).toString("base64")} ${id}`);
  return new Tiktoken(lines.join("\n"), specials, pattern);
}

const secondsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  let docs = read(`${data}/lm/wikitext-2/test.txt`).split("\n \n").filter((p) => p.trim());
  docs = docs.concat(jsonlTexts(`${data}/hc3/hc3_plus/zh/val_hc3_si.jsonl`).slice(0, 3000));
  docs = docs.concat(jsonlTexts(`${data}/hc3/hc3_plus/en/val_hc3_si.jsonl`).slice(0, 1000));
  docs = docs.map((x) => x.replaceAll(EOT, ""));
  const trainText = read(`${data}/lm/wikitext-2/train.txt.gz`);
  const zhTrain = jsonlTexts(`${data}/hc3/hc3_plus/zh/test_hc3_si.jsonl`).join("\n");
  console.log(`${docs.length} documents (${mb(docs.join("")).toFixed(1)} MB): WikiText-2 test, HC3 Plus zh + en`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lmlab-peers-"));
  try {
    const corpus = path.join(tmp, "train.txt");
    fs.writeFileSync(corpus, trainText + "\n" + zhTrain);

    console.log("official vocabularies, HF-written tokenizer.json -> lmlab (and HF, tiktoken)");
    const officialFiles = {};
    for (const name of ["gpt2", "cl100k_base"]) {
      const reference = get_encoding(name);
      const theirs = docs.map((d) => Array.from(reference.encode_ordinary(d)));
      for (const ignoreMerges of [true, false]) {
        const file = path.join(tmp, `${name}-${ignoreMerges}.json`);
        Tokenizer.fromString(JSON.stringify(officialSpec(name, ignoreMerges))).save(file);  // parsed and written by HF
        const hf = Tokenizer.fromFile(file);
        const ours = lmlabEncodeDocs(file, docs, tmp);
        const tag = `${name}, ignore_merges=${ignoreMerges}`;
        compare(`${tag}: lmlab vs HF tokenizers`, docs, ours, await hfEncodeDocs(hf, docs));
        compare(`${tag}: lmlab vs tiktoken ${name}`, docs, ours, theirs);
        if (ignoreMerges) officialFiles[name] = file;
      }
      reference.free();
    }

    console.log("lmlab tokenizer train -> HF tokenizers / tiktoken");
    for (const [name, extra, pattern] of [["gpt2", [], GPT2], ["gpt4", ["--pretokenizer", "gpt4"], GPT4],
      ["gpt2+digits", ["--split-digits"], null]]) {
      const file = path.join(tmp, `lmlab-${name}.json`);
      execFileSync(lmlab, ["tokenizer", "train", "--algo", "bpe", "--vocab-size", "8000", "--input", corpus,
        "--output", file, ...extra], { stdio: ["ignore", "ignore", "inherit"] });
      const ours = lmlabEncodeDocs(file, docs, tmp);
      const hf = Tokenizer.fromFile(file);
      compare(`${name}: HF tokenizers encode`, docs, ours, await hfEncodeDocs(hf, docs));
      const decoded = await hf.decodeBatch(ours, false);
      compare(`${name}: HF tokenizers decode`, docs, docs.map((d) => [d]), decoded.map((d) => [d]));
      if (pattern) {
        const enc = tiktokenOf(JSON.parse(fs.readFileSync(file, "utf8")), pattern);
        compare(`${name}: tiktoken encode`, docs, ours, docs.map((d) => Array.from(enc.encode_ordinary(d))));
        enc.free();
      }
    }

    // Not a pass/fail check: what HF tokenizers does with a Scaffold-BPE file (docs/tokenizer.md).
    const scaffoldFile = path.join(tmp, "lmlab-scaffold.json");
    execFileSync(lmlab, ["tokenizer", "train", "--algo", "scaffold", "--vocab-size", "8000", "--input", corpus,
      "--output", scaffoldFile], { stdio: ["ignore", "ignore", "inherit"] });
    const scaffoldSpec = JSON.parse(fs.readFileSync(scaffoldFile, "utf8"));
    const scaffoldIds = new Set(scaffoldSpec.lmlab.scaffold_tokens);
    try {
      Tokenizer.fromFile(scaffoldFile);
      console.log(`  scaffold: HF tokenizers loads the file`);
    } catch (e) {
      console.log(`  scaffold: HF tokenizers refuses the file: ${e.message}`);
    }
    delete scaffoldSpec.lmlab;  // what a user who strips the extension would get from HF
    const hfScaffold = await hfEncodeDocs(Tokenizer.fromString(JSON.stringify(scaffoldSpec)), docs);
    const oursScaffold = lmlabEncodeDocs(scaffoldFile, docs, tmp);
    const same = docs.filter((_, i) => hfScaffold[i].join() === oursScaffold[i].join()).length;
    const emitted = hfScaffold.flat().filter((x) => scaffoldIds.has(x)).length;
    console.log(`  scaffold without its "lmlab" key (${scaffoldIds.size} scaffold tokens): HF encodes ${same}/${docs.length} ` +
      `documents as lmlab does and emits scaffold ids ${emitted} times; lmlab never does`);
    allOk &&= !oursScaffold.flat().some((x) => scaffoldIds.has(x));

    console.log("encode speed, 1 thread, WikiText-2 train, official GPT-2 vocabulary (50,257 ids)");
    const gpt2 = get_encoding("gpt2");
    gpt2.encode_ordinary(trainText.slice(0, 100000));  // instantiate the WebAssembly code first
    const t0 = process.hrtime.bigint();
    const ids = gpt2.encode_ordinary(trainText);
    const s = secondsSince(t0);
    console.log(`  tiktoken (Rust core as WebAssembly) encode_ordinary: ${(mb(trainText) / s).toFixed(1)} MB/s, ${ids.length} tokens`);
    gpt2.free();
    const hf = Tokenizer.fromFile(officialFiles.gpt2);
    const lines = trainText.split(/(?<=\n)/);  // HF encodes one input per line; lines keep their '\n'
    const t1 = process.hrtime.bigint();
    const enc = await hf.encodeBatch(lines, { addSpecialTokens: false });
    const hfSeconds = secondsSince(t1);
    const hfTokens = enc.reduce((n, e) => n + e.getLength(), 0);
    console.log(`  HF tokenizers (native, RAYON_NUM_THREADS=${process.env.RAYON_NUM_THREADS}) encodeBatch of lines: ` +
      `${(mb(trainText) / hfSeconds).toFixed(1)} MB/s, ${hfTokens} tokens`);
    const textFile = path.join(tmp, "wikitext-2-train.txt");
    fs.writeFileSync(textFile, trainText);
    const bench = execFileSync(encodeBench, [officialFiles.gpt2, textFile, "1"]).toString().trim();
    console.log(bench.split("\n").map((l) => `  lmlab ${l}`).join("\n"));
    const lmlabTokens = Number(/(\d+) tokens/.exec(bench)[1]);
    if (lmlabTokens !== ids.length) { console.log(`  token counts differ: lmlab ${lmlabTokens}, tiktoken ${ids.length}`); allOk = false; }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(allOk ? "ALL IDENTICAL" : "MISMATCHES FOUND");
  process.exit(allOk ? 0 : 1);
}

main();
