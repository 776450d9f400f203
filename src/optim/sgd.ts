// SGD with momentum and weight decay, exactly the paper's rule (§5), one backend call per tensor:
//   v ← momentum·v − (decay·decayMult)·(lr·lrMult)·w − (lr·lrMult)·∂L/∂w ;  w ← w + v
// Per-parameter multipliers are Caffe's lr_mult/decay_mult, stated by each layer spec
// (bvlc_alexnet: biases lr×2, no decay; src/models/alexnet.ts). Frozen parameters are skipped entirely (their velocity stays as it was). With momentum
// > 0 the velocity buffers are part of the training state and travel in checkpoints as
// `momentum.<param name>`; with momentum 0 (plain SGD) they are not state and are not written.
import { hostData, type Backend } from '../backend/backend.js';
import type { F32, Multipliers, Param } from '../nn/layer.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';

/** Which multipliers each parameter gets: 'caffe' — those its layer spec states (Param.mult);
 *  'none' — 1 for all. */
export type MultiplierRule = 'none' | 'caffe';

const UNIT: Multipliers = { lr: 1, decay: 1 };

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  multipliers?: MultiplierRule;
}

export const MOMENTUM_PREFIX = 'momentum.';

export class Sgd {
  /** The velocity of each parameter, a float32 tensor on the backend. */
  readonly velocity = new Map<string, F32>();
  private readonly mults: Multipliers[];
  /** The backend refreshes a bfloat16 weight copy in the update itself (sgdUpdate's w16). */
  private readonly refreshesShadows: boolean;

  constructor(
    readonly params: readonly Param[],
    readonly backend: Backend,
    readonly opts: SgdOptions,
  ) {
    for (const p of params) this.velocity.set(p.name, backend.alloc(p.shape, 'float32'));
    this.mults = params.map((p) => (opts.multipliers === 'caffe' ? p.mult : UNIT));
    this.refreshesShadows = backend.supports('sgdUpdate', ['float32', 'bfloat16']);
  }

  /** One update of every trainable parameter from its current gradient, at learning rate lr. */
  step(lr: number): void {
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (p.frozen) continue;
      const m = this.mults[i];
      // A bf16 net's weight copy: written by the update where the backend can (no recast pass
      // over the master before the next forward), else marked for the recast.
      const w16 = p.shadow && this.refreshesShadows ? p.shadow.value : null;
      this.backend.sgdUpdate(
        { w: p.value, g: p.grad, v: this.velocity.get(p.name)!, w16 },
        {
          lr: lr * m.lr,
          momentum: this.opts.momentum,
          weightDecay: this.opts.weightDecay * m.decay,
        },
      );
      if (p.shadow) p.shadow.stale = !w16;
    }
  }

  /**
   * The velocity buffers as tensors named `momentum.<param>` (for checkpoints). With momentum 0 a
   * step never reads the old velocity, so there is no state to keep and none is written. On the
   * host backends these are the buffers themselves; a device backend needs `readStateTensors`.
   */
  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (this.opts.momentum === 0) return out;
    for (const p of this.params)
      out.set(
        MOMENTUM_PREFIX + p.name,
        new Tensor(p.shape, hostData(this.backend, this.velocity.get(p.name)!)),
      );
    return out;
  }

  /** stateTensors() on any backend, after the queued work. */
  async readStateTensors(): Promise<Map<string, Tensor>> {
    const out = new Map<string, Tensor>();
    if (this.opts.momentum === 0) return out;
    for (const p of this.params)
      out.set(
        MOMENTUM_PREFIX + p.name,
        (await this.backend.download(this.velocity.get(p.name)!)).reshape(p.shape),
      );
    return out;
  }

  /** Restores the buffers written by stateTensors(); with momentum > 0 every one must be present. */
  loadStateTensors(tensors: Map<string, Tensor>, source: string): void {
    for (const p of this.params) {
      const t = tensors.get(MOMENTUM_PREFIX + p.name);
      if (!t && this.opts.momentum === 0) continue;
      if (!t)
        usage(
          `${source}: momentum buffer ${MOMENTUM_PREFIX + p.name} is missing (not a training checkpoint?)`,
        );
      if (t.size !== p.value.size)
        usage(
          `${source}: momentum buffer ${MOMENTUM_PREFIX + p.name} has ${t.size} values, the parameter ${p.value.size}`,
        );
      this.backend.upload(t, this.velocity.get(p.name)!);
    }
  }
}
