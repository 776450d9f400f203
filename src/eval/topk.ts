// Top-k accuracy (the paper reports top-1 and top-5 error = 1 − these).
// Letters: N samples, L classes.

/** Whether the label is among the k highest scores of one row (ties counted pessimistically:
 *  a class tied with the label's score and listed before it takes a slot).
 *  scores: [N, L] flat   row: the sample */
export function inTopK(
  scores: Float32Array,
  row: number,
  l: number,
  label: number,
  k: number,
): boolean {
  const base = row * l;
  const s = scores[base + label];
  let above = 0;
  for (let j = 0; j < l; j++) {
    const v = scores[base + j];
    if (v > s || (v === s && j < label)) above++;
    if (above >= k) return false;
  }
  return true;
}

/** Fraction of rows whose label is in the top k. scores: [N, L]  labels: [N] */
export function topKAccuracy(
  scores: Float32Array,
  labels: Int32Array,
  l: number,
  k: number,
): number {
  const n = labels.length;
  if (n === 0) return 0;
  let hits = 0;
  for (let i = 0; i < n; i++) if (inTopK(scores, i, l, labels[i], Math.min(k, l))) hits++;
  return hits / n;
}

/** The k best classes of one row, best first, with their scores. */
export function topK(
  scores: Float32Array,
  row: number,
  l: number,
  k: number,
): { index: number; score: number }[] {
  const items = Array.from({ length: l }, (_, j) => ({ index: j, score: scores[row * l + j] }));
  items.sort((a, b) => b.score - a.score || a.index - b.index);
  return items.slice(0, Math.min(k, l));
}
