// One worker's part of `--parallel hybrid` (hybrid-plan.ts), as it runs in its worker: the whole
// convolutional part on its share of the batch, its units of every fully connected layer for the
// whole batch, and the exchanges between them (hybrid-comm.ts). Dropout masks are the
// single-process network's: one generator, in the same state on every worker, draws each
// dropout layer's mask for the whole batch, and each worker keeps its samples (convolutional
// part: Net.batchWindow) or its units (fully connected part).
//
// On a device backend (webgpu: a device per worker) every exchange is read back from the device
// and the gathered or reduced result uploaded (tower.ts: onHost, onBackend); a step's gradSlot
// holds the gradient of its input.
//
// Legend: M batch, m = count of this worker's samples, F features per sample after the
// convolutional part, D a layer's units, k this worker's share of them.
import type { Backend, TensorHandle } from '../backend/backend.js';
import { drawMask, type DropoutMode } from '../nn/dropout.js';
import { Slot, type F32, type Param } from '../nn/layer.js';
import { Net, type LayerSpec } from '../nn/net.js';
import { Sgd, type SgdOptions } from '../optim/sgd.js';
import { Tensor, sizeOf, type Shape } from '../tensor/tensor.js';
import { shareOf } from '../train/distributed.js';
import type { RngState } from '../util/rng.js';
import type { HybridComm } from './hybrid-comm.js';
import { hybridPlan } from './hybrid-plan.js';
import { backwardThrough, onBackend, onHost } from './tower.js';

export interface HybridInit {
  party: number;
  parties: number;
  specs: LayerSpec[];
  input: Shape;
  classes: number;
  dropoutMode: DropoutMode;
  sgd: SgdOptions;
  /** Parameters that take no SGD step (--freeze). */
  frozen: string[];
}

/** A worker's tensors by standard name, where each starts in the standard tensor (floats), its
 *  momentum, and the dropout generator's state. */
export interface HybridState {
  params: Record<string, Float32Array>;
  at: Record<string, number>;
  velocity: Record<string, Float32Array>;
  rng: { words: RngState; spare: number | null };
}

type FcStep =
  | {
      kind: 'linear';
      net: Net;
      /** The units of the layer before, gathered into this one (null: the features). */
      from: number | null;
      first: number;
      inSlot: Slot;
      gradSlot: Slot;
    }
  | {
      kind: 'dropout';
      p: number;
      units: number;
      first: number;
      count: number;
      mask: Tensor<'uint8'>;
      /** The mask on the backend (the host backends: `mask` itself). */
      maskOn: TensorHandle<'uint8'> | null;
      maskSlot: Slot<'uint8'>;
      outSlot: Slot;
      gradSlot: Slot;
    };

export class HybridPart {
  readonly params: Param[];
  readonly sgd: Sgd;
  private readonly conv: Net;
  private readonly convParams: Param[];
  private readonly steps: FcStep[] = [];
  /** Offsets of this worker's parameters in the standard tensors (floats). */
  private readonly at = new Map<string, number>();
  /** Features per sample after the convolutional part. */
  private readonly width: number;
  /** Per-sample sizes and rates of the convolutional part's dropout layers (a worker without
   *  samples still draws their masks, so that every generator stays in step). */
  private readonly convDropouts: { row: number; p: number }[] = [];
  private lastBatch = 0;

  constructor(
    readonly init: HybridInit,
    readonly backend: Backend,
    private readonly comm: HybridComm,
  ) {
    const plan = hybridPlan(init.specs, init.party, init.parties, init.classes);
    const opts = { classes: init.classes, dropoutMode: init.dropoutMode };
    this.conv = new Net(plan.conv, { ...opts, input: init.input }, backend);
    this.convParams = [...this.conv.params];
    this.width = sizeOf(this.conv.outputShape);
    plan.conv.forEach((s, i) => {
      if (s.kind === 'dropout')
        this.convDropouts.push({ row: sizeOf(this.conv.rows[i].output), p: s.p });
    });
    const params = [...this.conv.params];
    let width = this.width;
    let from: number | null = null;
    for (const op of plan.fc) {
      if (op.kind === 'linear') {
        const net = new Net(op.specs, { ...opts, input: [width] }, backend);
        for (const p of net.params) {
          params.push(p);
          this.at.set(p.name, op.first * (p.value.size / op.count));
        }
        this.steps.push({
          kind: 'linear',
          net,
          from,
          first: op.first,
          inSlot: new Slot(),
          gradSlot: new Slot(),
        });
        from = op.units;
        width = op.units;
      } else {
        const { first, count } = shareOf(width, init.party, init.parties);
        this.steps.push({
          kind: 'dropout',
          p: op.spec.p,
          units: width,
          first,
          count,
          mask: Tensor.of('uint8', [0]),
          maskOn: null,
          maskSlot: new Slot('uint8'),
          outSlot: new Slot(),
          gradSlot: new Slot(),
        });
      }
    }
    for (const p of this.conv.params) this.at.set(p.name, 0);
    for (const p of params) p.frozen = init.frozen.includes(p.name);
    this.params = params;
    this.sgd = new Sgd(params, backend, init.sgd);
  }

  get rng(): Net['rng'] {
    return this.conv.rng;
  }

