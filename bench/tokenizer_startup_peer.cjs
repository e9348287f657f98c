#!/usr/bin/env node
// The peer of bench/tokenizer_startup_bench.sh as a whole process: native tiktoken (npm
// tiktoken-node, tiktoken's Rust crate as a Node addon, cl100k_base built in) encodes a file and
// writes its ids the way `lmlab tokenizer encode --ids` does (space separated, one newline), so
// the two outputs can be compared byte for byte.
// Usage: node bench/tokenizer_startup_peer.cjs INPUT OUTPUT
const fs = require("node:fs");
const { createRequire } = require("node:module");
const { getEncoding } = createRequire(`${__dirname}/peers/package.json`)("tiktoken-node");

const [input, output] = process.argv.slice(2);
const ids = getEncoding("cl100k_base").encode(fs.readFileSync(input, "utf8"));
fs.writeFileSync(output, ids.join(" ") + "\n");
