// Bilinear resizing of single-channel byte images, as torchvision's Resize on tensors computes it
// (F.interpolate, mode='bilinear', align_corners=False): output pixel i samples the input at
// (i + 0.5)·(in/out) − 0.5, clamped at 0, between floor and floor+1 (clamped at in−1).
// For upsampling (28 → 67/224) torchvision's antialias flag changes nothing.

/** Per output coordinate: the two input taps and the weight of the second. */
export interface ResizeAxis {
  i0: Int32Array;
  i1: Int32Array;
  t: Float32Array;
}

export function resizeAxis(inSize: number, outSize: number): ResizeAxis {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    t[o] = src - lo;
  }
  return { i0, i1, t };
}

/** Resizes one [inH, inW] byte image into out: [outH, outW] floats, applying value·a + b
 *  (a, b fold the pixel scale and mean/std normalisation), mirrored left–right when `flip`.
 *  src: [inH·inW] starting at srcOff   out: [outH·outW] starting at outOff */
export function resizeBilinear(
  src: Uint8Array,
  srcOff: number,
  inW: number,
  rows: ResizeAxis,
  cols: ResizeAxis,
  out: Float32Array,
  outOff: number,
  a: number,
  b: number,
  flip: boolean,
): void {
  const outH = rows.i0.length;
  const outW = cols.i0.length;
  for (let y = 0; y < outH; y++) {
    const r0 = srcOff + rows.i0[y] * inW;
    const r1 = srcOff + rows.i1[y] * inW;
    const ty = rows.t[y];
    const o = outOff + y * outW;
    for (let x = 0; x < outW; x++) {
      const xs = flip ? outW - 1 - x : x;
      const c0 = cols.i0[xs];
      const c1 = cols.i1[xs];
      const tx = cols.t[xs];
      const top = src[r0 + c0] + (src[r0 + c1] - src[r0 + c0]) * tx;
      const bot = src[r1 + c0] + (src[r1 + c1] - src[r1 + c0]) * tx;
      out[o + x] = (top + (bot - top) * ty) * a + b;
    }
  }
}