  /** x: this worker's samples [m, C, H, W] of a batch of M → its units of the logits [M, k]. */
  async forward(x: Tensor, batch: number, training: boolean): Promise<Float32Array> {
    const b = this.backend;
    this.lastBatch = batch;
    const { first, count } = shareOf(batch, this.init.party, this.init.parties);
    let features: Float32Array = new Float32Array(0);
    if (count > 0) {
      this.conv.batchWindow = { first, total: batch };
      features = await onHost(b, this.conv.forward(x, training));
      this.conv.batchWindow = null;
    } else if (training) {
      for (const d of this.convDropouts) drawMask(new Uint8Array(batch * d.row), 1 - d.p, this.rng);
    }
    // fc6's features: a host tensor, which its Net uploads.
    let h: F32 = new Tensor([batch, this.width], this.comm.gatherRows(features, batch, this.width));
    for (const s of this.steps) {
      if (s.kind === 'linear') {
        if (s.from !== null) {
          const all = this.comm.gatherCols(await onHost(b, h), batch, s.from);
          h = onBackend(b, new Tensor([batch, s.from], all), s.inSlot);
        }
        h = s.net.forward(h, training);
      } else {
        h = this.dropout(s, h, training);
      }
    }
    return (await onHost(b, h)).slice();
  }

  private dropout(s: Extract<FcStep, { kind: 'dropout' }>, x: F32, training: boolean): F32 {
    const b = this.backend;
    const y = s.outSlot.get(b, x.shape);
    if (!training) {
      b.scale({ x, y }, { scale: this.init.dropoutMode === 'classic' ? 1 - s.p : 1 });
      return y;
    }
    // The single net draws one mask for the whole [M, units] layer: this worker's columns.
    const n = x.shape[0];
    const all = new Uint8Array(n * s.units);
    drawMask(all, 1 - s.p, this.rng);
    if (s.mask.size !== n * s.count) s.mask = Tensor.of('uint8', [n * s.count]);
    for (let i = 0; i < n; i++)
      s.mask.data.set(
        all.subarray(i * s.units + s.first, i * s.units + s.first + s.count),
        i * s.count,
      );
    s.maskOn = onBackend(b, s.mask, s.maskSlot);
    b.dropoutApply({ x, mask: s.maskOn, y }, { scale: this.trainScale(s.p) });
    return y;
  }

  private trainScale(p: number): number {
    return this.init.dropoutMode === 'inverted' ? 1 / (1 - p) : 1;
  }

  /** dlogits: this worker's units [M, k] of the last training forward's logits' gradient →
   *  every parameter's gradient of this worker (the convolutional ones summed over workers). */
  async backward(dlogits: Float32Array<ArrayBuffer>): Promise<void> {
    const b = this.backend;
    const batch = this.lastBatch;
    const dl = new Tensor([batch, dlogits.length / batch], dlogits);
    let g: F32 = onBackend(b, dl, this.dlogitsSlot);
    let dFeatures = new Float32Array(0);
    for (let k = this.steps.length - 1; k >= 0; k--) {
      const s = this.steps[k];
      if (s.kind === 'dropout') {
        const dx = s.gradSlot.get(b, g.shape);
        b.dropoutApply({ x: g, mask: s.maskOn!, y: dx }, { scale: this.trainScale(s.p) });
        g = dx;
        continue;
      }
      // This worker's units' part of the gradient of the layer's whole input, [M, D_in].
      const partial = await onHost(b, backwardThrough(s.net, g, true)!);
      if (s.from === null) {
        dFeatures = this.comm.reduceRows(partial, batch, this.width);
      } else {
        const own = this.comm.reduceCols(partial, batch, s.from);
        g = onBackend(b, new Tensor([batch, own.length / batch], own), s.gradSlot);
      }
    }
    const { count } = shareOf(batch, this.init.party, this.init.parties);
    if (count > 0)
      backwardThrough(
        this.conv,
        onBackend(b, new Tensor([count, this.width], dFeatures), this.featureSlot),
        false,
      );
    else for (const p of this.convParams) b.upload(new Tensor(p.grad.shape), p.grad);
    // The convolutional gradients summed over the workers (a device's read back and written).
    const grads = await Promise.all(this.convParams.map((p) => onHost(b, p.grad)));
    this.comm.allReduce(grads);
    if (!b.hostMemory)
      this.convParams.forEach((p, i) => b.upload(new Tensor(p.grad.shape, grads[i]), p.grad));
  }

  private readonly dlogitsSlot = new Slot();
  private readonly featureSlot = new Slot();

  step(lr: number): void {
    this.sgd.step(lr);
  }

  /** This worker's tensors (copies): its units of the fully connected layers; worker 0 also the
   *  convolutional ones (every worker holds the same). */
  async state(): Promise<HybridState> {
    const s: HybridState = { params: {}, at: {}, velocity: {}, rng: this.rng.getState() };
    const b = this.backend;
    for (const p of this.params) {
      if (this.init.party !== 0 && this.convParams.includes(p)) continue;
      s.params[p.name] = (await onHost(b, p.value)).slice();
      s.velocity[p.name] = (await onHost(b, this.sgd.velocity.get(p.name)!)).slice();
      s.at[p.name] = this.at.get(p.name)!;
    }
    return s;
  }

  /** Every tensor this worker holds (the convolutional ones too), as `state` names them. */
  shapes(): Record<string, { at: number; size: number }> {
    return Object.fromEntries(
      this.params.map((p) => [p.name, { at: this.at.get(p.name)!, size: p.value.size }]),
    );
  }

  load(s: HybridState): void {
    const b = this.backend;
    for (const p of this.params) {
      b.upload(new Tensor(p.value.shape, s.params[p.name]), p.value);
      const v = this.sgd.velocity.get(p.name)!;
      b.upload(new Tensor(v.shape, s.velocity[p.name]), v);
    }
    this.rng.setState(s.rng);
  }
}
