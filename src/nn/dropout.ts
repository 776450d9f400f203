// Dropout (paper §4.2, p = 0.5 in fc6 and fc7). Two exact conventions:
//   'classic'  — the paper: train with the 0/1 mask, multiply outputs by (1 − p) at test time;
//   'inverted' — train with mask/(1 − p), identity at test time (PyTorch's; the default).
// Masks come from the run's seeded generator, so a resumed run draws the same masks.
import { Tensor, type Shape } from '../tensor/tensor.js';
import type { TensorHandle } from '../backend/backend.js';
import type { Rng } from '../util/rng.js';
import { Slot, type F32, type ForwardContext, type Layer } from './layer.js';

export type DropoutMode = 'classic' | 'inverted';

export interface DropoutSpec {
  kind: 'dropout';
  name: string;
  p: number;
}

export class Dropout implements Layer {
  readonly params = [];
  readonly kernels = ['scale', 'dropoutApply'] as const;
  readonly kind = 'dropout';
  readonly name: string;
  /** Drawn on the host by the run's generator, then uploaded (on the host backends: shared). */
  private mask = Tensor.of('uint8', [0]);
  private maskOnBackend: TensorHandle<'uint8'> | null = null;
  private out = new Slot();
  private dxBuf = new Slot();

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

  forward(x: F32, ctx: ForwardContext): F32 {
    const y = this.out.get(ctx.backend, x.shape);
    if (!ctx.training) {
      ctx.backend.scale({ x, y }, { scale: this.mode === 'classic' ? 1 - this.spec.p : 1 });
      return y;
    }
    if (this.mask.size !== x.size) this.mask = Tensor.of('uint8', [x.size]);
    const w = ctx.window;
    if (w) {
      // One rank's rows of a larger batch: the masks of all its rows, then this share's.
      const row = x.size / x.shape[0];
      const all = new Uint8Array(w.total * row);
      drawMask(all, 1 - this.spec.p, ctx.rng);
      this.mask.data.set(all.subarray(w.first * row, w.first * row + x.size));
    } else {
      drawMask(this.mask.data, 1 - this.spec.p, ctx.rng);
    }
    const mask = (this.maskOnBackend = ctx.backend.upload(
      this.mask,
      this.maskOnBackend?.size === x.size ? this.maskOnBackend : undefined,
    ));
    ctx.backend.dropoutApply({ x, mask, y }, { scale: this.trainScale() });
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!needInput) return null;
    if (!this.maskOnBackend) throw new Error(`${this.name}: backward without a training forward`);
    const dx = this.dxBuf.get(ctx.backend, dy.shape);
    ctx.backend.dropoutApply(
      { x: dy, mask: this.maskOnBackend, y: dx },
      { scale: this.trainScale() },
    );
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
