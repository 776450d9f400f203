// The worker machinery: a worker opens its own backend with its own thread count, two workers
// exchange through a SharedArrayBuffer channel, and a worker that throws, exits or fails to start
// ends its group with one message naming it, waking a peer blocked on it (no hang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedChannel } from '../../src/parallel/worker-channel.js';
import { WorkerDied, WorkerGroup } from '../../src/parallel/worker.js';
import { nativeBackend } from '../../src/backend/native/index.js';

const script = new URL('./ping-worker.js', import.meta.url);
const backend = nativeBackend ? 'native' : 'ref';

async function pair(failSetup = false): Promise<{ group: WorkerGroup; ch: SharedChannel }> {
  const ch = SharedChannel.create(2, { w0: 8, w1: 8 });
  const group = await WorkerGroup.start(
    [0, 1].map((party) => ({
      name: `tower ${'AB'[party]}`,
      script,
      backend,
      threads: 1,
      data: { party, channel: ch.desc, failSetup: failSetup && party === 1 },
    })),
    () => ch.abort(),
  );
  return { group, ch };
}

test(
  'each worker has its own backend with one thread; two workers exchange through shared memory',
  { timeout: 20000 },
  async () => {
    const { group, ch } = await pair();
    try {
      const [a, b] = group.members;
      assert.deepEqual(await a.call('threads'), { backend, threads: 1 });
      assert.equal(a.backend, backend);
      for (let round = 0; round < 3; round++) {
        const [fromB, fromA] = await group.all([a.call('exchange', 8), b.call('exchange', 8)]);
        assert.equal(fromB, 2 * 36); // B wrote 2·(1…8)
        assert.equal(fromA, 36);
      }
      assert.deepEqual(ch.sentBytes(), [3 * 32, 3 * 32]);
    } finally {
      await group.close();
    }
  },
);

for (const [how, why] of [
  ['throw', /^tower B threw: boom$/],
  ['exit', /^tower B exited \(code 3\)$/],
] as const) {
  test(
    `a worker that ${how}s ends the group with one line naming it, waking its blocked peer`,
    { timeout: 20000 },
    async () => {
      const { group, ch } = await pair();
      try {
        const [a, b] = group.members;
        const t0 = performance.now();
        const blocked = a.call('block');
        await assert.rejects(group.all([blocked, b.call(how)]), (e: unknown) => {
          assert.ok(e instanceof WorkerDied);
          assert.match(e.message, why);
          return true;
        });
        // A, blocked on B in shared memory, was woken and ended too, within a bound.
        await assert.rejects(blocked, WorkerDied);
        assert.ok(ch.aborted);
        assert.ok(performance.now() - t0 < 5000);
        await assert.rejects(a.call('threads'), WorkerDied);
        assert.equal(group.death?.worker, 'tower B');
      } finally {
        await group.close();
      }
    },
  );
}

test('a worker killed from outside ends the group, naming it', { timeout: 20000 }, async () => {
  const { group } = await pair();
  try {
    const [a, b] = group.members;
    const blocked = a.call('block');
    b.kill('was killed');
    await assert.rejects(group.all([blocked]), {
      name: 'WorkerDied',
      message: 'tower B was killed',
    });
  } finally {
    await group.close();
  }
});

test(
  'a worker whose setup fails: start rejects naming it, and no worker is left running',
  { timeout: 20000 },
  async () => {
    await assert.rejects(pair(true), {
      name: 'WorkerDied',
      message: 'tower B failed to start: setup refused',
    });
  },
);
