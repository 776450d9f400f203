// Mixed precision for the reference GEMM kernels (kernels.ts, "Precision"): the oracle of a
// bfloat16 call. w is widened to float32 (exact), copies of x and dy are rounded to bfloat16 and
// widened back (RNE, exactly `cast`), and the float32 kernel runs on them: every product then
// has bfloat16 inputs and every sum is float32.
import { bf16ToFloat, floatToBf16 } from './elementwise.js';
import type { FloatArray } from './float.js';

/** w as float32: itself when float (the gradient checks pass Float64Array), widened exactly when
 *  bfloat16.  w: [*] */
export function widened<A extends FloatArray>(w: A | Uint16Array): A | Float32Array {
  if (!(w instanceof Uint16Array)) return w;
  const out = new Float32Array(w.length);
  bf16ToFloat(w, out);
  return out;
}

/** A float32 copy of x with every element rounded to bfloat16.  x: [*] */
export function roundedToBf16(x: Float32Array): Float32Array {
  const half = new Uint16Array(x.length);
  floatToBf16(x, half);
  const out = new Float32Array(x.length);
  bf16ToFloat(half, out);
  return out;
}
