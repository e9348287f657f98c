#!/usr/bin/env node
// The peer of `lmlab data prepare` for bench/data_prepare_bench.sh: the same job done with Hugging
// Face `tokenizers` (its Rust core through the Node binding, bench/peers), step for step, so the
// two whole commands can be timed against each other and their shards compared byte for byte:
//   read the file; split it into documents by the WikiText heading rule of
//   src/lmlab/data/documents.h (a line " = Title = " starts a document; each document trimmed of
//   spaces, tabs, \r and \n); encode all documents with encodeBatch (no added special tokens; its
//   threads: RAYON_NUM_THREADS); append the <|endoftext|> id after each; hold out the last
//   ceil(val_fraction * n) documents; write DIR/train.bin and DIR/val.bin in lmlab's shard layout
//   (docs/training.md), DIR/tokenizer.json and DIR/meta.json, each via a temporary file and rename.
// Usage: node bench/data_prepare_peer.mjs TOKENIZER.json INPUT.txt OUTPUT_DIR [VAL_FRACTION]
// Prints one line to stderr: the seconds spent reading+splitting, in encodeBatch, and writing.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(new URL("./peers/package.json", import.meta.url));
const { Tokenizer } = require("tokenizers");

const [tokPath, input, outDir, fractionArg] = process.argv.slice(2);
const valFraction = Number(fractionArg ?? "0.05");
const EOT = "<|endoftext|>";
const now = () => Number(process.hrtime.bigint()) / 1e9;

const isSpace = (c) => c === 32 || c === 9 || c === 13 || c === 10;  // what lmlab trims
function trim(s) {
  let b = 0, e = s.length;
  while (b < e && isSpace(s.charCodeAt(b))) b++;
  while (e > b && isSpace(s.charCodeAt(e - 1))) e--;
  return s.slice(b, e);
}
function isTopHeading(line) {
  const s = trim(line);
  if (s.length < 5 || !s.startsWith("= ") || !s.endsWith(" =")) return false;
  const title = trim(s.slice(2, -2));
  return title.length > 0 && title[0] !== "=" && title[title.length - 1] !== "=";
}
function splitAtHeadings(text) {
  const docs = [];
  let start = 0;
  const push = (piece) => { const d = trim(piece); if (d) docs.push(d); };
  for (let pos = 0; pos < text.length;) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    if (isTopHeading(text.slice(pos, end))) { push(text.slice(start, pos)); start = pos; }
    pos = end + 1;
  }
  push(text.slice(start));
  return docs;
}

function writeAtomic(file, bytes) {
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}
function writeShard(file, parts, idBytes) {
  let n = 0;
  for (const p of parts) n += p.length;
  const buf = Buffer.alloc(32 + n * idBytes);
  buf.write("LMLABTOK", 0, "latin1");
  buf.writeUInt32LE(1, 8);
  buf.writeUInt32LE(idBytes, 12);
  buf.writeBigUInt64LE(BigInt(n), 16);
  const ids = idBytes === 2 ? new Uint16Array(buf.buffer, buf.byteOffset + 32, n)
                            : new Uint32Array(buf.buffer, buf.byteOffset + 32, n);
  let at = 0;
  for (const p of parts) { ids.set(p, at); at += p.length; }
  writeAtomic(file, buf);
  return n;
}

const t0 = now();
const tokenizer = Tokenizer.fromFile(tokPath);
const eot = tokenizer.tokenToId(EOT);
const vocab = tokenizer.getVocabSize(true);
const docs = splitAtHeadings(fs.readFileSync(input, "utf8"));
const nVal = Math.ceil(valFraction * docs.length);
if (valFraction > 0 && nVal >= docs.length) throw new Error(`${docs.length} document(s) are too few`);
const t1 = now();
const encodings = await tokenizer.encodeBatch(docs, { addSpecialTokens: false });
const t2 = now();
const parts = encodings.map((e) => { const ids = e.getIds(); ids.push(eot); return ids; });
fs.mkdirSync(outDir, { recursive: true });
const idBytes = vocab <= 65536 ? 2 : 4;
const nTrain = docs.length - nVal;
const trainTokens = writeShard(path.join(outDir, "train.bin"), parts.slice(0, nTrain), idBytes);
const valTokens = writeShard(path.join(outDir, "val.bin"), parts.slice(nTrain), idBytes);
writeAtomic(path.join(outDir, "tokenizer.json"), fs.readFileSync(tokPath));
writeAtomic(path.join(outDir, "meta.json"), JSON.stringify({
  vocab_size: vocab, eot_id: eot, id_bytes: idBytes,
  train: { file: "train.bin", tokens: trainTokens, documents: nTrain },
  val: { file: "val.bin", tokens: valTokens, documents: nVal },
  tokenizer: "tokenizer.json", inputs: [input],
}, null, 2) + "\n");
const t3 = now();
console.error(`peer: ${docs.length} documents; read+split ${(t1 - t0).toFixed(3)} s, encodeBatch ` +
  `${(t2 - t1).toFixed(3)} s, ids+write ${(t3 - t2).toFixed(3)} s`);
