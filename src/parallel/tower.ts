// One tower of the paper's two (towers-plan.ts), as it runs in its worker: the plan's operations
// over this tower's half of the parameters, exchanging with the other tower through the shared
// channel where the plan says, and nowhere else.
//
// Legend: N batch, P a tower's per-sample block at an exchange (C/2·H·W maps or D/2 units),
// h = ⌊size/2⌋ halo maps of an LRN. Exchange k uses mailbox k mod 2 of each tower: a tower that
// writes mailbox k mod 2 again (exchange k + 2) has seen the peer's post of exchange k + 1, which
// the peer makes only after reading exchange k, so no mailbox is overwritten while being read.
//
// On a device backend (webgpu: one device per tower) every exchange is read back from the device
// (download), goes through the shared channel, and is uploaded on the other side; between the
// steps the values are the backend's tensors (on the host backends: host Tensors, no copy).
import type { Backend, TensorHandle } from '../backend/backend.js';
import { Conv2d } from '../nn/conv.js';
import { drawMask, type DropoutMode } from '../nn/dropout.js';
import { Slot, type F32, type Param } from '../nn/layer.js';
import { Linear } from '../nn/linear.js';
import { Net, type LayerSpec } from '../nn/net.js';
import { Sgd, type SgdOptions } from '../optim/sgd.js';
import { Tensor, sizeOf, type Shape } from '../tensor/tensor.js';
import { Rng, type RngState } from '../util/rng.js';
import { towerPlan, type TowerOp } from './towers-plan.js';
import type { SharedChannel } from './worker-channel.js';

export interface TowerInit {
  party: number;
  specs: LayerSpec[];
  input: Shape;
  classes: number;
  dropoutMode: DropoutMode;
  sgd: SgdOptions;
}

/** A tower's parameters and momentum as host arrays by standard name, and its dropout state. */
export interface TowerState {
  params: Record<string, Float32Array>;
  velocity: Record<string, Float32Array>;
  rng: { words: RngState; spare: number | null };
}

/** Where a step's host results go on the backend: its output, its input's gradient. */
interface Slots {
  outSlot: Slot;
  gradSlot: Slot;
}

type Step =
  | { kind: 'layers'; net: Net; first: boolean }
  | ({ kind: 'gather'; to: 'both' | 'A'; perSample: number; out: Shape } & Slots)
  | ({ kind: 'halo'; net: Net; shape: Shape; h: number; padSlot: Slot } & Slots)
  | ({
      kind: 'dropout';
      p: number;
      units: number;
      mask: Tensor<'uint8'>;
      /** The mask on the backend (the host backends: `mask` itself). */
      maskOn: TensorHandle<'uint8'> | null;
      maskSlot: Slot<'uint8'>;
    } & Slots);

export class Tower {
  readonly params: Param[] = [];
  readonly sgd: Sgd;
  readonly rng = new Rng(0);
  private readonly steps: Step[] = [];
  private readonly peer: number;
  private exchanges = 0;
  /** The last forward's batch (tower B's backward starts at fc8's gather, without a gradient). */
  private lastBatch = 0;

  constructor(
    readonly init: TowerInit,
    readonly backend: Backend,
    private readonly channel: SharedChannel,
  ) {
    this.peer = 1 - init.party;
    let shape = init.input;
    for (const op of towerPlan(init.specs, init.party)) shape = this.build(op, shape);
    this.sgd = new Sgd(this.params, backend, init.sgd);
  }

