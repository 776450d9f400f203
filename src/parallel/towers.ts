// `--parallel towers`: the paper's two-GPU model parallelism (§3.2) on two worker threads, each
// with its own backend (one kernel thread each by default) holding only its tower's half of the
// parameters (towers-plan.ts, tower.ts). The main thread hands both towers the batch, takes the
// logits from tower A, hands back their gradient, and tells each tower to take its own SGD step.
// The results equal the single-process grouped network's (test/parallel/towers.test.ts).
//
// A checkpoint stays an ordinary model file: `pull` gathers the towers' halves (parameters,
// momentum, dropout generator) into the full network on the main thread before a save, `push`
// splits them onto the towers at the start and after a resume. A tower that dies ends the run
// with one WorkerDied naming it (worker.ts); nothing is saved after it.
import type { Backend } from '../backend/backend.js';
import type { BackendId } from '../backend/index.js';
import { hostData } from '../backend/backend.js';
import type { F32 } from '../nn/layer.js';
import type { Net } from '../nn/net.js';
import type { Sgd, SgdOptions } from '../optim/sgd.js';
import { Tensor, sizeOf } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import type { TowerState } from './tower.js';
import { TOWERS, towerPlan } from './towers-plan.js';
import type { TowerWorkerData } from './towers-worker.js';
import { SharedChannel } from './worker-channel.js';
import type { StepWorkers } from './step-workers.js';
import { WorkerGroup } from './worker.js';

export interface TowersOptions {
  backend?: BackendId;
  /** Kernel threads per tower (default 1: one core each on this 2-core machine). */
  threads?: number;
  /** The largest batch a step will pass. */
  maxBatch: number;
  sgd: SgdOptions;
}

/** Bytes one tower sent the other in the last step (forward and backward together). */
export interface TowerBytes {
  aToB: number;
  bToA: number;
}

export class Towers implements StepWorkers {
  /** What crossed between the towers in the last forward (and backward, when training). */
  lastBytes: TowerBytes = { aToB: 0, bToA: 0 };
  private readonly logits: Tensor;

  readonly count = 2;

  get bytes(): number {
    return this.lastBytes.aToB + this.lastBytes.bToA;
  }

  private constructor(
    private readonly group: WorkerGroup,
    private readonly channel: SharedChannel,
    private readonly net: Net,
  ) {
    this.logits = new Tensor([0, net.outputShape[0]]);
  }

  /** Starts the two tower workers for `net` (the full grouped network on this thread, whose
   *  parameters, and dropout state, they then take: push). */
  static async start(net: Net, opts: TowersOptions): Promise<Towers> {
    if (!net.backend.hostMemory)
      usage(
        `towers keep the whole network on a CPU backend on the main thread (the towers may run on webgpu); backend ${net.backend.name} keeps its tensors on the device`,
        'backend',
      );
    for (const party of [0, 1]) towerPlan(net.specs, party); // refuses a net that does not split
    const channel = SharedChannel.create(3, regions(net, opts.maxBatch));
    const base = {
      specs: [...net.specs],
      input: net.input,
      classes: net.outputShape[0],
      dropoutMode: net.opts.dropoutMode,
      sgd: opts.sgd,
      channel: channel.desc,
    };
    const group = await WorkerGroup.start(
      TOWERS.map((t, party) => ({
        name: `tower ${t}`,
        script: new URL('./towers-worker.js', import.meta.url),
        backend: opts.backend ?? (net.backend.name as BackendId),
        threads: opts.threads ?? 1,
        data: { ...base, party } satisfies TowerWorkerData,
      })),
      () => channel.abort(),
    );
    const towers = new Towers(group, channel, net);
    return towers;
  }

  /** The logits [m, classes] of x [m, C, H, W] (training keeps what backward needs). The
   *  tensor is reused by the next call. */
  async forward(x: Tensor, training: boolean): Promise<Tensor> {
    const m = x.shape[0];
    this.channel.region('x').set(x.data.subarray(0, m * sizeOf(this.net.input)));
    this.channel.resetBytes();
    await this.callBoth('forward', { m, training });
    const classes = this.net.outputShape[0];
    const logits = this.logits.size === m * classes ? this.logits : new Tensor([m, classes]);
    logits.data.set(this.channel.region('logits').subarray(0, m * classes));
    this.countBytes();
    return logits;
  }

