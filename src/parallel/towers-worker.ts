// The worker script of one tower (`--parallel towers`): builds the tower on its own backend and
// answers the main thread's calls. The batch, the logits and their gradient pass through the
// channel's regions x, logits and dlogits; the towers' exchanges through their mailboxes.
import { Tensor } from '../tensor/tensor.js';
import { Tower, type TowerInit, type TowerState } from './tower.js';
import { SharedChannel, type ChannelDesc } from './worker-channel.js';
import { Reply, serveWorker } from './worker-serve.js';

export interface TowerWorkerData extends TowerInit {
  channel: ChannelDesc;
}

serveWorker<TowerWorkerData>(({ backend, data }) => {
  const channel = SharedChannel.attach(data.channel);
  const tower = new Tower(data, backend, channel);
  const per = data.input.reduce((a, b) => a * b, 1);
  const failure = injectedFailure(data.party);
  let forwards = 0;
  return {
    forward: async ({ m, training }: { m: number; training: boolean }) => {
      if (failure && ++forwards === failure.at) {
        if (failure.how === 'exit') process.exit(7);
        throw new Error(`injected failure at forward ${forwards}`);
      }
      const x = new Tensor([m, ...data.input], channel.region('x').slice(0, m * per));
      const logits = await tower.forward(x, training);
      if (logits) channel.region('logits').set((await backend.download(logits)).data);
    },
    backward: ({ m }: { m: number }) => {
      const classes = data.classes;
      const d =
        data.party === 0
          ? new Tensor([m, classes], channel.region('dlogits').slice(0, m * classes))
          : null;
      return tower.backward(d);
    },
    step: ({ lr }: { lr: number }) => tower.step(lr),
    state: async () => {
      const s = await tower.state();
      return new Reply(
        s,
        [...Object.values(s.params), ...Object.values(s.velocity)].map(
          (a) => a.buffer as ArrayBuffer,
        ),
      );
    },
    load: (s: TowerState) => tower.load(s),
  };
});

/** ALEXNET_TOWER_FAIL=B:throw:3 (or A:exit:2): the named tower throws, or exits, at that forward.
 *  For the tests of the dying-worker path (a thread cannot be killed from outside the process). */
function injectedFailure(party: number): { how: 'throw' | 'exit'; at: number } | null {
  const m = /^([AB]):(throw|exit):(\d+)$/.exec(process.env.ALEXNET_TOWER_FAIL ?? '');
  if (!m || 'AB'.indexOf(m[1]) !== party) return null;
  return { how: m[2] as 'throw' | 'exit', at: Number(m[3]) };
}
