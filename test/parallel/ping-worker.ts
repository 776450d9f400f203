// A worker script for worker.test.ts: it exchanges through the shared channel with its peer,
// throws, exits or blocks when asked. (`node --test dist/test/` also runs it as a file on the
// main thread, where it does nothing.)
import { isMainThread } from 'node:worker_threads';
import { serveWorker } from '../../src/parallel/worker-serve.js';
import { SharedChannel, type ChannelDesc } from '../../src/parallel/worker-channel.js';

if (!isMainThread)
  serveWorker<{ party: number; channel: ChannelDesc; failSetup?: boolean }>(({ backend, data }) => {
    if (data.failSetup) throw new Error('setup refused');
    const ch = SharedChannel.attach(data.channel);
    const me = data.party;
    const peer = 1 - me;
    return {
      threads: () => ({ backend: backend.name, threads: backend.getThreads() }),
      /** Writes [me + 1, …] to its region, waits for the peer's, returns the sum of the peer's. */
      exchange: (n: number) => {
        const mine = ch.region(`w${me}`);
        for (let i = 0; i < mine.length; i++) mine[i] = (me + 1) * (i + 1);
        ch.countBytes(me, mine.byteLength);
        ch.waitFor(peer, ch.post(me));
        return ch
          .region(`w${peer}`)
          .subarray(0, n)
          .reduce((s, x) => s + x, 0);
      },
      /** Waits for a post the peer never makes. */
      block: () => ch.waitFor(peer, ch.posts(me) + 1000),
      throw: () => {
        throw new Error('boom');
      },
      exit: () => process.exit(3),
    };
  });
