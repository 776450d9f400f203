// The reference backend: readable TypeScript kernels, single-threaded. It is the oracle every
// fast backend is tested against, and the fallback when the native addon cannot load.

import type { Backend } from '../backend.js';
import { conv2dBackward, conv2dForward } from './conv.js';
import { activationBackward, activationForward, dropoutApply, scale } from './elementwise.js';
import { linearBackward, linearForward } from './linear.js';
import { softmaxCrossEntropy } from './loss.js';
import { lrnBackward, lrnForward } from './lrn.js';
import {
  adaptiveAvgPoolBackward,
  adaptiveAvgPoolForward,
  avgPoolBackward,
  avgPoolForward,
  maxPoolBackward,
  maxPoolForward,
} from './pool.js';
import { sgdUpdate } from './sgd.js';

export type { FloatArray } from './float.js';

let requestedThreads = 1;

export const refBackend: Backend = {
  name: 'ref',
  // The reference kernels are single-threaded; the request is only recorded (for diagnostics).
  setThreads(n: number): void {
    requestedThreads = n;
  },
  getThreads(): number {
    return 1;
  },

  conv2dForward,
  conv2dBackward,
  linearForward,
  linearBackward,
  maxPoolForward,
  maxPoolBackward,
  avgPoolForward,
  avgPoolBackward,
  adaptiveAvgPoolForward,
  adaptiveAvgPoolBackward,
  lrnForward,
  lrnBackward,
  activationForward,
  activationBackward,
  dropoutApply,
  scale,
  softmaxCrossEntropy,
  sgdUpdate,
};

/** The thread count last passed to refBackend.setThreads (the kernels ignore it). */
export function refRequestedThreads(): number {
  return requestedThreads;
}
