// `--parallel hybrid`: Krizhevsky's "one weird trick" (2014) on N worker threads, each with its
// own backend (one kernel thread each by default): the convolutional layers data-parallel (each
// worker runs them on its share of the batch with a full copy of their weights, and their
// gradients are all-reduced), the fully connected layers model-parallel (fc6, fc7 and fc8 split
// by output units; each worker gathers every worker's pool5 features for the whole batch) —
// hybrid-plan.ts, hybrid-part.ts, hybrid-comm.ts. The main thread hands the workers the batch,
// takes the logits, hands back their gradient and tells each worker to take its SGD step; the
// result equals the single-process network with the whole batch (test/parallel/hybrid.test.ts).
// A checkpoint stays an ordinary model file (pull/push, step-workers.ts); a worker that dies ends
// the run with one WorkerDied naming it (worker.ts).
import type { Backend } from '../backend/backend.js';
import type { BackendId } from '../backend/index.js';
import { hostData } from '../backend/backend.js';
import type { F32 } from '../nn/layer.js';
import type { Net } from '../nn/net.js';
import type { Sgd, SgdOptions } from '../optim/sgd.js';
import { Tensor, sizeOf } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import type { HybridState } from './hybrid-part.js';
import { hybridPlan } from './hybrid-plan.js';
import type { HybridWorkerData } from './hybrid-worker.js';
import type { StepWorkers } from './step-workers.js';
import { SharedChannel } from './worker-channel.js';
import { WorkerGroup } from './worker.js';

export interface HybridOptions {
  backend?: BackendId;
  /** Kernel threads per worker (default 1). */
  threads?: number;
  /** Workers (default 2). */
  workers?: number;
  /** The largest batch a step will pass. */
  maxBatch: number;
  sgd: SgdOptions;
}

export const hybridName = (party: number, parties: number): string =>
  `hybrid worker ${party} of ${parties}`;

export class Hybrid implements StepWorkers {
  private readonly logits: Tensor;

  private constructor(
    private readonly group: WorkerGroup,
    private readonly channel: SharedChannel,
    private readonly net: Net,
  ) {
    this.logits = new Tensor([0, net.outputShape[0]]);
  }

  get count(): number {
    return this.group.members.length;
  }

  get bytes(): number {
    return this.channel.sentBytes().reduce((a, b) => a + b, 0);
  }

  /** Starts the workers for `net` (the whole network on this thread, whose parameters, and
   *  dropout state, they then take: push). */
  static async start(net: Net, opts: HybridOptions): Promise<Hybrid> {
    const parties = opts.workers ?? 2;
    if (!Number.isInteger(parties) || parties < 1)
      usage(`hybrid needs at least one worker, not ${parties}`, 'replicas');
    if (!net.backend.hostMemory)
      usage(
        `hybrid keeps the whole network on a CPU backend on the main thread (the workers may run on webgpu); backend ${net.backend.name} keeps its tensors on the device`,
        'backend',
      );
    const classes = net.outputShape[0];
    for (let party = 0; party < parties; party++) hybridPlan(net.specs, party, parties, classes);
    const channel = SharedChannel.create(parties, regions(net, opts.maxBatch, parties));
    const base = {
      parties,
      specs: [...net.specs],
      input: net.input,
      classes,
      dropoutMode: net.opts.dropoutMode,
      sgd: opts.sgd,
      frozen: net.params.filter((p) => p.frozen).map((p) => p.name),
      channel: channel.desc,
    };
    const group = await WorkerGroup.start(
      Array.from({ length: parties }, (_, party) => ({
        name: hybridName(party, parties),
        script: new URL('./hybrid-worker.js', import.meta.url),
        backend: opts.backend ?? (net.backend.name as BackendId),
        threads: opts.threads ?? 1,
        data: { ...base, party } satisfies HybridWorkerData,
      })),
      () => channel.abort(),
    );
    return new Hybrid(group, channel, net);
  }

  async forward(x: Tensor, training: boolean): Promise<Tensor> {
    const m = x.shape[0];
    this.channel.region('x').set(x.data.subarray(0, m * sizeOf(this.net.input)));
    this.channel.resetBytes();
    await this.callAll('forward', { m, training });
    const classes = this.net.outputShape[0];
    const logits = this.logits.size === m * classes ? this.logits : new Tensor([m, classes]);
    logits.data.set(this.channel.region('logits').subarray(0, m * classes));
    return logits;
  }

  async backward(dlogits: F32, backend: Backend): Promise<void> {
    this.channel.region('dlogits').set(hostData(backend, dlogits));
    await this.callAll('backward', { m: dlogits.shape[0] });
  }

  async step(lr: number): Promise<void> {
    await this.callAll('step', { lr });
  }

  private callAll(method: string, arg: unknown): Promise<unknown[]> {
    return this.group.all(this.group.members.map((w) => w.call(method, arg)));
  }

  async pull(sgd?: Sgd): Promise<void> {
    const states = (await this.callAll('state', undefined)) as HybridState[];
    for (const p of this.net.params) {
      const full = hostData(this.net.backend, p.value);
      const v = sgd ? hostData(sgd.backend, sgd.velocity.get(p.name)!) : null;
      for (const s of states) {
        const part = s.params[p.name];
        if (!part) continue;
        full.set(part, s.at[p.name]);
        v?.set(s.velocity[p.name], s.at[p.name]);
      }
    }
    this.net.rng.setState(states[0].rng);
  }

  async push(sgd?: Sgd): Promise<void> {
    type Shapes = Record<string, { at: number; size: number }>;
    const shapes = (await this.callAll('shapes', undefined)) as Shapes[];
    const rng = this.net.rng.getState();
    await this.group.all(
      this.group.members.map((w, party) => {
        const s: HybridState = { params: {}, at: {}, velocity: {}, rng };
        for (const [name, { at, size }] of Object.entries(shapes[party])) {
          const p = this.net.paramsByName.get(name)!;
          s.params[name] = hostData(this.net.backend, p.value).slice(at, at + size);
          s.velocity[name] = sgd
            ? hostData(sgd.backend, sgd.velocity.get(name)!).slice(at, at + size)
            : new Float32Array(size);
          s.at[name] = at;
        }
        return w.call('load', s);
      }),
    );
  }

  async close(): Promise<void> {
    await this.group.close();
  }
}

/** The channel's regions: the batch, the logits and their gradient, and the gather regions and
 *  slots (hybrid-comm.ts), each as large as the largest exchange — the batch's features or a
 *  layer's units, or the convolutional parameters. */
function regions(net: Net, maxBatch: number, parties: number): Record<string, number> {
  const at = net.specs.findIndex((s) => s.kind === 'linear');
  let box = maxBatch * sizeOf(net.rows[at - 1].output);
  let convParams = 0;
  net.rows.forEach((r, i) => {
    if (i < at) convParams += r.params;
    else box = Math.max(box, maxBatch * sizeOf(r.output));
  });
  box = Math.max(box, convParams);
  const classes = net.outputShape[0];
  const out: Record<string, number> = {
    x: maxBatch * sizeOf(net.input),
    logits: maxBatch * classes,
    dlogits: maxBatch * classes,
    g0: box,
    g1: box,
  };
  for (let r = 0; r < parties; r++) {
    out[`s${r}0`] = box;
    out[`s${r}1`] = box;
  }
  return out;
}
