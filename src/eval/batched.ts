// Inference over many samples, a batch at a time: the network's buffers are sized by the batch,
// so memory stays bounded however many samples there are. Outputs are downloaded from the backend
// per batch (awaited, so a device backend works too) and copied out, since layers reuse theirs.
// Letters: N samples, B batch.
import type { Net } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';

/** Runs `f` over slices of at most `batch` samples of x: [N, …] and concatenates the results. */
export async function runBatched(
  x: Tensor,
  batch: number,
  f: (b: Tensor) => Promise<Tensor>,
): Promise<Tensor> {
  const n = x.shape[0];
  const per = x.size / Math.max(n, 1);
  let out: Tensor | null = null;
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const y = await f(
      new Tensor([m, ...x.shape.slice(1)], x.data.subarray(s * per, (s + m) * per)),
    );
    const yPer = y.size / m;
    out ??= new Tensor([n, ...y.shape.slice(1)]);
    out.data.set(y.data, s * yPer);
  }
  if (out) return out;
  // No samples: the per-sample output shape from one zero sample, then [0, ...that].
  const probe = await f(new Tensor([1, ...x.shape.slice(1)]));
  return new Tensor([0, ...probe.shape.slice(1)]);
}

/** x: [N, C, H, W] → the logits [N, L], or the named layer's output, in eval mode. */
export function inferBatched(net: Net, x: Tensor, batch: number, layer?: string): Promise<Tensor> {
  return runBatched(x, batch, (b) =>
    net.backend.download(layer ? net.forwardTo(b, layer) : net.forward(b, false)),
  );
}
