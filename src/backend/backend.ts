// The Backend interface: every numeric kernel the layers and the optimiser call.
// Two implementations: `ref` (readable TypeScript, the oracle) and `native` (the C++ addon).
// Layers and models only ever see this interface, so a backend slots in without touching them.
//
// Conventions, for every kernel below:
//   - arrays are flat, row-major, float32; the shape of each is written beside it;
//   - backward kernels OVERWRITE their outputs (dx, dw, db); nothing accumulates;
//   - a `null` output means "not needed" (e.g. dx of the first layer) and must be skipped;
//   - letters: N batch, C/Ci input channels, Co output channels, H/W input map, Ho/Wo output map,
//     G groups, K/Kh/Kw kernel, M/F output features, D input features, L classes.

/** Convolution geometry. Output size: ho = floor((h + 2·pad − kh) / stride) + 1 (likewise wo). */
export interface ConvGeom {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  groups: number; // cIn and cOut are both divisible by groups
  ho: number;
  wo: number;
}

/** Pooling geometry (max or average), floor mode, no padding unless pad > 0. */
export interface PoolGeom {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  stride: number;
  pad: number;
  ho: number;
  wo: number;
}

/** Cross-channel local response normalisation (SPEC §1).
 *  b_i = a_i / (k + s · Σ_{j=max(0,i−⌊size/2⌋)}^{min(C−1,i+⌊size/2⌋)} a_j²)^β,
 *  s = alpha / size when alphaScaling = 'per-size' (Caffe, PyTorch, the original code),
 *  s = alpha       when alphaScaling = 'absolute' (the paper's printed formula). */
export interface LrnParams {
  n: number;
  c: number;
  h: number;
  w: number;
  size: number;
  alpha: number;
  beta: number;
  k: number;
  alphaScaling: 'per-size' | 'absolute';
}

export type Activation = 'relu' | 'tanh' | 'sigmoid';

export interface Backend {
  readonly name: string;

  /** Threads used by the kernels (the ref backend always uses one). */
  setThreads(n: number): void;
  getThreads(): number;

  // ---- convolution -------------------------------------------------------------------
  /** y = conv(x, w) + b, then ReLU if `relu`.
   *  x: [N, Ci, H, W]   w: [Co, Ci/G, Kh, Kw]   b: [Co] | null   y: [N, Co, Ho, Wo] */
  conv2dForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array,
    g: ConvGeom,
    relu: boolean,
  ): void;
  /** Gradients of y = conv(x, w) + b given dy (any ReLU already folded into dy by the caller).
   *  x: [N, Ci, H, W]  w: [Co, Ci/G, Kh, Kw]  dy: [N, Co, Ho, Wo]
   *  dx: [N, Ci, H, W] | null   dw: [Co, Ci/G, Kh, Kw] | null   db: [Co] | null */
  conv2dBackward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    g: ConvGeom,
  ): void;

  // ---- fully connected ---------------------------------------------------------------
  /** y = x · wᵀ + b, then ReLU if `relu`.
   *  x: [N, D]   w: [F, D]   b: [F] | null   y: [N, F] */
  linearForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array | null,
    y: Float32Array,
    n: number,
    d: number,
    f: number,
    relu: boolean,
  ): void;
  /** x: [N, D]  w: [F, D]  dy: [N, F]   dx: [N, D] | null   dw: [F, D] | null   db: [F] | null */
  linearBackward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    n: number,
    d: number,
    f: number,
  ): void;

  // ---- pooling -----------------------------------------------------------------------
  /** Max pooling; argmax (optional) records, per output, the flat index h·W + w of the winner
   *  inside its own [H, W] plane (first maximum in row-major scan order wins ties, as PyTorch).
   *  x: [N, C, H, W]   y: [N, C, Ho, Wo]   argmax: [N, C, Ho, Wo] | null */
  maxPoolForward(x: Float32Array, y: Float32Array, argmax: Int32Array | null, g: PoolGeom): void;
  /** dy: [N, C, Ho, Wo]   argmax: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten) */
  maxPoolBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, g: PoolGeom): void;
  /** Average pooling, padding counted in the divisor (PyTorch's count_include_pad=True).
   *  x: [N, C, H, W]   y: [N, C, Ho, Wo] */
  avgPoolForward(x: Float32Array, y: Float32Array, g: PoolGeom): void;
  /** dy: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten) */
  avgPoolBackward(dy: Float32Array, dx: Float32Array, g: PoolGeom): void;
  /** Adaptive average pooling to [Ho, Wo] with PyTorch's bins:
   *  start = floor(i·H/Ho), end = ceil((i+1)·H/Ho).
   *  x: [N, C, H, W]   y: [N, C, Ho, Wo] */
  adaptiveAvgPoolForward(
    x: Float32Array,
    y: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    ho: number,
    wo: number,
  ): void;
  /** dy: [N, C, Ho, Wo]   dx: [N, C, H, W] (overwritten) */
  adaptiveAvgPoolBackward(
    dy: Float32Array,
    dx: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    ho: number,
    wo: number,
  ): void;

  // ---- local response normalisation ---------------------------------------------------
  /** x, y: [N, C, H, W]; scale: [N, C, H, W] | null receives k + s·Σa² (what backward needs). */
  lrnForward(x: Float32Array, y: Float32Array, scale: Float32Array | null, p: LrnParams): void;
  /** x, y, scale, dy, dx: [N, C, H, W] — scale from lrnForward on the same x. */
  lrnBackward(
    x: Float32Array,
    y: Float32Array,
    scale: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    p: LrnParams,
  ): void;

  // ---- elementwise --------------------------------------------------------------------
  /** y = act(x), any shape; y may be x (in place). */
  activationForward(kind: Activation, x: Float32Array, y: Float32Array): void;
  /** dx = dy · act'(·), written from the forward OUTPUT y; dx may be dy (in place). */
  activationBackward(kind: Activation, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** y = x · mask · scale (mask of 0/1 bytes drawn by the caller's seeded generator);
   *  y may be x. Used for dropout forward and backward alike. */
  dropoutApply(x: Float32Array, mask: Uint8Array, scale: number, y: Float32Array): void;
  /** y = x · scale (classic dropout at test time); y may be x. */
  scale(x: Float32Array, scale: number, y: Float32Array): void;

  // ---- loss ---------------------------------------------------------------------------
  /** Mean softmax cross-entropy over the batch with label smoothing ε (target: 1−ε on the
   *  label plus ε/L everywhere). Writes probs (softmax) and dlogits = (probs − target)/N.
   *  logits, probs, dlogits: [N, L]   labels: [N] (0 ≤ label < L). Returns the mean loss. */
  softmaxCrossEntropy(
    logits: Float32Array,
    labels: Int32Array,
    n: number,
    l: number,
    smoothing: number,
    probs: Float32Array,
    dlogits: Float32Array | null,
  ): number;

  // ---- optimiser ----------------------------------------------------------------------
  /** The paper's SGD rule in one pass, for one parameter tensor (any shape, flat):
   *  v ← momentum·v − weightDecay·lr·w − lr·g ;  w ← w + v.
   *  w, g, v: same length */
  sgdUpdate(
    w: Float32Array,
    g: Float32Array,
    v: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
  ): void;
}

export function convOutputSize(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}
