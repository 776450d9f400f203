// The typed surface of the C++ addon (native/addon.cc) and its loader. Every function the addon
// exports is declared here; argument errors and C++ failures arrive as thrown Errors.
// Letters as in ../backend.ts.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConvGeom, LrnParams, PoolGeom, Activation } from '../backend.js';

export type Isa = 'avx512' | 'avx2' | 'scalar';

export interface NativeBinding {
  setThreads(n: number): void; // 0 = hardware concurrency
  getThreads(): number;
  /** ISA of the kernels in use now, and the best this CPU supports. */
  isa(): Isa;
  bestIsa(): Isa;
  /** Force a lower ISA (throws if the CPU lacks the one asked for). */
  setIsa(isa: Isa): void;
  /** fp32 FMA throughput over the pool's threads in the ISA in use, GFLOP/s. */
  peakGflops(seconds: number): number;
  /** C[M, N] = op(A)·op(B) + beta·C, row-major, beta ∈ {0, 1}. */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;

  conv2dForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array,
    g: ConvGeom,
    relu: boolean,
  ): void;
  conv2dBackward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    g: ConvGeom,
  ): void;
  linearForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array,
    n: number,
    d: number,
    f: number,
    relu: boolean,
  ): void;
  linearBackward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    n: number,
    d: number,
    f: number,
  ): void;

  maxPoolForward(x: Float32Array, y: Float32Array, argmax: Int32Array | null, g: PoolGeom): void;
  maxPoolBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, g: PoolGeom): void;
  avgPoolForward(x: Float32Array, y: Float32Array, g: PoolGeom): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, g: PoolGeom): void;
  adaptiveAvgPoolForward(
    x: Float32Array,
    y: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    ho: number,
    wo: number,
  ): void;
  adaptiveAvgPoolBackward(
    dy: Float32Array,
    dx: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    ho: number,
    wo: number,
  ): void;

  lrnForward(x: Float32Array, y: Float32Array, scale: Float32Array | null, p: LrnParams): void;
  lrnBackward(
    x: Float32Array,
    y: Float32Array,
    scale: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    p: LrnParams,
  ): void;

  activationForward(kind: Activation, x: Float32Array, y: Float32Array): void;
  activationBackward(kind: Activation, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  dropoutApply(x: Float32Array, mask: Uint8Array, scale: number, y: Float32Array): void;
  scale(x: Float32Array, scale: number, y: Float32Array): void;

  softmaxCrossEntropy(
    logits: Float32Array,
    labels: Int32Array,
    n: number,
    l: number,
    smoothing: number,
    probs: Float32Array,
    dlogits: Float32Array | null,
  ): number;
  sgdUpdate(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
  ): void;
}

/** The package root: the nearest directory above this file holding package.json
 *  (this file runs from dist/src/backend/native/ after tsc). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package root (with package.json and binding.gyp) not found');
    dir = up;
  }
}

/** Loads build/Release/alexnet_native.node; never throws. */
export function loadBinding(): { binding: NativeBinding } | { error: string } {
  try {
    const path = join(packageRoot(), 'build', 'Release', 'alexnet_native.node');
    if (!existsSync(path)) return { error: `${path} not built (run \`npx node-gyp rebuild\`)` };
    const require = createRequire(import.meta.url);
    return { binding: require(path) as NativeBinding };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
