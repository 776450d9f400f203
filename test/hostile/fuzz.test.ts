// Seeded mutation fuzzing of every parser (.npy, safetensors, .pth zip and legacy, .caffemodel,
// .onnx, IDX plain and gzipped, PNG and JPEG) for a fixed budget: every mutation is refused with
// one line naming the file, or shown harmless (identical result, or only the mutated elements
// changed). bench/fuzz.ts runs the same with a longer budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz, fuzzTable } from './fuzz.js';

test('fuzz: 120 seeded mutations per parser, each refused in one line or harmless', async () => {
  const started = Date.now();
  const rows = await fuzz(mkdtempSync(join(tmpdir(), 'alexnet-fuzz-')), 120, 1);
  console.log(`${fuzzTable(rows)}\n# fuzz: ${Date.now() - started} ms`);
  assert.deepEqual(
    rows.flatMap((r) => r.violations.map((v) => `${r.target}: ${v}`)),
    [],
  );
  assert.ok(rows.every((r) => r.tried === 120));
});