  private build(op: TowerOp, shape: Shape): Shape {
    const opts = { input: shape, classes: this.init.classes, dropoutMode: this.init.dropoutMode };
    switch (op.kind) {
      case 'layers': {
        const net = new Net(op.specs, opts, this.backend);
        this.params.push(...net.params);
        this.steps.push({ kind: 'layers', net, first: this.steps.length === 0 });
        return net.outputShape;
      }
      case 'gather': {
        const out = [2 * shape[0], ...shape.slice(1)];
        this.steps.push({ kind: 'gather', to: op.to, perSample: sizeOf(shape), out, ...slots() });
        return out;
      }
      case 'halo': {
        const h = Math.floor(op.spec.size / 2);
        const net = new Net(
          [op.spec],
          { ...opts, input: [shape[0] + h, ...shape.slice(1)] },
          this.backend,
        );
        this.steps.push({ kind: 'halo', net, shape, h, padSlot: new Slot(), ...slots() });
        return shape;
      }
      case 'dropout':
        this.steps.push({
          kind: 'dropout',
          p: op.spec.p,
          units: sizeOf(shape),
          mask: Tensor.of('uint8', [0]),
          maskOn: null,
          maskSlot: new Slot('uint8'),
          ...slots(),
        });
        return shape;
    }
  }

  /** x: [N, C, H, W] on the host → tower A: the logits [N, classes] on the backend; tower B:
   *  null (it ends at fc8's gather). */
  async forward(x: Tensor, training: boolean): Promise<F32 | null> {
    this.lastBatch = x.shape[0];
    let h: F32 | null = x; // the first step is conv1's Net, which uploads it
    for (const s of this.steps) {
      if (!h) break;
      h = await this.forwardStep(s, h, training);
    }
    return h;
  }

  private async forwardStep(s: Step, x: F32, training: boolean): Promise<F32 | null> {
    const b = this.backend;
    const n = x.shape[0];
    switch (s.kind) {
      case 'layers':
        return s.net.forward(x, training);
      case 'gather': {
        const sends = s.to === 'both' || this.init.party === 1;
        const receives = s.to === 'both' || this.init.party === 0;
        const own = await onHost(b, x);
        const peer = this.exchange(sends ? own : new Float32Array(0), x.size);
        if (!receives) return null;
        // y: [N, 2P], per sample tower A's block, then tower B's.
        const y = new Tensor([n, ...s.out]);
        const P = s.perSample;
        for (let i = 0; i < n; i++) {
          const [a, bb] = this.init.party === 0 ? [own, peer] : [peer, own];
          y.data.set(a.subarray(i * P, (i + 1) * P), i * 2 * P);
          y.data.set(bb.subarray(i * P, (i + 1) * P), i * 2 * P + P);
        }
        return onBackend(b, y, s.outSlot);
      }
      case 'halo': {
        const [c, hh, ww] = s.shape;
        const plane = hh * ww;
        const own = await onHost(b, x);
        // Send the h maps next to the boundary: tower A its last, tower B its first.
        const edge = new Float32Array(n * s.h * plane);
        const from = this.init.party === 0 ? c - s.h : 0;
        for (let i = 0; i < n; i++)
          edge.set(
            own.subarray((i * c + from) * plane, (i * c + from + s.h) * plane),
            i * s.h * plane,
          );
        const halo = this.exchange(edge);
        const padded = new Tensor([n, c + s.h, hh, ww]);
        this.interleave(padded.data, own, halo, n, c * plane, s.h * plane);
        const y = await onHost(b, s.net.forward(padded, training));
        const out = new Tensor([n, c, hh, ww]);
        const at = this.init.party === 0 ? 0 : s.h * plane;
        for (let i = 0; i < n; i++)
          out.data.set(
            y.subarray(i * (c + s.h) * plane + at, i * (c + s.h) * plane + at + c * plane),
            i * c * plane,
          );
        return onBackend(b, out, s.outSlot);
      }
      case 'dropout': {
        const y = s.outSlot.get(b, x.shape);
        const scaleTest = this.init.dropoutMode === 'classic' ? 1 - s.p : 1;
        if (!training) {
          b.scale({ x, y }, { scale: scaleTest });
          return y;
        }
        // The grouped net draws one mask for the whole [N, 2·units] layer: this tower's columns.
        const all = new Uint8Array(n * 2 * s.units);
        drawMask(all, 1 - s.p, this.rng);
        if (s.mask.size !== n * s.units) s.mask = Tensor.of('uint8', [n * s.units]);
        const first = this.init.party * s.units;
        for (let i = 0; i < n; i++)
          s.mask.data.set(
            all.subarray(i * 2 * s.units + first, i * 2 * s.units + first + s.units),
            i * s.units,
          );
        s.maskOn = onBackend(b, s.mask, s.maskSlot);
        b.dropoutApply({ x, mask: s.maskOn, y }, { scale: this.trainScale(s.p) });
        return y;
      }
    }
  }

