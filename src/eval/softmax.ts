// Softmax over the rows of a logits matrix, for turning a network's outputs into class
// probabilities (predict, ensembles). The row maximum is subtracted first, so large logits do not
// overflow; sums are taken in double precision.
// Letters: N rows (samples), L classes.

/** logits: [N, L] → probabilities [N, L], each row summing to 1. */
export function softmaxRows(logits: Float32Array, rows: number, classes: number): Float32Array {
  if (logits.length !== rows * classes)
    throw new RangeError(`softmax: ${logits.length} values are not ${rows} rows of ${classes}`);
  const out = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[o + j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[o + j] - max);
    for (let j = 0; j < classes; j++) out[o + j] = Math.exp(logits[o + j] - max) / sum;
  }
  return out;
}
