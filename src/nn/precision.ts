// The precision a net computes in (issue #12). 'fp32': everything float32. 'bf16': mixed
// precision as frameworks mean it — the conv and linear layers hand the GEMM kernels a bfloat16
// copy of their weight, so the kernels multiply bfloat16 inputs (activations and gradients are
// rounded as they are read) and accumulate in float32 (src/backend/kernels.ts, "Precision").
// Master weights, gradients, momentum, the loss, softmax, LRN and pooling stay float32, and so
// do checkpoints.
import { usage } from '../util/errors.js';

export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** `value` as a Precision; anything else is a usage error naming `option`. */
export function parsePrecision(value: string, option = 'precision'): Precision {
  if (!(PRECISIONS as readonly string[]).includes(value))
    usage(`precision '${value}' is unknown (choose ${PRECISIONS.join(' or ')})`, option);
  return value as Precision;
}