  private trainScale(p: number): number {
    return this.init.dropoutMode === 'inverted' ? 1 / (1 - p) : 1;
  }

  /** Own rows of P floats and the peer's rows of Q floats into [N, P + Q] in tower order. */
  private interleave(
    out: Float32Array,
    own: Float32Array,
    peer: Float32Array,
    n: number,
    P: number,
    Q: number,
  ): void {
    for (let i = 0; i < n; i++) {
      const ownAt = this.init.party === 0 ? 0 : Q;
      out.set(own.subarray(i * P, (i + 1) * P), i * (P + Q) + ownAt);
      out.set(peer.subarray(i * Q, (i + 1) * Q), i * (P + Q) + (this.init.party === 0 ? P : 0));
    }
  }

  /** dlogits on the host (tower A; null on tower B): fills every parameter's grad of this
   *  tower. */
  async backward(dlogits: Tensor | null): Promise<void> {
    const b = this.backend;
    let g: F32 | null = dlogits && onBackend(b, dlogits, this.dlogitsSlot);
    for (let k = this.steps.length - 1; k >= 0; k--) {
      const s = this.steps[k];
      if (!g && !(s.kind === 'gather' && this.init.party === 1 && s.to === 'A')) continue;
      g = await this.backwardStep(s, g);
    }
  }

  private readonly dlogitsSlot = new Slot();