  /** dlogits [m, classes] of the last training forward: every tower's parameter gradients. */
  async backward(dlogits: F32, backend: Backend): Promise<void> {
    const d = hostData(backend, dlogits);
    this.channel.region('dlogits').set(d);
    await this.callBoth('backward', { m: dlogits.shape[0] });
    this.countBytes();
  }

  /** Each tower's own SGD step on its own half. */
  async step(lr: number): Promise<void> {
    await this.callBoth('step', { lr });
  }

  private countBytes(): void {
    const [a, b] = this.channel.sentBytes();
    this.lastBytes = { aToB: a, bToA: b };
  }

  private callBoth(method: string, arg: unknown): Promise<unknown[]> {
    return this.group.all(this.group.members.map((w) => w.call(method, arg)));
  }

  /** The towers' halves into `net` (and `sgd`'s momentum): the standard layout, for a save. */
  async pull(sgd?: Sgd): Promise<void> {
    const states = (await this.callBoth('state', undefined)) as TowerState[];
    for (const p of this.net.params) {
      const full = hostData(this.net.backend, p.value);
      const v = sgd ? hostData(sgd.backend, sgd.velocity.get(p.name)!) : null;
      states.forEach((s, party) => {
        const part = s.params[p.name];
        if (!part) return;
        const at = offsetOf(party, part.length, full.length);
        full.set(part, at);
        v?.set(s.velocity[p.name], at);
      });
    }
    this.net.rng.setState(states[0].rng);
  }

  /** `net`'s parameters (and `sgd`'s momentum, and the dropout state) split onto the towers. */
  async push(sgd?: Sgd): Promise<void> {
    const plan = (await this.callBoth('state', undefined)) as TowerState[]; // each tower's shapes
    const rng = this.net.rng.getState();
    await this.group.all(
      this.group.members.map((w, party) => {
        const mine = plan[party];
        const s: TowerState = { params: {}, velocity: {}, rng };
        for (const [name, part] of Object.entries(mine.params)) {
          const p = this.net.paramsByName.get(name)!;
          const full = hostData(this.net.backend, p.value);
          const at = offsetOf(party, part.length, full.length);
          s.params[name] = full.slice(at, at + part.length);
          s.velocity[name] = sgd
            ? hostData(sgd.backend, sgd.velocity.get(name)!).slice(at, at + part.length)
            : new Float32Array(part.length);
        }
        return w.call('load', s);
      }),
    );
  }

  async close(): Promise<void> {
    await this.group.close();
  }
}

/** Where tower `party`'s part of `n` floats starts in a standard tensor of `full` floats: its
 *  rows come after tower A's (a tensor tower A holds whole, fc8, starts at 0). */
function offsetOf(party: number, n: number, full: number): number {
  return n === full ? 0 : party * n;
}

/** The channel's regions: the batch, the logits and their gradient, and two mailboxes per
 *  tower as large as the largest exchange (half a gathered layer input, or an LRN halo). */
function regions(net: Net, maxBatch: number): Record<string, number> {
  let box = 0;
  let input = net.input;
  net.specs.forEach((s, i) => {
    const full = sizeOf(input);
    if (s.kind === 'linear' || (s.kind === 'conv' && s.groups === 1 && i > 0))
      box = Math.max(box, full / 2);
    if (s.kind === 'lrn') box = Math.max(box, Math.floor(s.size / 2) * (full / input[0]));
    input = net.rows[i].output;
  });
  const classes = net.outputShape[0];
  return {
    x: maxBatch * sizeOf(net.input),
    logits: maxBatch * classes,
    dlogits: maxBatch * classes,
    box00: maxBatch * box,
    box01: maxBatch * box,
    box10: maxBatch * box,
    box11: maxBatch * box,
  };
}
