// Hostile and broken inputs: a pickle that tries to run code, truncated and bit-flipped .pth,
// .caffemodel and .onnx files. Each must end in a one-line UsageError (the CLI's exit 2) or an
// import shown harmless — never another exception, never a hang, never a silent change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { zipSync } from 'fflate';
import { readForeignModel, type ImportFormat } from '../../src/interop/import.js';
import { parseTorchFile } from '../../src/interop/torch-file.js';
import { UsageError } from '../../src/util/errors.js';
import { fuzz, fuzzTable } from '../hostile/fuzz.js';

const FIX = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'interop');
const dir = mkdtempSync(join(tmpdir(), 'alexnet-corrupt-'));

function isOneLineUsage(e: unknown): boolean {
  return e instanceof UsageError && !e.message.includes('\n');
}

// GLOBAL 'os system', the argument tuple ('touch /tmp/pwned',), REDUCE, STOP — the classic payload.
const EVIL = Buffer.concat([
  Buffer.from([0x80, 0x02]),
  Buffer.from('cos\nsystem\n', 'latin1'),
  Buffer.from([0x58]),
  Buffer.from([16, 0, 0, 0]),
  Buffer.from('touch /tmp/pwned', 'latin1'),
  Buffer.from([0x85, 0x52, 0x2e]),
]);

test('a pickle that calls os.system is refused before anything runs (legacy and zip layouts)', () => {
  for (const [name, bytes] of [
    ['evil-legacy.pth', EVIL],
    ['evil-zip.pth', zipSync({ 'archive/data.pkl': new Uint8Array(EVIL) }, { level: 0 })],
  ] as const) {
    assert.throws(
      () => parseTorchFile(bytes, name),
      (e: unknown) => isOneLineUsage(e) && /refusing global os\.system/.test((e as Error).message),
    );
  }
  // STACK_GLOBAL (protocol 4) and builtins.eval too
  const stackGlobal = Buffer.concat([
    Buffer.from([0x80, 0x04, 0x8c, 8]),
    Buffer.from('builtins'),
    Buffer.from([0x8c, 4]),
    Buffer.from('eval'),
    Buffer.from([0x93, 0x2e]),
  ]);
  assert.throws(
    () => parseTorchFile(stackGlobal, 'eval.pth'),
    (e: unknown) => isOneLineUsage(e) && /builtins\.eval/.test((e as Error).message),
  );
});

const targets: [string, ImportFormat][] = [
  ['tv_tiny.pth', 'torchvision'],
  ['tv_tiny_legacy.pth', 'torchvision'],
  ['caffe_alexnet2012.caffemodel', 'caffe'],
  ['caffe_caffenet.caffemodel', 'caffe'],
  ['zoo_tiny.onnx', 'onnx'],
  ['tv_tiny.onnx', 'onnx'],
];

test('truncated files give a one-line error', () => {
  for (const [file, from] of targets) {
    const full = readFileSync(join(FIX, file));
    for (const frac of [0, 0.01, 0.3, 0.5, 0.9, 0.999]) {
      const path = join(dir, `trunc-${frac}-${file}`);
      writeFileSync(path, full.subarray(0, Math.floor(full.length * frac)));
      assert.throws(
        () => readForeignModel(path, { from }),
        (e: unknown) => isOneLineUsage(e),
        `${file} cut at ${frac}`,
      );
    }
  }
});

test('fuzz: 50 seeded mutations per import format, each refused in one line or shown harmless', async () => {
  // An accepted mutation must be harmless: its tensors and metadata bit-equal to the original's
  // (so its logits are equal), or changed only where the file's own bytes say (a flipped weight
  // read as flipped). test/hostile/fuzz.ts holds the oracle; here the import formats, seed 2012.
  const started = Date.now();
  const imports = new Set(targets.map(([file]) => file));
  const rows = await fuzz(dir, 50, 2012, Infinity, (name) => imports.has(name));
  console.log(`${fuzzTable(rows)}\n# ${Date.now() - started} ms`);
  assert.equal(rows.length, targets.length);
  assert.deepEqual(
    rows.flatMap((r) => r.violations.map((v) => `${r.target}: ${v}`)),
    [],
  );
  for (const r of rows) assert.equal(r.refused + r.identical + r.faithful, 50, r.target);
});
