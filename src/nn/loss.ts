// The training loss on a backend: softmax cross-entropy with label smoothing, its probabilities
// and its gradient w.r.t. the logits, in tensors reused while the batch size stays the same.
// `run` only enqueues; `read` is where the host waits for the loss and the probabilities.
import type { Backend, TensorHandle } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { Slot, type F32 } from './layer.js';

export class SoftmaxLoss {
  private readonly probsSlot = new Slot();
  private readonly dlogitsSlot = new Slot();
  private readonly lossSlot = new Slot();
  private readonly labelsSlot = new Slot('int32');
  private probs: F32 | null = null;
  private lossT: F32 | null = null;
  /** dlogits of the last `run` with `withGrad` ([N, L]): what Net.backward takes. */
  dlogits: F32 | null = null;

  constructor(readonly backend: Backend) {}

  /** Enqueues loss, probabilities and (withGrad) dlogits of logits [N, L] against labels [N]. */
  run(logits: F32, labels: Int32Array, smoothing: number, withGrad: boolean): void {
    const b = this.backend;
    const [n, l] = logits.shape;
    const host = Tensor.of('int32', [n], labels);
    const onBackend: TensorHandle<'int32'> = b.hostMemory
      ? host
      : b.upload(host, this.labelsSlot.get(b, [n]));
    this.probs = this.probsSlot.get(b, [n, l]);
    this.lossT = this.lossSlot.get(b, [1]);
    this.dlogits = withGrad ? this.dlogitsSlot.get(b, [n, l]) : null;
    b.softmaxCrossEntropy(
      { logits, labels: onBackend, probs: this.probs, dlogits: this.dlogits, loss: this.lossT },
      { n, l, smoothing },
    );
  }

  /** The mean loss and the probabilities [N·L] of the last run (host arrays; on the host
   *  backends the loss's own, overwritten by the next run). */
  async read(): Promise<{ loss: number; probs: Float32Array }> {
    if (!this.probs || !this.lossT) throw new Error('SoftmaxLoss.read before run');
    this.backend.flush();
    const [loss, probs] = await Promise.all([
      this.backend.download(this.lossT),
      this.backend.download(this.probs),
    ]);
    return { loss: loss.data[0], probs: probs.data };
  }
}
