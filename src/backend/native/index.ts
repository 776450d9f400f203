// The native backend: every Backend kernel runs in the C++ addon (native/), sharing the
// Float32Arrays with JavaScript without copies. `nativeBackend` is null when the addon did not
// build or load; `nativeLoadError` then says why. ALEXNET_ISA=avx2|scalar forces a lower
// instruction set (the addon reads it when it loads).

import type { Backend } from '../backend.js';
import { loadBinding, type Isa, type NativeBinding } from './binding.js';

const loaded = loadBinding();

/** The raw addon (for tests and benchmarks), or null. */
export const nativeBinding: NativeBinding | null = 'binding' in loaded ? loaded.binding : null;
/** Why the addon is unavailable, or null when it loaded. */
export const nativeLoadError: string | null = 'error' in loaded ? loaded.error : null;

function makeBackend(b: NativeBinding): Backend {
  return {
    name: 'native',
    setThreads: (n) => b.setThreads(n),
    getThreads: () => b.getThreads(),
    conv2dForward: (x, w, bias, y, g, relu) => b.conv2dForward(x, w, bias, y, g, relu),
    conv2dBackward: (x, w, dy, dx, dw, db, g) => b.conv2dBackward(x, w, dy, dx, dw, db, g),
    linearForward: (x, w, bias, y, n, d, f, relu) => b.linearForward(x, w, bias, y, n, d, f, relu),
    linearBackward: (x, w, dy, dx, dw, db, n, d, f) =>
      b.linearBackward(x, w, dy, dx, dw, db, n, d, f),
    maxPoolForward: (x, y, argmax, g) => b.maxPoolForward(x, y, argmax, g),
    maxPoolBackward: (dy, argmax, dx, g) => b.maxPoolBackward(dy, argmax, dx, g),
    avgPoolForward: (x, y, g) => b.avgPoolForward(x, y, g),
    avgPoolBackward: (dy, dx, g) => b.avgPoolBackward(dy, dx, g),
    adaptiveAvgPoolForward: (x, y, n, c, h, w, ho, wo) =>
      b.adaptiveAvgPoolForward(x, y, n, c, h, w, ho, wo),
    adaptiveAvgPoolBackward: (dy, dx, n, c, h, w, ho, wo) =>
      b.adaptiveAvgPoolBackward(dy, dx, n, c, h, w, ho, wo),
    lrnForward: (x, y, scale, p) => b.lrnForward(x, y, scale, p),
    lrnBackward: (x, y, scale, dy, dx, p) => b.lrnBackward(x, y, scale, dy, dx, p),
    activationForward: (kind, x, y) => b.activationForward(kind, x, y),
    activationBackward: (kind, y, dy, dx) => b.activationBackward(kind, y, dy, dx),
    dropoutApply: (x, mask, scale, y) => b.dropoutApply(x, mask, scale, y),
    scale: (x, s, y) => b.scale(x, s, y),
    softmaxCrossEntropy: (logits, labels, n, l, smoothing, probs, dlogits) =>
      b.softmaxCrossEntropy(logits, labels, n, l, smoothing, probs, dlogits),
    sgdUpdate: (w, g, v, lr, momentum, weightDecay) =>
      b.sgdUpdate(w, g, v, lr, momentum, weightDecay),
  };
}

export const nativeBackend: Backend | null = nativeBinding ? makeBackend(nativeBinding) : null;

/** The instruction set the native kernels use now ('scalar' when the addon is missing). */
export function isaInUse(): Isa {
  return nativeBinding ? nativeBinding.isa() : 'scalar';
}

/** The machine's measured fp32 peak over the native pool's threads, GFLOP/s (NaN without the
 *  addon: there is nothing to measure with). */
export function peakGflops(seconds: number): number {
  return nativeBinding ? nativeBinding.peakGflops(seconds) : Number.NaN;
}
