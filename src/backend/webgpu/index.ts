// The webgpu backend: every kernel of the table (kernels.ts) as WGSL on a GPUDevice — Dawn in
// Node (node-gpu.ts), the browser's own WebGPU in a page (demo/). Tensors live in GPU buffers for
// their whole life; kernels are recorded into one command encoder and submitted when the host
// reads something (`download`) or writes something (`upload`), so a training step sends up the
// batch (and the dropout masks drawn on the host) and brings down the loss and the probabilities.
//
// Storage: float32 and int32 one element per 4-byte word; uint8 (dropout masks) four to a word,
// little-endian, exactly the host bytes; bfloat16 two to a word (only `cast` takes it here: the
// table's other bf16 paths fall back). Every call is checked against its declaration before anything
// is recorded, as on the host backends.
import type { Backend, TensorHandle } from '../backend.js';
import { checkCall, type AttrSchema, type Checkable, type KernelDecl } from '../declare.js';
import { KERNELS, KERNEL_NAMES, type AttrsOf, type KernelName } from '../kernels.js';
import { Tensor, sizeOf, type DType, type HostArray, type Shape } from '../../tensor/tensor.js';
import { cast, type Float } from './cast.js';
import { conv2dBackward, conv2dForward } from './conv.js';
import type { GpuArray, GpuDevice } from './device.js';
import { activationOp, elementwise } from './elementwise.js';
import { linearBackward, linearForward } from './linear.js';
import { softmaxCrossEntropy } from './loss.js';
import { lrnBackward, lrnForward } from './lrn.js';
import { adaptiveShape, poolBackward, poolForward, poolShape } from './pool.js';

const PER_WORD: Record<DType, number> = { float32: 1, int32: 1, bfloat16: 2, uint8: 4 };

/** A tensor of the webgpu backend: a shape over (part of) a GPU buffer. */
export class GpuTensor<D extends DType = DType> implements TensorHandle<D> {
  readonly size: number;
  constructor(
    readonly shape: Shape,
    readonly dtype: D,
    readonly array: GpuArray,
    readonly backend: WebgpuBackend,
  ) {
    this.size = sizeOf(shape);
  }
}

type G = GpuTensor;
type Impl<K extends KernelName> = (t: Record<string, G | null>, a: AttrsOf<K>) => void;

export class WebgpuBackend {
  readonly name = 'webgpu';
  readonly hostMemory = false;

  constructor(readonly dev: GpuDevice) {
    const self = this as unknown as Record<string, unknown>;
    for (const k of KERNEL_NAMES) {
      const decl = KERNELS[k] as unknown as KernelDecl<AttrSchema, never>;
      const impl = this.kernels[k] as (t: Record<string, G | null>, a: unknown) => void;
      self[k] = (t: Record<string, Checkable | null>, a: Record<string, unknown>): void => {
        checkCall(k, decl, t, a);
        for (const name in t) if (t[name]) this.own(k, name, t[name] as unknown as TensorHandle);
        impl(t as Record<string, G | null>, a);
      };
    }
  }

  /** The GPU runs one command stream; there are no threads to set. */
  setThreads(): void {}
  getThreads(): number {
    return 1;
  }

  supports(kernel: KernelName, dtypes: readonly DType[] = ['float32']): boolean {
    if (kernel === 'cast') return dtypes.every((d) => d === 'float32' || d === 'bfloat16');
    return kernel in KERNELS && dtypes.every((d) => d === 'float32');
  }

  alloc<D extends DType>(shape: Shape, dtype: D): TensorHandle<D> {
    const words = Math.ceil(sizeOf(shape) / PER_WORD[dtype]);
    return new GpuTensor(shape, dtype, this.dev.array(words), this);
  }

  upload<D extends DType>(host: Tensor<D>, into?: TensorHandle<D>): TensorHandle<D> {
    const t = this.own('upload', 'into', into ?? this.alloc(host.shape, host.dtype));
    if (t.dtype !== host.dtype || t.size !== host.size)
      throw new TypeError(
        `upload: a ${host.dtype} tensor of ${host.size} elements into a ${t.dtype} one of ${t.size}`,
      );
    this.dev.write(t.array, asWords(host.data));
    return t as unknown as TensorHandle<D>;
  }

  async download<D extends DType>(handle: TensorHandle<D>): Promise<Tensor<D>> {
    const t = this.own('download', 'tensor', handle);
    const bytes = await this.dev.read(t.array);
    const n = t.size;
    const data = {
      float32: () => new Float32Array(bytes, 0, n),
      int32: () => new Int32Array(bytes, 0, n),
      bfloat16: () => new Uint16Array(bytes, 0, n),
      uint8: () => new Uint8Array(bytes, 0, n),
    }[t.dtype]();
    return Tensor.of(t.dtype, t.shape, data as HostArray<D>) as Tensor<D>;
  }

  view<D extends DType>(handle: TensorHandle<D>, shape: Shape): TensorHandle<D> {
    const t = this.own('view', 'tensor', handle);
    if (sizeOf(shape) !== t.size)
      throw new TypeError(`view: [${shape.join(', ')}] does not hold ${t.size} elements`);
    return new GpuTensor(shape, t.dtype, t.array, this) as unknown as TensorHandle<D>;
  }

