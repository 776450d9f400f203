// .npy and safetensors round trips, and the one-line errors on files that are not usable.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { readSafetensors, writeSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { UsageError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-io-'));

test('npy round trip for ranks 1–4, no temp files left behind', () => {
  for (const shape of [[5], [2, 3], [2, 1, 3], [2, 3, 4, 5]]) {
    const t = new Tensor(
      shape,
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => i * 0.5 - 3),
    );
    const p = join(dir, `a${shape.length}.npy`);
    writeNpy(p, t);
    const back = readNpy(p);
    assert.deepEqual(back.shape, shape);
    assert.deepEqual(Array.from(back.data), Array.from(t.data));
  }
  assert.ok(readdirSync(dir).every((f) => !f.endsWith('.tmp')));
});

test('npy: Fortran order, unsupported dtypes and truncation are one-line usage errors', () => {
  const header = (descr: string, fortran: string, shape: string): Buffer => {
    let h = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
    h += ' '.repeat(63 - ((10 + h.length) % 64)) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head.writeUInt16LE(h.length, 8);
    return Buffer.concat([head, Buffer.from(h, 'latin1')]);
  };
  const cases: [string, Buffer, RegExp][] = [
    ['fortran.npy', Buffer.concat([header('<f4', 'True', '(2, 2)'), Buffer.alloc(16)]), /Fortran/],
    ['complex.npy', Buffer.concat([header('<c8', 'False', '(2,)'), Buffer.alloc(16)]), /dtype <c8/],
    ['short.npy', Buffer.concat([header('<f4', 'False', '(4,)'), Buffer.alloc(8)]), /truncated/],
    ['text.npy', Buffer.from('hello'), /magic/],
  ];
  for (const [name, bytes, why] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    assert.throws(
      () => readNpy(p),
      (e: unknown) =>
        e instanceof UsageError &&
        why.test(e.message) &&
        e.message.includes(p) &&
        !e.message.includes('\n'),
    );
  }
  // float64 and int arrays are converted.
  const p = join(dir, 'f8.npy');
  writeFileSync(
    p,
    Buffer.concat([
      header('<f8', 'False', '(2,)'),
      Buffer.from(new Float64Array([1.5, -2]).buffer),
    ]),
  );
  assert.deepEqual(Array.from(readNpy(p).data), [1.5, -2]);
});

test('safetensors round trip keeps order, shapes, values and metadata', () => {
  const tensors = new Map([
    ['conv1.weight', new Tensor([2, 1, 2, 2], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]))],
    ['conv1.bias', new Tensor([2], Float32Array.from([-1, 0.25]))],
  ]);
  const p = join(dir, 'm.safetensors');
  writeSafetensors(p, tensors, { 'alexnet.meta': '{"x":1}' });
  const back = readSafetensors(p);
  assert.deepEqual([...back.tensors.keys()], ['conv1.weight', 'conv1.bias']);
  assert.deepEqual(Array.from(back.tensors.get('conv1.bias')!.data), [-1, 0.25]);
  assert.deepEqual(back.tensors.get('conv1.weight')!.shape, [2, 1, 2, 2]);
  assert.equal(back.metadata['alexnet.meta'], '{"x":1}');
});

test('safetensors: truncated or garbage files are one-line usage errors', () => {
  const p = join(dir, 'm.safetensors');
  writeSafetensors(p, new Map([['a', new Tensor([4], Float32Array.from([1, 2, 3, 4]))]]));
  const bytes = readFileSync(p);
  for (const cut of [0, 4, 8, 20, bytes.length - 1]) {
    const q = join(dir, `cut${cut}.safetensors`);
    writeFileSync(q, bytes.subarray(0, cut));
    assert.throws(
      () => readSafetensors(q),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(q),
    );
  }
  assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), UsageError);
});
