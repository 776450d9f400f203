// The shared-memory communicator of --parallel data on its own: replicas on worker threads
// all-reduce and broadcast exactly as MPI would, across pieces larger than a slot and shares that
// do not split evenly, and count what they read from each other (2·(n−1)/n of the floats each
// for an all-reduce). A replica that never arrives is named when the others' wait runs out; the
// main thread's failGroup ends every wait at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { allreduceBytes } from '../../src/parallel/data.js';
import { createShmGroup, failGroup, type ShmGroup } from '../../src/parallel/shm-comm.js';

interface Reply {
  a: Float32Array;
  b: Float32Array;
  bytes: number;
  error?: string;
  wrong?: number;
}

function start(group: ShmGroup, op: string, floats: number, timeoutSeconds = 20): Promise<Reply>[] {
  return Array.from({ length: group.size }, (_, rank) => {
    const w = new Worker(new URL('./data-comm-worker.js', import.meta.url), {
      workerData: { group, rank, op, floats, timeoutSeconds },
    });
    return new Promise<Reply>((resolve, reject) => {
      w.once('message', (m: Reply) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
  });
}

test('three replicas all-reduce 1000 + 3 floats through slots of 64: every replica has ½·Σ', async () => {
  const n = 3;
  const floats = 1000;
  const replies = await Promise.all(start(createShmGroup(n, 64), 'reduce', floats));
  for (const r of replies) {
    assert.equal(r.error, undefined);
    // Σ_r (r+1)(i+1) = 6(i+1), halved
    for (let i = 0; i < floats; i++) assert.equal(r.a[i], 3 * (i + 1));
    assert.deepEqual(Array.from(r.b), [1.5, 1.5, 1.5]);
  }
  const total = replies.reduce((s, r) => s + r.bytes, 0);
  assert.equal(total, allreduceBytes(floats + 3, n));
  // Each replica reads 2·(n−1)/n of the floats, up to the rounding of uneven shares.
  for (const r of replies) assert.ok(Math.abs(r.bytes - total / n) <= 4 * 2 * 16, `${r.bytes}`);
});

test('a broadcast gives every replica the root’s views; the root reads nothing', async () => {
  const replies = await Promise.all(start(createShmGroup(3, 64), 'broadcast', 100));
  for (const r of replies) {
    for (let i = 0; i < 100; i++) assert.equal(r.a[i], 2 * (i + 1));
    assert.deepEqual(Array.from(r.b), [1, 1, 1]);
  }
  assert.deepEqual(
    replies.map((r) => r.bytes),
    [103 * 4, 0, 103 * 4],
  );
});

test('a broadcast right after an all-reduce does not overwrite what the others still read', async () => {
  const replies = await Promise.all(start(createShmGroup(3, 64), 'alternate', 100));
  for (const r of replies) {
    assert.equal(r.error, undefined);
    assert.equal(r.wrong, 0);
  }
});

test('a replica that never arrives is named when the wait runs out', async () => {
  const group = createShmGroup(3, 64);
  const [r0, r1] = await Promise.all(start(group, 'absent', 10, 1).slice(0, 2));
  assert.equal(r0.error, 'waited 1 s for worker 2 of 3 (it died or hangs)');
  assert.equal(r1.error, 'waited 1 s for worker 2 of 3 (it died or hangs)');
});

test('failGroup ends every wait at once', async () => {
  const group = createShmGroup(3, 64);
  const t0 = performance.now();
  const waiting = start(group, 'absent', 10, 60).slice(0, 2);
  setTimeout(() => failGroup(group), 300);
  const replies = await Promise.all(waiting);
  assert.ok(performance.now() - t0 < 10_000);
  for (const r of replies) assert.equal(r.error, 'another worker failed');
});
