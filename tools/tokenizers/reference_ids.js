#!/usr/bin/env node
// Reference token ids for cachewire's tokenizer conformance test.
//
// Tokenizes every case of a corpus (JSON lines) with the real Hugging Face tokenizers (Rust,
// through @anush008/tokenizers) and writes {vocab, cases: [{text, ids, decoded}]}. The C++ test
// reads the texts from this output, so corpus lines may be {"text": s} or
// {"repeat": s, "times": n} (expanded here, once, so both sides see the same long input).
//
// Usage: node reference_ids.js --tokenizer path/tokenizer.json --corpus corpus.jsonl
//                              --name llama3 --out refs.json
// Encoding uses addSpecialTokens=false: no BOS/EOS from the post-processor, while added tokens
// in the text (special or not) are still matched, which is what cachewire does with
// add_bos=false, parse_special=true.
'use strict';

const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument ${key}; usage: --tokenizer F --corpus F --name N --out F`);
    }
    args[key.slice(2)] = argv[i + 1];
  }
  for (const k of ['tokenizer', 'corpus', 'name', 'out']) {
    if (!args[k]) throw new Error(`missing --${k}`);
  }
  return args;
}

function readCorpus(file) {
  const texts = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${e.message}`);
    }
    if (typeof obj.text === 'string') {
      texts.push(obj.text);
    } else if (typeof obj.repeat === 'string' && Number.isInteger(obj.times)) {
      texts.push(obj.repeat.repeat(obj.times));
    } else {
      throw new Error(`${file}:${i + 1}: expected {"text"} or {"repeat", "times"}`);
    }
  });
  return texts;
}

async function main() {
  const args = parseArgs(process.argv);
  const tokenizer = Tokenizer.fromFile(args.tokenizer);
  const cases = [];
  for (const text of readCorpus(args.corpus)) {
    const enc = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const ids = Array.from(enc.getIds());
    const decoded = await tokenizer.decode(ids, false);
    cases.push({ text, ids, decoded });
  }
  const out = { vocab: args.name, tokenizer: path.resolve(args.tokenizer), cases };
  const tmp = `${args.out}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(out));
  fs.renameSync(tmp, args.out);
}

main().catch((e) => {
  process.stderr.write(`reference_ids.js: ${e.message}\n`);
  process.exit(1);
});
