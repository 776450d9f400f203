// Pooling layers: max (the paper's overlapping 3×3 windows at stride 2, §3.4), average, and
// adaptive average (torchvision's AdaptiveAvgPool2d((6, 6)), which lets it take other input sizes).
import { convOutputSize, type PoolGeom } from '../backend/backend.js';
import type { KernelName } from '../backend/kernels.js';
import type { Shape } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { Slot, type F32, type ForwardContext, type Layer } from './layer.js';

export interface PoolSpec {
  kind: 'maxpool' | 'avgpool';
  name: string;
  k: number;
  stride: number;
  pad?: number;
}

export interface AdaptivePoolSpec {
  kind: 'adaptiveavgpool';
  name: string;
  size: number;
}

export class Pool2d implements Layer {
  readonly params = [];
  readonly kernels: readonly KernelName[];
  readonly kind: 'maxpool' | 'avgpool';
  readonly name: string;
  private x: F32 | null = null;
  private argmax = new Slot('int32');
  private out = new Slot();
  private dxBuf = new Slot();

  constructor(readonly spec: PoolSpec) {
    this.kind = spec.kind;
    this.name = spec.name;
    this.kernels =
      spec.kind === 'maxpool'
        ? ['maxPoolForward', 'maxPoolBackward']
        : ['avgPoolForward', 'avgPoolBackward'];
  }

  outputShape([c, h, w]: Shape): Shape {
    const { k, stride, name } = this.spec;
    const pad = this.spec.pad ?? 0;
    const ho = convOutputSize(h, k, stride, pad);
    const wo = convOutputSize(w, k, stride, pad);
    if (ho < 1 || wo < 1)
      usage(`${name}: the ${h}×${w} map vanishes under ${k}×${k} pooling; use a larger input size`);
    return [c, ho, wo];
  }

  macs(): number {
    return 0;
  }

  private geom(x: F32): PoolGeom {
    const [n, c, h, w] = x.shape;
    const [, ho, wo] = this.outputShape([c, h, w]);
    return {
      n,
      c,
      h,
      w,
      k: this.spec.k,
      stride: this.spec.stride,
      pad: this.spec.pad ?? 0,
      ho,
      wo,
    };
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    const g = this.geom(x);
    const y = this.out.get(ctx.backend, [g.n, g.c, g.ho, g.wo]);
    if (this.kind === 'maxpool') {
      const argmax = ctx.training ? this.argmax.get(ctx.backend, y.shape) : null;
      ctx.backend.maxPoolForward({ x, y, argmax }, g);
    } else {
      ctx.backend.avgPoolForward({ x, y }, g);
    }
    if (ctx.training) this.x = x;
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.x) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const g = this.geom(this.x);
    const dx = this.dxBuf.get(ctx.backend, this.x.shape);
    if (this.kind === 'maxpool')
      ctx.backend.maxPoolBackward({ dy, argmax: this.argmax.get(ctx.backend, dy.shape), dx }, g);
    else ctx.backend.avgPoolBackward({ dy, dx }, g);
    return dx;
  }
}

export class AdaptiveAvgPool2d implements Layer {
  readonly params = [];
  readonly kernels = ['adaptiveAvgPoolForward', 'adaptiveAvgPoolBackward'] as const;
  readonly kind = 'adaptiveavgpool';
  readonly name: string;
  private x: F32 | null = null;
  private out = new Slot();
  private dxBuf = new Slot();

  constructor(readonly spec: AdaptivePoolSpec) {
    this.name = spec.name;
  }

  outputShape([c]: Shape): Shape {
    return [c, this.spec.size, this.spec.size];
  }

  macs(): number {
    return 0;
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    const [n, c, h, w] = x.shape;
    const s = this.spec.size;
    const y = this.out.get(ctx.backend, [n, c, s, s]);
    ctx.backend.adaptiveAvgPoolForward({ x, y }, { n, c, h, w, ho: s, wo: s });
    if (ctx.training) this.x = x;
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.x) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const [n, c, h, w] = this.x.shape;
    const s = this.spec.size;
    const dx = this.dxBuf.get(ctx.backend, this.x.shape);
    ctx.backend.adaptiveAvgPoolBackward({ dy, dx }, { n, c, h, w, ho: s, wo: s });
    return dx;
  }
}
