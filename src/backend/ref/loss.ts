// Reference softmax cross-entropy, mean over the batch, with optional label smoothing.
//
// Target for a sample with label t: q_l = (1 − ε)·[l = t] + ε/L — PyTorch's
// F.cross_entropy(label_smoothing=ε), where the ε/L also lands on the true class.
// Loss = −(1/N) Σ_n Σ_l q_l · log p_l, and ∂Loss/∂logits = (p − q)/N.
//
// Letters: N batch, L classes.

import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';

/** logits, probs: [N, L]   labels: [N] (0 ≤ label < L)   dlogits: [N, L] | null
 *  Writes probs = softmax(logits) and, if given, dlogits; returns the mean loss. */
export function softmaxCrossEntropy(
  logits: FloatArray,
  labels: Int32Array,
  n: number,
  l: number,
  smoothing: number,
  probs: FloatArray,
  dlogits: FloatArray | null,
): number {
  const offTarget = smoothing / l;
  let total = 0;
  for (let ni = 0; ni < n; ni++) {
    const row = ni * l;
    const label = labels[ni];
    if (!(label >= 0 && label < l))
      throw new Error(`label ${label} of sample ${ni} is outside [0, ${l})`);

    // Subtract the row maximum before exp so large logits cannot overflow; log p_l is then
    // (z_l − max) − log Σ exp(z − max), exact without ever taking log of a rounded-to-0 p.
    let max = -Infinity;
    for (let li = 0; li < l; li++) if (logits[row + li] > max) max = logits[row + li];
    let sumExp = 0;
    for (let li = 0; li < l; li++) sumExp += Math.exp(logits[row + li] - max);
    const logSumExp = Math.log(sumExp);

    let sampleLoss = 0;
    for (let li = 0; li < l; li++) {
      const logP = logits[row + li] - max - logSumExp;
      const q = (li === label ? 1 - smoothing : 0) + offTarget;
      if (q !== 0) sampleLoss -= q * logP;
      probs[row + li] = Math.exp(logP);
      if (dlogits) dlogits[row + li] = (Math.exp(logP) - q) / n;
    }
    total += sampleLoss;
  }
  return total / n;
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). */
export const lossKernels = {
  softmaxCrossEntropy: ({ logits, labels, probs, dlogits, loss }, a) => {
    loss.data[0] = softmaxCrossEntropy(
      logits.data,
      labels.data,
      a.n,
      a.l,
      a.smoothing,
      probs.data,
      dlogits ? dlogits.data : null,
    );
  },
} satisfies HostKernels;
