// The worker script of one worker of `--parallel hybrid` (hybrid.ts): builds its part
// (hybrid-part.ts) on its own backend and answers the main thread's calls. The batch, the logits
// and their gradient pass through the channel's regions x, logits and dlogits (each worker reads
// its samples of x and writes and reads its units of the logits); the workers' exchanges go
// through the gather regions and slots (hybrid-comm.ts).
import { Tensor } from '../tensor/tensor.js';
import { shareOf } from '../train/distributed.js';
import { HybridComm } from './hybrid-comm.js';
import { HybridPart, type HybridInit, type HybridState } from './hybrid-part.js';
import { SharedChannel, type ChannelDesc } from './worker-channel.js';
import { Reply, serveWorker } from './worker-serve.js';

export interface HybridWorkerData extends HybridInit {
  channel: ChannelDesc;
}

serveWorker<HybridWorkerData>(({ backend, data }) => {
  const channel = SharedChannel.attach(data.channel);
  const part = new HybridPart(data, backend, new HybridComm(channel, data.party, data.parties));
  const per = data.input.reduce((a, b) => a * b, 1);
  const { classes, party, parties } = data;
  const units = shareOf(classes, party, parties);
  const failure = injectedFailure(party);
  let forwards = 0;
  return {
    forward: async ({ m, training }: { m: number; training: boolean }) => {
      if (failure && ++forwards === failure.at) {
        if (failure.how === 'exit') process.exit(7);
        throw new Error(`injected failure at forward ${forwards}`);
      }
      const { first, count } = shareOf(m, party, parties);
      const x = new Tensor(
        [count, ...data.input],
        channel.region('x').slice(first * per, (first + count) * per),
      );
      // Its units of the logits [m, k] into their columns of [m, classes].
      const own = await part.forward(x, m, training);
      const logits = channel.region('logits');
      for (let i = 0; i < m; i++)
        logits.set(own.subarray(i * units.count, (i + 1) * units.count), i * classes + units.first);
    },
    backward: ({ m }: { m: number }) => {
      const d = channel.region('dlogits');
      const own = new Float32Array(m * units.count);
      for (let i = 0; i < m; i++)
        own.set(
          d.subarray(i * classes + units.first, i * classes + units.first + units.count),
          i * units.count,
        );
      return part.backward(own);
    },
    step: ({ lr }: { lr: number }) => part.step(lr),
    shapes: () => part.shapes(),
    state: async () => {
      const s = await part.state();
      return new Reply(
        s,
        [...Object.values(s.params), ...Object.values(s.velocity)].map(
          (a) => a.buffer as ArrayBuffer,
        ),
      );
    },
    load: (s: HybridState) => part.load(s),
  };
});

/** ALEXNET_HYBRID_FAIL=1:throw:3 (or 0:exit:2): that worker throws, or exits, at that forward.
 *  For the tests of the dying-worker path (a thread cannot be killed from outside the process). */
function injectedFailure(party: number): { how: 'throw' | 'exit'; at: number } | null {
  const m = /^(\d+):(throw|exit):(\d+)$/.exec(process.env.ALEXNET_HYBRID_FAIL ?? '');
  if (!m || Number(m[1]) !== party) return null;
  return { how: m[2] as 'throw' | 'exit', at: Number(m[3]) };
}
