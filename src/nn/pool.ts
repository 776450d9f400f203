// Pooling layers: max (the paper's overlapping 3×3 windows at stride 2, §3.4), average, and
// adaptive average (torchvision's AdaptiveAvgPool2d((6, 6)), which lets it take other input sizes).
import { convOutputSize, type PoolGeom } from '../backend/backend.js';
import { Tensor, type Shape } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { Buffer32, type ForwardContext, type Layer } from './layer.js';

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
  readonly kind: 'maxpool' | 'avgpool';
  readonly name: string;
  private x: Tensor | null = null;
  private argmax: Int32Array | null = null;
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(readonly spec: PoolSpec) {
    this.kind = spec.kind;
    this.name = spec.name;
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

  private geom(x: Tensor): PoolGeom {
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

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const g = this.geom(x);
    const size = g.n * g.c * g.ho * g.wo;
    const y = new Tensor([g.n, g.c, g.ho, g.wo], this.out.get(size));
    if (this.kind === 'maxpool') {
      if (ctx.training && this.argmax?.length !== size) this.argmax = new Int32Array(size);
      ctx.backend.maxPoolForward(x.data, y.data, ctx.training ? this.argmax : null, g);
    } else {
      ctx.backend.avgPoolForward(x.data, y.data, g);
    }
    if (ctx.training) this.x = x;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!this.x) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const g = this.geom(this.x);
    const dx = new Tensor(this.x.shape, this.dxBuf.get(this.x.size));
    if (this.kind === 'maxpool') ctx.backend.maxPoolBackward(dy.data, this.argmax!, dx.data, g);
    else ctx.backend.avgPoolBackward(dy.data, dx.data, g);
    return dx;
  }
}

export class AdaptiveAvgPool2d implements Layer {
  readonly params = [];
  readonly kind = 'adaptiveavgpool';
  readonly name: string;
  private x: Tensor | null = null;
  private out = new Buffer32();
  private dxBuf = new Buffer32();

  constructor(readonly spec: AdaptivePoolSpec) {
    this.name = spec.name;
  }

  outputShape([c]: Shape): Shape {
    return [c, this.spec.size, this.spec.size];
  }

  macs(): number {
    return 0;
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const [n, c, h, w] = x.shape;
    const s = this.spec.size;
    const y = new Tensor([n, c, s, s], this.out.get(n * c * s * s));
    ctx.backend.adaptiveAvgPoolForward(x.data, y.data, n, c, h, w, s, s);
    if (ctx.training) this.x = x;
    return y;
  }

  backward(dy: Tensor, ctx: ForwardContext, needInput: boolean): Tensor | null {
    if (!this.x) throw new Error(`${this.name}: backward without a training forward`);
    if (!needInput) return null;
    const [n, c, h, w] = this.x.shape;
    const dx = new Tensor(this.x.shape, this.dxBuf.get(this.x.size));
    ctx.backend.adaptiveAvgPoolBackward(
      dy.data,
      dx.data,
      n,
      c,
      h,
      w,
      this.spec.size,
      this.spec.size,
    );
    return dx;
  }
}
