// train({ resume }) continues a run exactly, as `alexnet train --resume` does: N steps straight
// and k steps, an abort, a resume and the remaining N − k steps give bit-identical weights, and
// the resumed call trains only those N − k steps. A resumed run keeps the checkpoint's
// configuration (only epochs and maxSeconds may change), and the errors name the subject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, UsageError, train, type TrainOptions } from 'alexnet-ts';
import { encodeIdx } from '../helpers/idx.js';
import { bytesOf } from '../helpers/bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-api-resume-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const idxDir = join(dir, 'idx');
mkdirSync(idxDir);
const images = Uint8Array.from({ length: 48 * 784 }, (_, i) => (i * 7 + (i >> 9)) % 256);
const labels = Uint8Array.from({ length: 48 }, (_, i) => i % 10);
writeFileSync(join(idxDir, 'train-images-idx3-ubyte'), encodeIdx([48, 28, 28], images));
writeFileSync(join(idxDir, 'train-labels-idx1-ubyte'), encodeIdx([48], labels));
writeFileSync(
  join(idxDir, 't10k-images-idx3-ubyte'),
  encodeIdx([8, 28, 28], images.subarray(0, 8 * 784)),
);
writeFileSync(join(idxDir, 't10k-labels-idx1-ubyte'), encodeIdx([8], labels.subarray(0, 8)));

// 2 epochs of 3 steps (24 of the 48 images, batch 8), a real schedule (warm-up then cosine).
const config = { data: idxDir, epochs: 2, batch: 8, maxTrain: 24, maxTest: 8, maxSeconds: null };
const base: Omit<TrainOptions, 'outDir'> = { backend: 'native', plots: false };

async function weights(path: string): Promise<Map<string, Float32Array>> {
  const m = await Model.load(path, { backend: 'native' });
  return new Map([...(await m.weights())].map(([k, t]) => [k, t.data]));
}

test('train N steps = train k, abort, train({ resume }) for the remaining N − k, bit for bit', async () => {
  const straight = await train({ ...base, config, outDir: join(dir, 'straight') });
  assert.equal(straight.history.length, 2);
  const N = straight.history[1].step;
  assert.equal(N, 6);

  const k = 4; // mid-epoch: the second epoch's first batch is done
  const controller = new AbortController();
  let first = 0;
  const stopped = await train({
    ...base,
    config,
    outDir: join(dir, 'resumed'),
    signal: controller.signal,
    onStep: () => {
      if (++first === k) controller.abort();
    },
  });
  assert.equal(stopped.aborted, true);
  const atK = await weights(stopped.checkpointPath);

  const seen: [number, number][] = [];
  const resumed = await train({
    ...base,
    resume: stopped.checkpointPath,
    config: { maxSeconds: null }, // the same as the checkpoint's: allowed
    outDir: join(dir, 'resumed'),
    onStep: (i) => seen.push([i.epoch, i.batch]),
  });
  assert.deepEqual(seen, [
    [2, 2],
    [2, 3],
  ]);
  assert.equal(resumed.history.at(-1)!.step, N);
  assert.deepEqual(resumed.config, straight.config);

  const a = await weights(straight.modelPath);
  const b = await weights(resumed.modelPath);
  let moved = false;
  for (const [name, w] of a) {
    assert.ok(bytesOf(w).equals(bytesOf(b.get(name)!)), `${name} differs`);
    moved ||= !bytesOf(w).equals(bytesOf(atK.get(name)!));
  }
  assert.ok(moved, 'the resumed steps changed the weights');
});

test('train({ resume }): only epochs and maxSeconds may change; errors name the subject', async () => {
  const ckpt = join(dir, 'resumed', 'checkpoint.safetensors');
  const rejects = (opts: Partial<TrainOptions>, subject: RegExp, option?: string): Promise<void> =>
    assert.rejects(
      train({ ...base, outDir: join(dir, 'other'), resume: ckpt, ...opts }),
      (e: unknown) =>
        e instanceof UsageError &&
        subject.test(e.message) &&
        !/--\w/.test(e.message) &&
        e.option === option,
    );
  await rejects({ config: { lr: 0.5 } }, /checkpoint\.safetensors.*config\.lr cannot change/);
  await rejects({ from: ckpt }, /resume and from exclude each other/);
  await rejects({ preset: 'fashion-quick' }, /not a preset/);
  const model = join(dir, 'straight', 'model.safetensors');
  await rejects({ resume: model }, /model\.safetensors: not a training checkpoint/, 'resume');
});
