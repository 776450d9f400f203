// The reference backend: readable TypeScript kernels, single-threaded, on host tensors. It is the
// oracle every fast backend is tested against, the fallback when the native addon cannot load,
// and where another backend's missing kernels run (fallback.ts). The kernel bodies take plain
// arrays (the gradient checks run them on Float64Array); each file binds its own to the table.

import type { Backend } from '../backend.js';
import { hostBackend, type HostKernels } from '../host.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { linearKernels } from './linear.js';
import { lossKernels } from './loss.js';
import { lrnKernels } from './lrn.js';
import { poolKernels } from './pool.js';
import { sgdKernels } from './sgd.js';

export type { FloatArray } from './float.js';

let requestedThreads = 1;

/** Every kernel of the table, in TypeScript (a kernel missing here does not compile). */
export const refKernels: Required<HostKernels> = {
  ...convKernels,
  ...linearKernels,
  ...poolKernels,
  ...lrnKernels,
  ...elementwiseKernels,
  ...lossKernels,
  ...sgdKernels,
};

export const refBackend: Backend = hostBackend({
  name: 'ref',
  kernels: refKernels,
  // The reference kernels are single-threaded; the request is only recorded (for diagnostics).
  setThreads(n: number): void {
    requestedThreads = n;
  },
  getThreads(): number {
    return 1;
  },
});

/** The thread count last passed to refBackend.setThreads (the kernels ignore it). */
export function refRequestedThreads(): number {
  return requestedThreads;
}
