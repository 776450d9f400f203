// The WebGPU device layer, shared by Node (Dawn, through the `webgpu` package) and the browser:
// one GPUDevice opened with the limits the kernels need, storage buffers, a cache of compiled
// pipelines, and dispatches recorded into one command encoder that is submitted only when the
// host needs a result (a read) or writes a buffer — so a whole training step is a handful of
// submissions, not one per kernel.
//
// Storage bindings: a shader may see at most `maxStorageBufferBindingSize` bytes of a buffer at a
// time (128 MiB on lavapipe; fc6's weights at 9216 inputs are 151 MB). Buffers themselves may be
// larger (up to maxBufferSize), so a kernel that meets a larger tensor binds windows of it —
// `window()` below — and runs once per window; the kernels say how they split.

/** A view of `length` f32/i32/u32 elements of a GPU buffer (a tensor's storage). */
export interface GpuArray {
  readonly buffer: GPUBuffer;
  /** Elements (4 bytes each). */
  readonly length: number;
}

/** A bound window of a buffer: what the shader sees, and where element `start` sits in it. */
export interface Window {
  binding: GPUBufferBinding;
  /** Index, inside the bound range, of the first element asked for. */
  base: number;
}

/** Scalar uniform fields of a kernel, in declaration order (all 4 bytes: no padding needed). */
export type UniformFields = readonly (readonly [string, 'u32' | 'i32' | 'f32'])[];

/** Words of the fault record a kernel writes on bad input: [code, a, b, c] (code 0: none). */
const FAULT_WORDS = 4;

const UNIFORM_SLOT = 256; // bytes per dispatch's parameters (minUniformBufferOffsetAlignment)
const UNIFORM_SLOTS = 1024;

export interface DeviceOptions {
  /** Caps the bytes one storage binding may cover below the device's limit (tests use a small
   *  value to exercise the window splitting on small tensors). */
  bindingLimit?: number;
}

export class GpuDevice {
  /** Bytes one storage binding may cover (a multiple of the offset alignment). */
  readonly bindingLimit: number;
  readonly offsetAlign: number;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformData = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private slots = 0;
  private error: string | null = null;
  /** Where a kernel that finds bad input on the GPU (a label outside its range) records it,
   *  while the first word is still 0: [code, a, b, c]. The next read() throws the message
   *  defineFault gave for the code, and clears the record. */
  readonly faults: GpuArray;
  private readonly faultText = new Map<number, (a: number, b: number, c: number) => string>();

