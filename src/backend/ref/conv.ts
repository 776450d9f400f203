// Reference 2-D convolution (cross-correlation, as every framework computes it), with stride,
// zero padding and groups. Direct loops, no im2col: this is the oracle, so it should be obviously
// right. It is still arranged so the innermost loop walks one output row (contiguous in y and dy)
// with all index arithmetic hoisted, which keeps a full AlexNet forward well under a minute.
//
// Letters: N batch, Ci input channels, Co output channels, G groups, H×W input map,
// Ho×Wo output map, Kh×Kw kernel. Per group: cig = Ci/G input and cog = Co/G output channels;
// output channel co reads input channels [g·cig, (g+1)·cig) where g = ⌊co / cog⌋ — PyTorch's
// grouping, which is also how the paper's two GPU towers map onto groups=2.

import { convOutputSize, type ConvGeom } from '../backend.js';
import type { FloatArray } from './float.js';
import type { HostKernels } from '../host.js';
import { roundedToBf16, widened } from './mixed.js';

/** For each kernel offset k in [0, K): the range [first[k], end[k]) of output positions o for
 *  which the input position o·stride − pad + k lies inside [0, size). Lets the inner loops skip
 *  the zero padding without a branch per element; computed once per call, per axis. */
function validOutputRanges(
  kSize: number,
  stride: number,
  pad: number,
  size: number,
  outSize: number,
): { first: Int32Array; end: Int32Array } {
  const first = new Int32Array(kSize);
  const end = new Int32Array(kSize);
  for (let k = 0; k < kSize; k++) {
    // o·stride ≥ pad − k  and  o·stride ≤ size − 1 + pad − k
    first[k] = Math.max(0, Math.ceil((pad - k) / stride));
    end[k] = Math.max(first[k], Math.min(outSize, Math.floor((size - 1 + pad - k) / stride) + 1));
  }
  return { first, end };
}

function checkGeom(g: ConvGeom): void {
  if (g.cIn % g.groups !== 0 || g.cOut % g.groups !== 0) {
    throw new Error(`conv: channels ${g.cIn}→${g.cOut} are not divisible by groups=${g.groups}`);
  }
  const ho = convOutputSize(g.h, g.kh, g.stride, g.pad);
  const wo = convOutputSize(g.w, g.kw, g.stride, g.pad);
  if (g.ho !== ho || g.wo !== wo) {
    throw new Error(`conv: output ${g.ho}×${g.wo} given, but the geometry gives ${ho}×${wo}`);
  }
}

/** y = conv(x, w) + b, then ReLU if `relu`.
 *  x: [N, Ci, H, W]   w: [Co, Ci/G, Kh, Kw]   b: [Co] | null   y: [N, Co, Ho, Wo] (overwritten) */
export function conv2dForward(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  y: FloatArray,
  g: ConvGeom,
  relu: boolean,
): void {
  checkGeom(g);
  const { n, cIn, h, w: wIn, cOut, kh, kw, stride, pad, groups, ho, wo } = g;
  const cig = cIn / groups;
  const cog = cOut / groups;
  const planeIn = h * wIn;
  const planeOut = ho * wo;
  const rows = validOutputRanges(kh, stride, pad, h, ho);
  const cols = validOutputRanges(kw, stride, pad, wIn, wo);

  for (let ni = 0; ni < n; ni++) {
    for (let co = 0; co < cOut; co++) {
      const yBase = (ni * cOut + co) * planeOut;
      const bias = b ? b[co] : 0;
      for (let i = 0; i < planeOut; i++) y[yBase + i] = bias;

      const ciFirst = Math.floor(co / cog) * cig; // first input channel of this output's group
      for (let cl = 0; cl < cig; cl++) {
        const xPlane = (ni * cIn + ciFirst + cl) * planeIn;
        const wKernel = (co * cig + cl) * kh * kw;
        for (let ky = 0; ky < kh; ky++) {
          const oyFirst = rows.first[ky],
            oyEnd = rows.end[ky];
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[wKernel + ky * kw + kx];
            const oxFirst = cols.first[kx],
              oxEnd = cols.end[kx];
            for (let oy = oyFirst; oy < oyEnd; oy++) {
              const xRow = xPlane + (oy * stride - pad + ky) * wIn - pad + kx; // + ox·stride
              const yRow = yBase + oy * wo;
              for (let ox = oxFirst; ox < oxEnd; ox++) y[yRow + ox] += wv * x[xRow + ox * stride];
            }
          }
        }
      }

      if (relu) for (let i = 0; i < planeOut; i++) if (y[yBase + i] < 0) y[yBase + i] = 0;
    }
  }
}