  flush(): void {
    this.dev.flush();
  }

  private own(kernel: string, arg: string, t: TensorHandle): G {
    if (!(t instanceof GpuTensor) || t.backend !== this)
      throw new TypeError(`${kernel}: ${arg} belongs to another backend`);
    return t;
  }

  /** The kernel bodies: the tensors' GPU arrays to the WGSL kernels of this folder. */
  private readonly kernels: { [K in KernelName]: Impl<K> } = {
    conv2dForward: (t, a) =>
      conv2dForward(this.dev, t.x!.array, t.w!.array, t.b?.array ?? null, t.y!.array, a, a.relu),
    conv2dBackward: (t, a) =>
      conv2dBackward(
        ...([this.dev, t.x!.array, t.w!.array, t.dy!.array] as const),
        ...([t.dx?.array ?? null, t.dw?.array ?? null, t.db?.array ?? null, a] as const),
      ),
    linearForward: (t, a) =>
      linearForward(
        ...([this.dev, t.x!.array, t.w!.array, t.b?.array ?? null, t.y!.array] as const),
        ...([a.n, a.d, a.f, a.relu] as const),
      ),
    linearBackward: (t, a) =>
      linearBackward(
        ...([this.dev, t.x!.array, t.w!.array, t.dy!.array] as const),
        ...([t.dx?.array ?? null, t.dw?.array ?? null, t.db?.array ?? null] as const),
        ...([a.n, a.d, a.f] as const),
      ),
    maxPoolForward: (t, a) =>
      poolForward(this.dev, 'max', t.x!.array, t.y!.array, t.argmax?.array ?? null, poolShape(a)),
    maxPoolBackward: (t, a) =>
      poolBackward(this.dev, 'max', t.dy!.array, t.dx!.array, t.argmax!.array, poolShape(a)),
    avgPoolForward: (t, a) =>
      poolForward(this.dev, 'avg', t.x!.array, t.y!.array, null, poolShape(a)),
    avgPoolBackward: (t, a) =>
      poolBackward(this.dev, 'avg', t.dy!.array, t.dx!.array, null, poolShape(a)),
    adaptiveAvgPoolForward: (t, a) =>
      poolForward(this.dev, 'adaptive', t.x!.array, t.y!.array, null, adaptiveOf(a)),
    adaptiveAvgPoolBackward: (t, a) =>
      poolBackward(this.dev, 'adaptive', t.dy!.array, t.dx!.array, null, adaptiveOf(a)),
    lrnForward: (t, a) => lrnForward(this.dev, t.x!.array, t.y!.array, t.scale?.array ?? null, a),
    lrnBackward: (t, a) =>
      lrnBackward(
        ...([this.dev, t.x!.array, t.y!.array, t.scale!.array, t.dy!.array, t.dx!.array] as const),
        a,
      ),
    activationForward: (t, a) =>
      elementwise(this.dev, activationOp(a.kind, false), [t.x!.array, t.y!.array], t.x!.size),
    activationBackward: (t, a) =>
      elementwise(
        ...([this.dev, activationOp(a.kind, true)] as const),
        [t.y!.array, t.dy!.array, t.dx!.array],
        t.y!.size,
      ),
    dropoutApply: (t, a) =>
      elementwise(this.dev, 'dropout', [t.x!.array, t.mask!.array, t.y!.array], t.x!.size, {
        a: a.scale,
      }),
    scale: (t, a) =>
      elementwise(this.dev, 'scale', [t.x!.array, t.y!.array], t.x!.size, { a: a.scale }),
    softmaxCrossEntropy: (t, a) =>
      softmaxCrossEntropy(
        ...([this.dev, t.logits!.array, t.labels!.array, a.n, a.l, a.smoothing] as const),
        ...([t.probs!.array, t.dlogits?.array ?? null, t.loss!.array] as const),
      ),
    cast: (t) =>
      cast(this.dev, t.x!.array, t.x!.dtype as Float, t.y!.array, t.y!.dtype as Float, t.x!.size),
    sgdUpdate: (t, a) =>
      elementwise(this.dev, 'sgd', [t.g!.array, t.v!.array, t.w!.array], t.w!.size, {
        ...{ a: a.lr, b: a.momentum, c: a.weightDecay * a.lr },
      }),
  };
}

function adaptiveOf(a: AttrsOf<'adaptiveAvgPoolForward'>) {
  return adaptiveShape(a.n, a.c, a.h, a.w, a.ho, a.wo);
}

/** A host array as whole 4-byte words (uint8 and bfloat16 padded with zeros to a word). */
function asWords(data: HostArray): Uint32Array {
  if (data.byteLength % 4 === 0 && data.byteOffset % 4 === 0)
    return new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return new Uint32Array(padded.buffer);
}

/** The backend on an open device (Node: openNodeDevice(); a page: GpuDevice.open(navigator.gpu)). */
export function webgpuBackend(dev: GpuDevice): Backend {
  return new WebgpuBackend(dev) as unknown as Backend;
}
