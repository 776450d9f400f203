#!/usr/bin/env node
// The size budget (developers' guide: one concept per file): fails, naming each file and its
// length, when a code file is over 600 lines. Code: the source extensions below under the
// project's code folders; data (JSON, fixtures under test/fixtures, images, tensors) is not
// code. Run by .ci/run; `node scripts/line-budget.mjs` from anywhere.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUDGET = 600;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['src', 'native', 'bench', 'tools', 'test', 'scripts', 'bin'];
const EXCLUDED = ['test/fixtures'];
const CODE = new Set(['.ts', '.js', '.mjs', '.cjs', '.cc', '.h', '.py', '.sh', '.wgsl']);

function* codeFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // a folder this checkout lacks
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    const rel = relative(ROOT, path).split('\\').join('/');
    if (EXCLUDED.some((x) => rel === x || rel.startsWith(x + '/'))) continue;
    if (e.isDirectory()) yield* codeFiles(path);
    else if (e.isFile() && CODE.has(extname(e.name))) yield rel;
  }
}

const over = [];
for (const folder of FOLDERS) {
  for (const rel of codeFiles(join(ROOT, folder))) {
    const text = readFileSync(join(ROOT, rel), 'utf8');
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > BUDGET) over.push(`${rel}: ${lines} lines`);
  }
}
if (over.length) {
  process.stderr.write(
    `line budget: ${over.length} code file(s) over ${BUDGET} lines (split them by concept):\n` +
      over.map((l) => `  ${l}\n`).join(''),
  );
  process.exit(1);
}