/** Gradients of y = conv(x, w) + b given dy (a fused ReLU is already folded into dy by the
 *  caller). Each requested output is overwritten; a null one is skipped.
 *  x: [N, Ci, H, W]   w: [Co, Ci/G, Kh, Kw]   dy: [N, Co, Ho, Wo]
 *  dx: [N, Ci, H, W] | null   dw: [Co, Ci/G, Kh, Kw] | null   db: [Co] | null */
export function conv2dBackward(
  x: FloatArray,
  w: FloatArray,
  dy: FloatArray,
  dx: FloatArray | null,
  dw: FloatArray | null,
  db: FloatArray | null,
  g: ConvGeom,
): void {
  checkGeom(g);
  const { n, cIn, h, w: wIn, cOut, kh, kw, stride, pad, groups, ho, wo } = g;
  const cig = cIn / groups;
  const cog = cOut / groups;
  const planeIn = h * wIn;
  const planeOut = ho * wo;
  const rows = validOutputRanges(kh, stride, pad, h, ho);
  const cols = validOutputRanges(kw, stride, pad, wIn, wo);

  if (dx) dx.fill(0);
  if (dw) dw.fill(0);
  if (db) {
    // db[co] = Σ_{n, oy, ox} dy[n, co, oy, ox]
    db.fill(0);
    for (let ni = 0; ni < n; ni++) {
      for (let co = 0; co < cOut; co++) {
        const base = (ni * cOut + co) * planeOut;
        let s = 0;
        for (let i = 0; i < planeOut; i++) s += dy[base + i];
        db[co] += s;
      }
    }
  }
  if (!dx && !dw) return;

  // The same traversal as the forward pass: every (x, w, y) triple that met there meets again,
  // and each sends its share back — dx[x] += w·dy[y] and dw[w] += x·dy[y].
  for (let ni = 0; ni < n; ni++) {
    for (let co = 0; co < cOut; co++) {
      const yBase = (ni * cOut + co) * planeOut;
      const ciFirst = Math.floor(co / cog) * cig;
      for (let cl = 0; cl < cig; cl++) {
        const xPlane = (ni * cIn + ciFirst + cl) * planeIn;
        const wKernel = (co * cig + cl) * kh * kw;
        for (let ky = 0; ky < kh; ky++) {
          const oyFirst = rows.first[ky],
            oyEnd = rows.end[ky];
          for (let kx = 0; kx < kw; kx++) {
            const wIdx = wKernel + ky * kw + kx;
            const wv = w[wIdx];
            const oxFirst = cols.first[kx],
              oxEnd = cols.end[kx];
            let dwAcc = 0;
            for (let oy = oyFirst; oy < oyEnd; oy++) {
              const xRow = xPlane + (oy * stride - pad + ky) * wIn - pad + kx;
              const yRow = yBase + oy * wo;
              if (dx)
                for (let ox = oxFirst; ox < oxEnd; ox++)
                  dx[xRow + ox * stride] += wv * dy[yRow + ox];
              if (dw)
                for (let ox = oxFirst; ox < oxEnd; ox++)
                  dwAcc += x[xRow + ox * stride] * dy[yRow + ox];
            }
            if (dw) dw[wIdx] += dwAcc;
          }
        }
      }
    }
  }
}

/** This file's kernels, bound to the table (src/backend/kernels.ts). A bfloat16 w makes the call
 *  mixed precision (mixed.ts): x and dy are rounded copies, db sums the unrounded dy. */
export const convKernels = {
  conv2dForward: ({ x, w, b, y }, a) => {
    const xs = w.dtype === 'bfloat16' ? roundedToBf16(x.data) : x.data;
    conv2dForward(xs, widened(w.data), b ? b.data : null, y.data, a, a.relu);
  },
  conv2dBackward: ({ x, w, dy, dx, dw, db }, a) => {
    const wf = widened(w.data);
    if (w.dtype === 'bfloat16') {
      if (db) conv2dBackward(x.data, wf, dy.data, null, null, db.data, a);
      if (!dx && !dw) return;
      const dyr = roundedToBf16(dy.data);
      const xr = dw ? roundedToBf16(x.data) : x.data;
      conv2dBackward(xr, wf, dyr, dx ? dx.data : null, dw ? dw.data : null, null, a);
      return;
    }
    conv2dBackward(
      x.data,
      wf,
      dy.data,
      dx ? dx.data : null,
      dw ? dw.data : null,
      db ? db.data : null,
      a,
    );
  },
} satisfies HostKernels;
