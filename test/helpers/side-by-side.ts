// The parallel schemes' equality tests: SGD steps of a network on this thread and of its twin on
// a scheme's workers, batch by batch, so that each test only says what must agree and how closely.
import { hostData, type Backend } from '../../src/backend/backend.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import type { Net } from '../../src/nn/net.js';
import { Sgd, type SgdOptions } from '../../src/optim/sgd.js';
import type { StepWorkers } from '../../src/parallel/step-workers.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface Batch {
  x: Tensor;
  labels: Int32Array;
}

/** One SGD step (lr 0.01) per batch on `single` and on `workers`, comparing each step's logits
 *  with `checkLogits` (this thread's, the workers', the step); returns this thread's optimiser. */
export async function stepSideBySide(
  single: Net,
  workers: StepWorkers,
  backend: Backend,
  sgdOptions: SgdOptions,
  batches: Batch[],
  checkLogits: (single: Float32Array, workers: Float32Array, step: number) => void,
): Promise<Sgd> {
  const sgd = new Sgd(single.params, backend, sgdOptions);
  const loss1 = new SoftmaxLoss(backend);
  const loss2 = new SoftmaxLoss(backend);
  for (const [step, { x, labels }] of batches.entries()) {
    const l1 = single.forward(x, true);
    const l2 = await workers.forward(x, true);
    checkLogits(hostData(backend, l1), l2.data, step);
    loss1.run(l1, labels, 0, true);
    loss2.run(l2, labels, 0, true);
    await loss1.read();
    await loss2.read();
    single.backward(loss1.dlogits!);
    await workers.backward(loss2.dlogits!, backend);
    sgd.step(0.01);
    await workers.step(0.01);
  }
  return sgd;
}