  private async backwardStep(s: Step, dy: F32 | null): Promise<F32 | null> {
    const b = this.backend;
    switch (s.kind) {
      case 'layers':
        return backwardThrough(s.net, dy!, !s.first);
      case 'gather': {
        // dy: [N, 2P] this tower's gradient w.r.t. both towers' blocks (tower B under fc8: none).
        const P = s.perSample;
        const me = this.init.party;
        const n = dy ? dy.shape[0] : this.lastBatch;
        const d = dy ? await onHost(b, dy) : null;
        const part = (t: number): Float32Array => {
          const out = new Float32Array(n * P);
          for (let i = 0; i < n; i++)
            out.set(d!.subarray(i * 2 * P + t * P, i * 2 * P + (t + 1) * P), i * P);
          return out;
        };
        const sends = d !== null;
        const peer = this.exchange(sends ? part(this.peer) : new Float32Array(0), n * P);
        const dx = new Tensor([n, s.out[0] / 2, ...s.out.slice(1)]);
        if (d) dx.data.set(part(me));
        if (s.to === 'both' || me === 1) for (let i = 0; i < n * P; i++) dx.data[i] += peer[i];
        return onBackend(b, dx, s.gradSlot);
      }
      case 'halo': {
        const [c, hh, ww] = s.shape;
        const plane = hh * ww;
        const n = dy!.shape[0];
        const own = await onHost(b, dy!);
        const padded = new Tensor([n, c + s.h, hh, ww]); // zeros at the halo: its outputs are the peer's
        this.interleave(
          padded.data,
          own,
          new Float32Array(n * s.h * plane),
          n,
          c * plane,
          s.h * plane,
        );
        const dxp = await onHost(b, backwardThrough(s.net, onBackend(b, padded, s.padSlot), true)!);
        const row = (c + s.h) * plane;
        const ownAt = this.init.party === 0 ? 0 : s.h * plane;
        const haloAt = this.init.party === 0 ? c * plane : 0;
        const toPeer = new Float32Array(n * s.h * plane);
        const dx = new Tensor([n, c, hh, ww]);
        for (let i = 0; i < n; i++) {
          toPeer.set(
            dxp.subarray(i * row + haloAt, i * row + haloAt + s.h * plane),
            i * s.h * plane,
          );
          dx.data.set(dxp.subarray(i * row + ownAt, i * row + ownAt + c * plane), i * c * plane);
        }
        // The peer's outputs' gradient w.r.t. this tower's boundary maps.
        const fromPeer = this.exchange(toPeer);
        const edge = this.init.party === 0 ? (c - s.h) * plane : 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < s.h * plane; j++)
            dx.data[i * c * plane + edge + j] += fromPeer[i * s.h * plane + j];
        return onBackend(b, dx, s.gradSlot);
      }
      case 'dropout': {
        const dx = s.gradSlot.get(b, dy!.shape);
        b.dropoutApply({ x: dy!, mask: s.maskOn!, y: dx }, { scale: this.trainScale(s.p) });
        return dx;
      }
    }
  }

  /** Writes `mine` to this tower's mailbox, waits for the peer's post, returns its mailbox
   *  (`floats` of it; default: as many as this tower sent). */
  private exchange(mine: Float32Array, floats = mine.length): Float32Array {
    const box = this.exchanges++ % 2;
    this.channel.region(`box${this.init.party}${box}`).set(mine);
    this.channel.countBytes(this.init.party, mine.byteLength);
    this.channel.waitFor(this.peer, this.channel.post(this.init.party));
    return this.channel.region(`box${this.peer}${box}`).subarray(0, floats);
  }

  step(lr: number): void {
    this.sgd.step(lr);
  }

  /** This tower's tensors (copies), by standard name. */
  async state(): Promise<TowerState> {
    const params: Record<string, Float32Array> = {};
    const velocity: Record<string, Float32Array> = {};
    const b = this.backend;
    for (const p of this.params) {
      params[p.name] = (await onHost(b, p.value)).slice();
      velocity[p.name] = (await onHost(b, this.sgd.velocity.get(p.name)!)).slice();
    }
    return { params, velocity, rng: this.rng.getState() };
  }

  load(s: TowerState): void {
    const b = this.backend;
    for (const p of this.params) {
      b.upload(new Tensor(p.value.shape, s.params[p.name]), p.value);
      const v = this.sgd.velocity.get(p.name)!;
      b.upload(new Tensor(v.shape, s.velocity[p.name]), v);
    }
    this.rng.setState(s.rng);
  }
}

function slots(): Slots {
  return { outSlot: new Slot(), gradSlot: new Slot() };
}

/** t's values on the host: the host backends' own array, a device's read back. */
export async function onHost(b: Backend, t: F32): Promise<Float32Array> {
  return b.readSync ? b.readSync(t).data : (await b.download(t)).data;
}

/** A host tensor as the backend's: itself on the host backends, else uploaded into `slot`. */
export function onBackend<D extends 'float32' | 'uint8'>(
  b: Backend,
  t: Tensor<D>,
  slot: Slot<D>,
): TensorHandle<D> {
  return b.hostMemory ? t : b.upload(t, slot.get(b, t.shape));
}

/** Backward through a Net's layers from dy, returning the gradient of its input when asked
 *  (Net.backward stops at the first layer; a tower's later segments need their input's). */
export function backwardThrough(net: Net, dy: F32, needInput: boolean): F32 | null {
  const ctx = { backend: net.backend, training: true, rng: net.rng, window: null };
  let g: F32 | null = dy;
  for (let i = net.layers.length - 1; i >= 0 && g; i--) {
    const prev = net.layers[i - 1];
    if (i > 0 && (prev instanceof Conv2d || prev instanceof Linear) && prev.fuseRelu) continue;
    g = net.layers[i].backward(g, ctx, i > 0 || needInput);
  }
  return g;
}
