// Confusion matrix and per-class accuracy (SPEC §4). confusion[t][p] counts samples of true class
// t predicted as p (the arg-max, lowest index on ties).
// Letters: N samples, L classes.

export function argmaxRow(scores: Float32Array, row: number, l: number): number {
  let best = 0;
  for (let j = 1; j < l; j++) if (scores[row * l + j] > scores[row * l + best]) best = j;
  return best;
}

/** scores: [N, L]   labels: [N]   → [L][L] counts */
export function confusionMatrix(scores: Float32Array, labels: Int32Array, l: number): number[][] {
  const m = Array.from({ length: l }, () => new Array<number>(l).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][argmaxRow(scores, i, l)]++;
  return m;
}

export interface ClassAccuracy {
  index: number;
  name: string;
  count: number;
  accuracy: number;
}

export function perClassAccuracy(confusion: number[][], classNames: string[]): ClassAccuracy[] {
  return confusion.map((row, t) => {
    const count = row.reduce((a, b) => a + b, 0);
    return {
      index: t,
      name: classNames[t] ?? String(t),
      count,
      accuracy: count ? row[t] / count : 0,
    };
  });
}
