// PIL's bilinear resize (Image.resize(size, Image.BILINEAR)), bit for bit, which is what
// torchvision's Resize does to PIL images and so what its ImageNet weights were trained on.
// Unlike plain bilinear interpolation it antialiases: the triangle filter's support (1 pixel) is
// widened by the downscale factor, so every input pixel under an output pixel contributes.
// Pillow's Resample.c: coefficients in double, normalised to sum 1, then converted to 22-bit fixed
// point; a horizontal pass into an 8-bit intermediate image (only the rows the vertical pass
// reads), then a vertical pass, each output rounded and clipped to 0..255.
// sharp cannot do this exactly: libvips' resize box-shrinks by the integer part of the factor
// first and rounds its own coefficients. Images are HWC uint8, C channels.

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE_255 = 1 << (PRECISION_BITS + 8);

/** Per output pixel of one axis: the first input tap, the tap count, and fixed-point weights
 *  [outSize, ksize] (row o's weights at o·ksize). */
interface AxisCoeffs {
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  ksize: number;
}

function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole input [0, inSize). */
function axisCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const ss = 1 / filterScale;
    // C's (int) cast truncates toward zero; both values are ≥ −0.5 here, so trunc is exact.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      sum += k[x];
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[o * ksize + x] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    first[o] = xmin;
    count[o] = n;
  }
  return { first, count, weights, ksize };
}

function clip8(v: number): number {
  if (v >= ONE_255) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** src: [inH, inW, C] → [outH, outW, C], as PIL resizes with BILINEAR. */
export function resizePilBilinear(
  src: Uint8Array,
  inW: number,
  inH: number,
  channels: number,
  outW: number,
  outH: number,
): Uint8Array {
  if (src.length !== inW * inH * channels)
    throw new RangeError(`expected ${inW}×${inH}×${channels} bytes, got ${src.length}`);
  const C = channels;
  const cols = axisCoeffs(inW, outW);
  const rows = axisCoeffs(inH, outH);
  // The horizontal pass covers only the input rows the vertical pass reads.
  const y0 = rows.first[0];
  const y1 = rows.first[outH - 1] + rows.count[outH - 1];
  let mid = src;
  let midRows = inH;
  let rowShift = 0;
  if (outW !== inW) {
    midRows = y1 - y0;
    rowShift = y0;
    mid = new Uint8Array(midRows * outW * C);
    for (let y = 0; y < midRows; y++) {
      const inRow = (y + y0) * inW * C;
      for (let o = 0; o < outW; o++) {
        const x0 = cols.first[o];
        const n = cols.count[o];
        const wOff = o * cols.ksize;
        for (let c = 0; c < C; c++) {
          let s = HALF;
          for (let x = 0; x < n; x++) s += src[inRow + (x0 + x) * C + c] * cols.weights[wOff + x];
          mid[(y * outW + o) * C + c] = clip8(s);
        }
      }
    }
  }
  if (outH === inH && rowShift === 0 && midRows === outH) return mid === src ? src.slice() : mid;
  const out = new Uint8Array(outH * outW * C);
  const rowLen = outW * C;
  for (let o = 0; o < outH; o++) {
    const r0 = rows.first[o] - rowShift;
    const n = rows.count[o];
    const wOff = o * rows.ksize;
    for (let i = 0; i < rowLen; i++) {
      let s = HALF;
      for (let y = 0; y < n; y++) s += mid[(r0 + y) * rowLen + i] * rows.weights[wOff + y];
      out[o * rowLen + i] = clip8(s);
    }
  }
  return out;
}

/** torchvision's Resize(size) output for an image w×h: the shorter side becomes `size`, the
 *  longer int(size · long / short) (Python's int() truncates). */
export function torchvisionResizedSize(w: number, h: number, size: number): [number, number] {
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((size * long) / short);
  return w <= h ? [size, newLong] : [newLong, size];
}

/** torchvision's CenterCrop offset: int(round((side − crop) / 2)), Python's round (half to even). */
export function torchvisionCropOffset(side: number, crop: number): number {
  const v = (side - crop) / 2;
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}