  private constructor(
    readonly device: GPUDevice,
    readonly adapterName: string,
    opts: DeviceOptions,
  ) {
    this.offsetAlign = device.limits.minStorageBufferOffsetAlignment;
    const limit = Math.min(
      device.limits.maxStorageBufferBindingSize,
      opts.bindingLimit ?? Infinity,
    );
    this.bindingLimit = Math.floor(limit / this.offsetAlign) * this.offsetAlign;
    this.uniformBuffer = device.createBuffer({
      size: this.uniformData.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.faults = this.array(FAULT_WORDS);
    device.addEventListener('uncapturederror', (e) => {
      this.error ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    void device.lost.then((info) => {
      this.error ??= `the WebGPU device was lost: ${info.message || info.reason}`;
    });
  }

  /** Opens the adapter's device, asking for the largest storage bindings and buffers it has. */
  static async open(gpu: GPU, opts: DeviceOptions = {}): Promise<GpuDevice> {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('no WebGPU adapter answered');
    const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize, maxBufferSize },
    });
    const info = adapter.info;
    const name = [info.vendor, info.architecture, info.device, info.description]
      .filter((s) => s)
      .join(' ');
    return new GpuDevice(device, name || 'unnamed adapter', opts);
  }

  /** A storage buffer of `length` 4-byte elements, zero-filled (WebGPU clears new buffers). */
  array(length: number): GpuArray {
    const size = Math.max(16, Math.ceil((length * 4) / 16) * 16);
    if (size > this.device.limits.maxBufferSize) {
      throw new Error(
        `a tensor of ${length} elements exceeds this adapter's maxBufferSize ` +
          `(${this.device.limits.maxBufferSize} bytes)`,
      );
    }
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    return { buffer, length };
  }

  private readonly scratchArrays = new Map<string, GpuArray>();

  /** A named work array of at least `length` elements, kept and grown across calls (its
   *  contents are not preserved). Kernels recorded in order may share one. */
  scratch(name: string, length: number): GpuArray {
    let a = this.scratchArrays.get(name);
    if (!a || a.length < length) {
      if (a) {
        // Work recorded but not yet submitted may use the old buffer, and a destroyed buffer
        // fails the submit that uses it; once submitted, WebGPU defers the release until then.
        this.flush();
        a.buffer.destroy();
      }
      a = this.array(length);
      this.scratchArrays.set(name, a);
    }
    return a;
  }

  /** Host → GPU, at element `start`. Pending dispatches are submitted first, so they still see
   *  the old contents (writeBuffer takes effect at its place in the queue). */
  write(dst: GpuArray, data: Float32Array | Int32Array | Uint32Array, start = 0): void {
    this.flush();
    if (start + data.length > dst.length) throw new Error('write past the end of a GPU array');
    this.device.queue.writeBuffer(
      dst.buffer,
      start * 4,
      data.buffer,
      data.byteOffset,
      data.byteLength,
    );
  }

  /** The message of fault `code` (a kernel's): a, b, c are the record's other words (i32). */
  defineFault(code: number, text: (a: number, b: number, c: number) => string): void {
    this.faultText.set(code, text);
  }

  /** GPU → host: `length` elements from element `start`. Throws the fault a kernel recorded
   *  before it, if any (the fault record comes down with the data). */
  async read(src: GpuArray, start = 0, length = src.length - start): Promise<ArrayBuffer> {
    const bytes = length * 4;
    const staging = this.device.createBuffer({
      size: bytes + FAULT_WORDS * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.ensureEncoder();
    this.endPass();
    if (bytes > 0) this.encoder!.copyBufferToBuffer(src.buffer, start * 4, staging, 0, bytes);
    this.encoder!.copyBufferToBuffer(this.faults.buffer, 0, staging, bytes, FAULT_WORDS * 4);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.check();
      throw e;
    }
    this.check();
    const mapped = staging.getMappedRange();
    const [code, a, b, c] = new Int32Array(mapped, bytes, FAULT_WORDS);
    const out = mapped.slice(0, bytes);
    staging.unmap();
    staging.destroy();
    if (code !== 0) {
      this.write(this.faults, new Int32Array(FAULT_WORDS));
      const text = this.faultText.get(code);
      throw new Error(text ? text(a, b, c) : `internal: a kernel recorded fault ${code}`);
    }
    return out;
  }

  /** Throws the first WebGPU validation or device-loss error seen, if any. */
  check(): void {
    if (this.error) throw new Error(`webgpu: ${this.error}`);
  }

  /** A bound window over elements [start, start + length) of `a`, its start aligned down to
   *  minStorageBufferOffsetAlignment; the kernel adds `base` to its indices. */
  window(a: GpuArray, start = 0, length = a.length - start): Window {
    const first = start * 4;
    const offset = Math.floor(first / this.offsetAlign) * this.offsetAlign;
    const size = Math.max(4, first + length * 4 - offset);
    if (size > this.bindingLimit) {
      throw new Error(
        `internal: a ${size}-byte binding exceeds the ${this.bindingLimit}-byte limit`,
      );
    }
    return { binding: { buffer: a.buffer, offset, size }, base: (first - offset) / 4 };
  }

  /** Elements one window may hold, leaving room for the alignment slack. */
  get windowElements(): number {
    return (this.bindingLimit - this.offsetAlign) / 4;
  }

  /** The compute pipeline for `code` (entry point `main`), compiled once per key. */
  pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: key,
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Records one dispatch: binding 0 is the kernel's uniform parameters (`values` packed per
   *  `fields`), bindings 1… the storage windows in order. */
  dispatch(
    pipeline: GPUComputePipeline,
    fields: UniformFields,
    values: Record<string, number>,
    storage: readonly GPUBufferBinding[],
    groups: readonly [number, number, number],
  ): void {
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    if (this.slots === UNIFORM_SLOTS) this.flush();
    const slot = this.slots++;
    const view = new DataView(this.uniformData, slot * UNIFORM_SLOT, UNIFORM_SLOT);
    fields.forEach(([name, type], i) => {
      const v = values[name];
      if (v === undefined) throw new Error(`internal: uniform '${name}' not given`);
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    const entries: GPUBindGroupEntry[] = [
      {
        binding: 0,
        resource: { buffer: this.uniformBuffer, offset: slot * UNIFORM_SLOT, size: UNIFORM_SLOT },
      },
      ...storage.map((resource, i) => ({ binding: i + 1, resource })),
    ];
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.ensureEncoder();
    this.pass ??= this.encoder!.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  }

  /** Submits everything recorded so far (with the parameters it reads). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.slots > 0) {
      this.device.queue.writeBuffer(
        this.uniformBuffer,
        0,
        this.uniformData,
        0,
        this.slots * UNIFORM_SLOT,
      );
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slots = 0;
  }

  /** Resolves when the GPU has finished all submitted work. */
  async idle(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  destroy(): void {
    this.flush();
    this.device.destroy();
  }

  private ensureEncoder(): void {
    this.encoder ??= this.device.createCommandEncoder();
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

/** WGSL for a uniform struct `P` with the given scalar fields, bound at group 0 binding 0. */
export function uniformStruct(fields: UniformFields): string {
  const body = fields.map(([n, t]) => `  ${n}: ${t},`).join('\n');
  return `struct P {\n${body}\n}\n@group(0) @binding(0) var<uniform> p: P;\n`;
}

/** Workgroup counts covering `count` invocations of `size` each, wrapped into 2-D when there are
 *  more than 65,535 groups (the per-dimension limit); shaders index with `linearIndex()`. */
export function grid(count: number, size = 256): [number, number, number] {
  const groups = Math.ceil(count / size);
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

/** WGSL helper matching grid(): the flat invocation index for workgroup_size(256). */
export const LINEAR_INDEX = `
fn linearIndex(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 {
  return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}
`;
