// ONNX import reads the graph's wiring, not just its initializers: each rewired copy of the
// torch.onnx fixture (onnx-mutants.ts) is refused with one line naming the node that differs.
// onnxruntime runs the permuted and cast copies with outputs unlike the plain graph's: before
// this check, both imported as the plain graph — a silently wrong model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readForeignModel } from '../../src/interop/import.js';
import { encodeModel } from '../../src/interop/onnx-proto.js';
import { UsageError } from '../../src/util/errors.js';
import { randomInput } from '../interop/tiny.js';
import { ONNX_FIXTURE, ONNX_MUTANTS, loadFixture } from './onnx-mutants.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-onnx-wiring-'));

test('the plain fixture imports (the control)', () => {
  assert.equal(readForeignModel(ONNX_FIXTURE, { from: 'onnx' }).meta.config.arch, 'torchvision');
});

for (const mutant of ONNX_MUTANTS) {
  test(`ONNX rewired: ${mutant.name} → refused naming ${mutant.node}`, () => {
    const m = loadFixture();
    mutant.mutate(m);
    const path = join(dir, `${mutant.node.replace(/\W+/g, '_')}-${mutant.name.length}.onnx`);
    writeFileSync(path, encodeModel(m));
    assert.throws(
      () => readForeignModel(path, { from: 'onnx' }),
      (e: unknown) =>
        e instanceof UsageError &&
        !e.message.includes('\n') &&
        e.message.startsWith(path) &&
        e.message.includes(`"${mutant.node}"`),
    );
  });
}

test('onnxruntime: the permuted and cast graphs compute something else than the plain one', async () => {
  const x = randomInput([1, 3, 224, 224], 5);
  const run = async (bytes: Uint8Array | string) => {
    const s = await (typeof bytes === 'string'
      ? ort.InferenceSession.create(bytes)
      : ort.InferenceSession.create(bytes));
    const out = await s.run({ input: new ort.Tensor('float32', x.data, [1, 3, 224, 224]) });
    return out[s.outputNames[0]].data as Float32Array;
  };
  const plain = await run(ONNX_FIXTURE);
  for (const name of ['channels permuted', 'cast to int32']) {
    const mutant = ONNX_MUTANTS.find((m) => m.name.includes(name.split(' ')[0]))!;
    const m = loadFixture();
    mutant.mutate(m);
    const y = await run(encodeModel(m));
    const diff = Math.max(...y.map((v, i) => Math.abs(v - plain[i])));
    assert.ok(diff > 1e-3, `${mutant.name}: max |Δ| ${diff}`);
  }
});
