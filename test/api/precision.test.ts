// Precision through the library (issue #12): Model.create / load / import / Ensemble.load take
// `precision`, train() takes config.precision; a bf16 model's logits are close to, and not equal
// to, the fp32 model's; files stay float32; an unknown precision is a UsageError naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ensemble, Model, PRECISIONS, Tensor, UsageError, train } from 'alexnet-ts';
import { variantSchema } from '../../src/models/variants.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { Rng } from '../../src/util/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-api-precision-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function input(n: number): Tensor {
  const rng = new Rng(8);
  const x = new Tensor([n, 1, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  return x;
}

test('Model.create/load/Ensemble.load with precision bf16: close to fp32, not equal; files F32', async () => {
  assert.deepEqual(PRECISIONS, ['fp32', 'bf16']);
  const x = input(2);
  const full = Model.create('d2l', { inputSize: 67, seed: 5, backend: 'native' });
  const mixed = Model.create('d2l', {
    inputSize: 67,
    seed: 5,
    backend: 'native',
    precision: 'bf16',
  });
  assert.equal(full.precision, 'fp32');
  assert.equal(mixed.precision, 'bf16');
  const a = (await full.run(x)).data;
  const b = (await mixed.run(x)).data;
  assert.notDeepEqual(b, a);
  const scale = Math.max(...a.map(Math.abs));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(b[i] - a[i]) <= 2e-2 * scale, `logit ${i}`);

  const path = join(dir, 'm.safetensors');
  await mixed.save(path);
  assert.ok([...readSafetensors(path).tensors.values()].every((t) => t.dtype === 'float32'));
  const loaded = await Model.load(path, { backend: 'native', precision: 'bf16' });
  assert.equal(loaded.precision, 'bf16');
  assert.deepEqual((await loaded.run(x)).data, b);
  assert.deepEqual((await (await Model.load(path, { backend: 'native' })).run(x)).data, a);
  const ens = await Ensemble.load([path, path], { backend: 'native', precision: 'bf16' });
  assert.ok(ens.nets.every((n) => n.precision === 'bf16'));
});

test('an unknown precision is a UsageError naming precision, not a flag', () => {
  assert.throws(
    () => Model.create('d2l', { inputSize: 67, precision: 'fp16' as never }),
    (e: unknown) =>
      e instanceof UsageError &&
      /precision 'fp16' is unknown/.test(e.message) &&
      !/--/.test(e.message),
  );
});

test('train({ config: { precision: bf16 } }) trains in bf16 and records it', async () => {
  const run = await train({
    preset: 'fashion-quick',
    config: {
      precision: 'bf16',
      variant: variantSchema.parse({ width: 0.125, fc: 512 }),
      epochs: 1,
      batch: 16,
      maxTrain: 32,
      maxTest: 16,
      maxSeconds: null,
    },
    outDir: join(dir, 'run'),
    backend: 'native',
    plots: false,
  });
  assert.equal(run.config.precision, 'bf16');
  assert.equal(run.model.precision, 'bf16');
  const record = JSON.parse(readSafetensors(run.modelPath).metadata['alexnet.training']);
  assert.equal(record.recipe.precision, 'bf16');
  await assert.rejects(
    train({
      config: { precision: 'bf16' },
      outDir: join(dir, 'par'),
      parallel: { scheme: 'data', replicas: 2 },
    }),
    (e: unknown) => e instanceof UsageError && /precision bf16/.test(e.message),
  );
});
