// Convolution layer (stride, padding, groups). With groups = 2 it is the paper's two towers on one
// device: each half of the output channels sees only its half of the input channels (conv2, conv4,
// conv5 in the paper). A ReLU that directly follows is fused into the kernel (`fuseRelu`).
import { convOutputSize, type Backend, type ConvGeom } from '../backend/backend.js';
import type { Shape } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import {
  DEFAULT_MULT,
  gemmWeight,
  makeParam,
  setShadow,
  Slot,
  type F32,
  type ForwardContext,
  type Layer,
  type LearnableSpec,
  type Param,
} from './layer.js';
import type { Precision } from './precision.js';

export interface ConvSpec extends LearnableSpec {
  kind: 'conv';
  name: string;
  out: number;
  k: number;
  stride: number;
  pad: number;
  groups: number;
}

export class Conv2d implements Layer {
  readonly kind = 'conv';
  readonly kernels = ['conv2dForward', 'conv2dBackward', 'activationBackward'] as const;
  readonly name: string;
  readonly params: Param[];
  readonly weight: Param; // [Co, Ci/G, K, K]
  readonly bias: Param; // [Co]
  /** Set by the Net when the next layer is a ReLU: forward applies it, backward undoes through it. */
  fuseRelu = false;
  private x: F32 | null = null;
  private y: F32 | null = null;
  private out = new Slot();
  private dxBuf = new Slot();

  constructor(
    readonly spec: ConvSpec,
    readonly cIn: number,
    backend: Backend,
  ) {
    if (cIn % spec.groups !== 0 || spec.out % spec.groups !== 0) {
      usage(
        `${spec.name}: ${cIn} input and ${spec.out} output channels are not divisible by groups=${spec.groups}`,
      );
    }
    this.name = spec.name;
    const w = [spec.out, cIn / spec.groups, spec.k, spec.k];
    const mult = { ...DEFAULT_MULT, ...spec.mult };
    this.weight = makeParam(backend, `${spec.name}.weight`, w, mult.weight);
    this.bias = makeParam(backend, `${spec.name}.bias`, [spec.out], mult.bias);
    this.params = [this.weight, this.bias];
  }

  /** bf16: the kernels take a bfloat16 copy of the weight (the bias stays float32). */
  setPrecision(p: Precision, backend: Backend): void {
    setShadow(this.weight, backend, p === 'bf16');
  }

  outputShape([c, h, w]: Shape): Shape {
    const { k, stride, pad, out, name } = this.spec;
    const ho = convOutputSize(h, k, stride, pad);
    const wo = convOutputSize(w, k, stride, pad);
    if (c !== this.cIn) usage(`${name}: expects ${this.cIn} input channels, got ${c}`);
    if (ho < 1 || wo < 1)
      usage(
        `${name}: the ${h}×${w} map vanishes under a ${k}×${k} kernel (stride ${stride}, pad ${pad}); use a larger input size`,
      );
    return [out, ho, wo];
  }

  macs(input: Shape): number {
    const [co, ho, wo] = this.outputShape(input);
    return co * ho * wo * (this.cIn / this.spec.groups) * this.spec.k * this.spec.k;
  }

  private geom(x: F32): ConvGeom {
    const [n, c, h, w] = x.shape;
    const [co, ho, wo] = this.outputShape([c, h, w]);
    const { k, stride, pad, groups } = this.spec;
    return { n, cIn: c, h, w, cOut: co, kh: k, kw: k, stride, pad, groups, ho, wo };
  }

  forward(x: F32, ctx: ForwardContext): F32 {
    const g = this.geom(x);
    const y = this.out.get(ctx.backend, [g.n, g.cOut, g.ho, g.wo]);
    // Object.assign, not { ...g, relu }: V8 (Node 20) builds a spread-plus-property object in
    // the runtime, ~2 µs a call.
    ctx.backend.conv2dForward(
      { x, w: gemmWeight(this.weight, ctx.backend), b: this.bias.value, y },
      Object.assign(g, { relu: this.fuseRelu }),
    );
    if (ctx.training) {
      this.x = x;
      this.y = y;
    }
    return y;
  }

  backward(dy: F32, ctx: ForwardContext, needInput: boolean): F32 | null {
    if (!this.x || !this.y) throw new Error(`${this.name}: backward without a training forward`);
    const g = this.geom(this.x);
    if (this.fuseRelu) ctx.backend.activationBackward({ y: this.y, dy, dx: dy }, { kind: 'relu' });
    const dx = needInput ? this.dxBuf.get(ctx.backend, this.x.shape) : null;
    ctx.backend.conv2dBackward(
      {
        x: this.x,
        w: gemmWeight(this.weight, ctx.backend),
        dy,
        dx,
        dw: this.weight.frozen ? null : this.weight.grad,
        db: this.bias.frozen ? null : this.bias.grad,
      },
      g,
    );
    return dx;
  }
}
