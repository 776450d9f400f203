// Central-difference gradient checking in float64 (the ConvNetJS / Caffe gradient-checker idea).
//
// A kernel's backward is checked through a scalar probe L(x) = Σ y(x) · r, with r a fixed random
// "upstream gradient": then ∂L/∂x is exactly what backward(dy = r) must return, and the numeric
// estimate (L(x + ε·e_i) − L(x − ε·e_i)) / 2ε has error O(ε²) plus rounding O(δ/ε). With float64
// and ε = 1e-6 both are around 1e-9 relative, far below any bug worth catching.

export interface GradTolerance {
  /** absolute slack, for entries whose gradient is ~0 */
  atol: number;
  /** relative slack, against max(|analytic|, |numeric|) */
  rtol: number;
}

export const DEFAULT_TOLERANCE: GradTolerance = { atol: 1e-7, rtol: 1e-5 };

export interface GradComparison {
  ok: boolean;
  maxAbsErr: number;
  /** max over entries of |a − n| / max(|a|, |n|) (entries where both are 0 count as 0) */
  maxRelErr: number;
  /** index of the entry that came closest to (or went furthest past) its tolerance */
  worstIndex: number;
  message: string;
}

/** ∂f/∂x_i for every i by central differences; x is perturbed in place and restored. */
export function numericGradient(f: () => number, x: Float64Array, eps = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + eps;
    const plus = f();
    x[i] = saved - eps;
    const minus = f();
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * eps);
  }
  return grad;
}

/** Entry-wise |a − n| ≤ atol + rtol · max(|a|, |n|); reports the worst entry. */
export function compareGradients(
  name: string,
  analytic: ArrayLike<number>,
  numeric: ArrayLike<number>,
  tol: GradTolerance = DEFAULT_TOLERANCE,
): GradComparison {
  if (analytic.length !== numeric.length) {
    throw new Error(`${name}: analytic has ${analytic.length} entries, numeric ${numeric.length}`);
  }
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let worstRatio = -1;
  let worstIndex = -1;
  for (let i = 0; i < analytic.length; i++) {
    const a = analytic[i];
    const n = numeric[i];
    const err = Math.abs(a - n);
    const mag = Math.max(Math.abs(a), Math.abs(n));
    const ratio = err / (tol.atol + tol.rtol * mag); // > 1 means out of tolerance
    if (!(ratio <= worstRatio)) {
      // also catches NaN
      worstRatio = ratio;
      worstIndex = i;
    }
    maxAbsErr = Math.max(maxAbsErr, err);
    if (mag > 0) maxRelErr = Math.max(maxRelErr, err / mag);
    if (Number.isNaN(err)) maxAbsErr = NaN;
  }
  const ok = analytic.length > 0 && worstRatio <= 1;
  const message =
    `${name}: ${analytic.length} entries, max abs err ${maxAbsErr.toExponential(2)}, ` +
    `max rel err ${maxRelErr.toExponential(2)} (tolerance atol ${tol.atol} + rtol ${tol.rtol}·|g|)` +
    (worstIndex >= 0
      ? `; worst [${worstIndex}] analytic ${analytic[worstIndex]} vs numeric ${numeric[worstIndex]}`
      : '');
  return { ok, maxAbsErr, maxRelErr, worstIndex, message };
}

/** Numeric gradient of f with respect to x, compared with `analytic`. */
export function gradcheck(
  name: string,
  f: () => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
  tol: GradTolerance = DEFAULT_TOLERANCE,
  eps = 1e-6,
): GradComparison {
  return compareGradients(name, analytic, numericGradient(f, x, eps), tol);
}

/** Σ_i y_i · r_i — the scalar probe whose gradient with respect to y is r. */
export function dot(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}
