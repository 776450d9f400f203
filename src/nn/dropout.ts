// Dropout (paper §4.2, p = 0.5 in fc6 and fc7). Two exact conventions:
//   'classic'  — the paper: train with the 0/1 mask, multiply outputs by (1 − p) at test time;
//   'inverted' — train with mask/(1 − p), identity at test time (PyTorch's; the default).
// Masks come from the run's seeded generator, so a resumed run draws the same masks.
import { Tensor, type Shape } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import { Buffer32, type ForwardContext, type Layer } from './layer.js';

export type DropoutMode = 'classic' | 'inverted';

export interface DropoutSpec {
  kind: 'dropout';
  name: string;
  p: number;
}

export class Dropout implements Layer {
  readonly params = [];
  readonly kind = 'dropout';
  readonly name: string;
  private mask = new Uint8Array(0);
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(
    readonly spec: DropoutSpec,
    readonly mode: DropoutMode,
  ) {
    this.name = spec.name;
  }

  outputShape(input: Shape): Shape {
    return input;
  }

  macs(): number {
    return 0;
  }

  private trainScale(): number {
    return this.mode === 'inverted' ? 1 / (1 - this.spec.p) : 1;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const y = new Tensor(x.shape, this.out.get(x.size));
    if (!ctx.training) {
      ctx.backend.scale(x.data, this.mode === 'classic' ? 1 - this.spec.p : 1, y.data);
      return y;
    }
    if (this.mask.length !== x.size) this.mask = new Uint8Array(x.size);
    drawMask(this.mask, 1 - this.spec.p, ctx.rng);
    ctx.backend.dropoutApply(x.data, this.mask, this.trainScale(), y.data);
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!needInput) return null;
    const dx = new Tensor(dy.shape, this.dxBuf.get(dy.size));
    ctx.backend.dropoutApply(dy.data, this.mask, this.trainScale(), dx.data);
    return dx;
  }
}

/** mask[i] = 1 with probability `keep`. For the paper's p = 0.5 every random bit is one mask
 *  entry (32 per draw), which keeps mask drawing off the profile at 128×4096 units per layer. */
export function drawMask(mask: Uint8Array, keep: number, rng: Rng): void {
  if (keep === 0.5) {
    for (let i = 0; i < mask.length; i += 32) {
      let bits = rng.nextU32();
      const end = Math.min(mask.length, i + 32);
      for (let j = i; j < end; j++, bits >>>= 1) mask[j] = bits & 1;
    }
    return;
  }
  const threshold = keep * 4294967296;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < threshold ? 1 : 0;
}
