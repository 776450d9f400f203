// Starts the workers of a scheme whose steps run on workers that each hold part of the network
// (step-workers.ts), for the trainer, `alexnet eval` and `alexnet bench`.
//
// The workers run on the backend asked for: a CPU one (native or ref; `threads` kernel threads
// each), or webgpu (one WebGPU device each; the kernel threads mean nothing there). The main
// thread's whole network stays on a CPU backend either way (mainThreadBackend): it only splits
// and gathers the parameters, computes the loss and validates.
import type { Backend } from '../backend/backend.js';
import { selectBackend, type BackendId } from '../backend/index.js';
import type { Net } from '../nn/net.js';
import type { SgdOptions } from '../optim/sgd.js';
import type { StepWorkers } from './step-workers.js';
import { Hybrid } from './hybrid.js';
import { Towers } from './towers.js';

export type StepScheme = 'towers' | 'hybrid';

export interface StepWorkersOptions {
  backend?: BackendId;
  /** Kernel threads of each worker (default 1). */
  threads?: number;
  /** Workers, where the scheme takes a number (hybrid; towers are two). */
  workers?: number;
  /** The largest batch a step will pass. */
  maxBatch: number;
  /** The workers' SGD (default: none — evaluation). */
  sgd?: SgdOptions;
}

export function startStepWorkers(
  scheme: StepScheme,
  net: Net,
  o: StepWorkersOptions,
): Promise<StepWorkers> {
  const sgd = o.sgd ?? { momentum: 0, weightDecay: 0 };
  const common = { backend: o.backend, threads: o.threads, maxBatch: o.maxBatch, sgd };
  return scheme === 'towers'
    ? Towers.start(net, common)
    : Hybrid.start(net, { ...common, workers: o.workers });
}

/** The backend of the main thread's whole network when the workers run on `workers`: `workers`
 *  itself when it keeps its tensors on the host, else the CPU backend (native when it loads,
 *  else ref). */
export function mainThreadBackend(workers: Backend): Backend {
  return workers.hostMemory ? workers : selectBackend(undefined);
}
