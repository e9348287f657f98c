#!/usr/bin/env node
// The official tiktoken vocabularies (gpt2, cl100k_base, shipped by npm `tiktoken`) as HF-written
// tokenizer.json files, which lmlab loads: the module behind bench/check_tokenizer_peers.mjs and
// bench/tokenizer_startup_bench.sh. As a command it writes one file:
//   node bench/tokenizer_official.mjs cl100k_base out.json [--no-ignore-merges]
// The file is parsed and saved by HF tokenizers, so lmlab reads what HF writes.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(new URL("./peers/package.json", import.meta.url));

// GPT-2's byte -> printable character map, the alphabet of every byte-level tokenizer.json.
export const BYTE_CHAR = (() => {
  const out = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.push(String.fromCodePoint(printable ? b : 256 + n++));
  }
  return out;
})();
export const toChars = (bytes) => Array.from(bytes, (b) => BYTE_CHAR[b]).join("");

// An official tiktoken encoding as an HF tokenizer.json: vocab = ranks; a merge (a, b) for every
// split of every token into two vocabulary tokens, ordered by the merged token's rank (the
// conversion `transformers` uses for tiktoken models). `ignore_merges` mirrors tiktoken's
// whole-piece lookup before merging.
export function officialSpec(name, ignoreMerges) {
  const enc = require(`tiktoken/encoders/${name}.json`);
  const vocab = new Map();  // a Map, not an object: "constructor" is a GPT-2 token
  for (const line of enc.bpe_ranks.split("\n")) {  // compressed format: "! first_rank tok tok ..."
    const [, first, ...toks] = line.split(" ");
    toks.forEach((t, k) => vocab.set(toChars(Buffer.from(t, "base64")), Number(first) + k));
  }
  const merges = [];
  for (const [tok, rank] of vocab) {
    const chars = Array.from(tok);
    for (let i = 1; i < chars.length; i++) {
      const a = chars.slice(0, i).join(""), b = chars.slice(i).join("");
      if (vocab.has(a) && vocab.has(b)) merges.push([rank, vocab.get(a), vocab.get(b), a, b]);
    }
  }
  merges.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  const byteLevel = (useRegex) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: Object.entries(enc.special_tokens).map(([content, id]) =>
      ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: name === "gpt2" ? byteLevel(true) : { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: enc.pat_str }, behavior: "Isolated", invert: false }, byteLevel(false)] },
    post_processor: null, decoder: byteLevel(true),
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: ignoreMerges, vocab: Object.fromEntries(vocab),
      merges: merges.map(([, , , a, b]) => [a, b]) },
  };
}

// Writes officialSpec(name, ignoreMerges) to `file` through HF tokenizers.
export function writeOfficial(name, file, ignoreMerges = true) {
  const { Tokenizer } = require("tokenizers");
  Tokenizer.fromString(JSON.stringify(officialSpec(name, ignoreMerges))).save(file);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, file, flag] = process.argv.slice(2);
  if (!name || !file || (flag && flag !== "--no-ignore-merges")) {
    console.error("usage: node bench/tokenizer_official.mjs gpt2|cl100k_base OUT.json [--no-ignore-merges]");
    process.exit(2);
  }
  writeOfficial(name, file, flag !== "--no-ignore-merges");
}
