// What the trainer, `alexnet eval` and `alexnet bench` drive when a network's steps run on worker
// threads that each hold part of it: the paper's two towers (towers.ts) and "one weird trick"'s
// hybrid (hybrid.ts). The main thread keeps the whole network for validation and saves: `push`
// splits its parameters (and momentum, and the dropout generator) onto the workers, `pull`
// gathers them back into the standard layout, so a checkpoint stays an ordinary model file.
import type { Backend } from '../backend/backend.js';
import type { F32 } from '../nn/layer.js';
import type { Sgd } from '../optim/sgd.js';
import type { Tensor } from '../tensor/tensor.js';

export interface StepWorkers {
  /** The logits [m, classes] of x [m, C, H, W] (training keeps what backward needs); the tensor
   *  is reused by the next call. */
  forward(x: Tensor, training: boolean): Promise<Tensor>;
  /** dlogits [m, classes] of the last training forward: every worker's parameter gradients. */
  backward(dlogits: F32, backend: Backend): Promise<void>;
  /** Each worker's SGD step on the parameters it holds. */
  step(lr: number): Promise<void>;
  /** The workers' parts into the main thread's network (and `sgd`'s momentum). */
  pull(sgd?: Sgd): Promise<void>;
  /** The main thread's network (and `sgd`'s momentum, and the dropout state) onto the workers. */
  push(sgd?: Sgd): Promise<void>;
  /** Bytes the workers read from each other since the last forward began (its backward too),
   *  as they counted them; the batch and the logits the main thread hands over are not counted. */
  readonly bytes: number;
  /** How many workers. */
  readonly count: number;
  close(): Promise<void>;
}
