// THE KERNEL TABLE: every numeric kernel the layers and the optimiser call, declared once.
// The Backend type (backend.ts), the native addon's typed binding (native/binding.ts) and the
// argument checks (declare.ts) all derive from the entries below; the C++ side registers one
// function per entry, by the same name, receiving the tensors in the order declared here
// (native/addon.cc). Adding a kernel: its entry here, its ref version (ref/), its native version
// (native/addon.cc table + kernel body) and its test.
//
// Conventions, for every kernel:
//   - tensors are flat and row-major; the shape of each is derived from the attributes;
//   - `writes` arguments are OVERWRITTEN; nothing accumulates;
//   - a null `optional` argument means "not needed" (e.g. dx of the first layer) and is skipped;
//   - letters: N batch, C/Ci input channels, Co output channels, H/W input map, Ho/Wo output map,
//     G groups, K/Kh/Kw kernel, F output features, D input features, L classes.
//
// Precision (the four GEMM kernels: conv2dForward/Backward, linearForward/Backward): the dtype of
// `w` is the precision of the call; every other argument is float32.
//   - float32 w: float32 products and sums.
//   - bfloat16 w: mixed precision. Each product's inputs are bfloat16 — w as given, x and dy
//     rounded to bfloat16 (nearest, ties to even: exactly `cast`) as they are read — and the
//     products accumulate in float32, in any order. Bias, ReLU, y, dx, dw and db stay float32;
//     db = Σ dy of the UNROUNDED dy. dw is the gradient of the float32 master weight.
import { bool, int, kernel, num, oneOf } from './declare.js';
import type { AttrValues } from './declare.js';

const F32 = ['float32'] as const;
const I32 = ['int32'] as const;
const U8 = ['uint8'] as const;
const FLOATS = ['float32', 'bfloat16'] as const;
const BF16 = ['bfloat16'] as const;

export function convOutputSize(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}

// ---- attribute groups ------------------------------------------------------------------------

/** Convolution geometry. Output size: ho = floor((h + 2·pad − kh) / stride) + 1 (likewise wo). */
const convGeom = {
  n: int(),
  cIn: int(),
  h: int(),
  w: int(),
  cOut: int(),
  kh: int(),
  kw: int(),
  stride: int(),
  pad: int(0),
  groups: int(), // cIn and cOut are both divisible by groups
  ho: int(),
  wo: int(),
} as const;
export type ConvGeom = AttrValues<typeof convGeom>;

function checkConv(g: ConvGeom): string | null {
  if (g.cIn % g.groups || g.cOut % g.groups)
    return `cIn (${g.cIn}) and cOut (${g.cOut}) must be divisible by groups (${g.groups})`;
  if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw) return 'kernel larger than padded input';
  const ho = convOutputSize(g.h, g.kh, g.stride, g.pad);
  const wo = convOutputSize(g.w, g.kw, g.stride, g.pad);
  if (g.ho !== ho || g.wo !== wo)
    return `ho/wo (${g.ho}×${g.wo}) do not match floor((h + 2·pad − k)/stride) + 1 = ${ho}×${wo}`;
  return null;
}

/** Pooling geometry (max or average), floor mode, no padding unless pad > 0. */
const poolGeom = {
  n: int(),
  c: int(),
  h: int(),
  w: int(),
  k: int(),
  stride: int(),
  pad: int(0),
  ho: int(),
  wo: int(),
} as const;
export type PoolGeom = AttrValues<typeof poolGeom>;

function checkPool(g: PoolGeom): string | null {
  if (2 * g.pad > g.k) return 'pad must be at most half the kernel size';
  if (
    g.ho !== convOutputSize(g.h, g.k, g.stride, g.pad) ||
    g.wo !== convOutputSize(g.w, g.k, g.stride, g.pad)
  )
    return 'ho/wo do not match floor((h + 2·pad − k)/stride) + 1';
  if (g.h * g.w > 2147483647) return 'plane too large for int32 argmax';
  return null;
}

const adaptiveGeom = { n: int(), c: int(), h: int(), w: int(), ho: int(), wo: int() } as const;

/** Cross-channel local response normalisation (SPEC §1).
 *  b_i = a_i / (k + s · Σ_{j=max(0,i−⌊size/2⌋)}^{min(C−1,i+⌊size/2⌋)} a_j²)^β,
 *  s = alpha / size when alphaScaling = 'per-size' (Caffe, PyTorch, the original code),
 *  s = alpha       when alphaScaling = 'absolute' (the paper's printed formula). */
const lrnParams = {
  n: int(),
  c: int(),
  h: int(),
  w: int(),
  size: int(),
  alpha: num(),
  beta: num(),
  k: num(),
  alphaScaling: oneOf('per-size', 'absolute'),
} as const;
export type LrnParams = AttrValues<typeof lrnParams>;
const checkLrn = (p: LrnParams): string | null =>
  p.size > 127 ? 'LRN size must be at most 127' : null;

const activation = oneOf('relu', 'tanh', 'sigmoid');
export type Activation = (typeof activation.values)[number];

const linearDims = { n: int(), d: int(), f: int() } as const;

// Shapes, by attribute group.
const nchw = (g: { n: number; c: number; h: number; w: number }) => [g.n, g.c, g.h, g.w];
const nchwOut = (g: { n: number; c: number; ho: number; wo: number }) => [g.n, g.c, g.ho, g.wo];
const convX = (g: ConvGeom) => [g.n, g.cIn, g.h, g.w];
const convW = (g: ConvGeom) => [g.cOut, g.cIn / g.groups, g.kh, g.kw];
const convY = (g: ConvGeom) => [g.n, g.cOut, g.ho, g.wo];

// ---- the table -------------------------------------------------------------------------------

export const KERNELS = {
  conv2dForward: kernel({
    doc: 'y = conv(x, w) + b, then ReLU if `relu`. bfloat16 w: y = relu?(w ⋆ round(x) + b).',
    attrs: { ...convGeom, relu: bool() },
    check: checkConv,
    args: {
      x: { dtypes: F32, shape: convX, doc: '[N, Ci, H, W]' },
      w: { dtypes: FLOATS, shape: convW, doc: '[Co, Ci/G, Kh, Kw]; its dtype is the precision' },
      b: { dtypes: F32, shape: (g) => [g.cOut], optional: true, doc: '[Co]' },
      y: { dtypes: F32, shape: convY, writes: true, doc: '[N, Co, Ho, Wo]' },
    },
  }),
  conv2dBackward: kernel({
    doc:
      'Gradients of y = conv(x, w) + b given dy (any ReLU already folded into dy). bfloat16 w: ' +
      'dx = wᵀ-conv of round(dy), dw = round(dy) ⋆ round(x), db = Σ dy.',
    attrs: convGeom,
    check: checkConv,
    args: {
      x: { dtypes: F32, shape: convX },
      w: { dtypes: FLOATS, shape: convW },
      dy: { dtypes: F32, shape: convY },
      dx: { dtypes: F32, shape: convX, optional: true, writes: true },
      dw: { dtypes: F32, shape: convW, optional: true, writes: true },
      db: { dtypes: F32, shape: (g) => [g.cOut], optional: true, writes: true },
    },
  }),

  linearForward: kernel({
    doc: 'y = x · wᵀ + b, then ReLU if `relu`. bfloat16 w: y = relu?(round(x) · wᵀ + b).',
    attrs: { ...linearDims, relu: bool() },
    args: {
      x: { dtypes: F32, shape: (a) => [a.n, a.d], doc: '[N, D]' },
      w: { dtypes: FLOATS, shape: (a) => [a.f, a.d], doc: '[F, D]; its dtype is the precision' },
      b: { dtypes: F32, shape: (a) => [a.f], optional: true, doc: '[F]' },
      y: { dtypes: F32, shape: (a) => [a.n, a.f], writes: true, doc: '[N, F]' },
    },
  }),
  linearBackward: kernel({
    doc:
      'Gradients of y = x · wᵀ + b given dy (any ReLU already folded into dy). bfloat16 w: ' +
      'dx = round(dy) · w, dw = round(dy)ᵀ · round(x), db = Σ dy.',
    attrs: linearDims,
    args: {
      x: { dtypes: F32, shape: (a) => [a.n, a.d] },
      w: { dtypes: FLOATS, shape: (a) => [a.f, a.d] },
      dy: { dtypes: F32, shape: (a) => [a.n, a.f] },
      dx: { dtypes: F32, shape: (a) => [a.n, a.d], optional: true, writes: true },
      dw: { dtypes: F32, shape: (a) => [a.f, a.d], optional: true, writes: true },
      db: { dtypes: F32, shape: (a) => [a.f], optional: true, writes: true },
    },
  }),

  maxPoolForward: kernel({
    doc:
      'Max pooling; argmax (optional) records, per output, the flat index h·W + w of the winner ' +
      'inside its own [H, W] plane (the first maximum in row-major order wins ties, as PyTorch).',
    attrs: poolGeom,
    check: checkPool,
    args: {
      x: { dtypes: F32, shape: nchw, doc: '[N, C, H, W]' },
      y: { dtypes: F32, shape: nchwOut, writes: true, doc: '[N, C, Ho, Wo]' },
      argmax: { dtypes: I32, shape: nchwOut, optional: true, writes: true },
    },
  }),
  maxPoolBackward: kernel({
    doc: 'dx = the scatter of dy to the argmax positions (0 elsewhere).',
    attrs: poolGeom,
    check: checkPool,
    args: {
      dy: { dtypes: F32, shape: nchwOut },
      argmax: { dtypes: I32, shape: nchwOut },
      dx: { dtypes: F32, shape: nchw, writes: true },
    },
  }),
  avgPoolForward: kernel({
    doc: "Average pooling, padding counted in the divisor (PyTorch's count_include_pad=True).",
    attrs: poolGeom,
    check: checkPool,
    args: {
      x: { dtypes: F32, shape: nchw },
      y: { dtypes: F32, shape: nchwOut, writes: true },
    },
  }),
  avgPoolBackward: kernel({
    doc: 'Gradient of avgPoolForward.',
    attrs: poolGeom,
    check: checkPool,
    args: {
      dy: { dtypes: F32, shape: nchwOut },
      dx: { dtypes: F32, shape: nchw, writes: true },
    },
  }),
  adaptiveAvgPoolForward: kernel({
    doc:
      "Adaptive average pooling to [Ho, Wo] with PyTorch's bins: start = floor(i·H/Ho), " +
      'end = ceil((i+1)·H/Ho).',
    attrs: adaptiveGeom,
    args: {
      x: { dtypes: F32, shape: nchw },
      y: { dtypes: F32, shape: nchwOut, writes: true },
    },
  }),
  adaptiveAvgPoolBackward: kernel({
    doc: 'Gradient of adaptiveAvgPoolForward.',
    attrs: adaptiveGeom,
    args: {
      dy: { dtypes: F32, shape: nchwOut },
      dx: { dtypes: F32, shape: nchw, writes: true },
    },
  }),

  lrnForward: kernel({
    doc: 'y = LRN(x); scale (optional) receives k + s·Σa² (what backward needs).',
    attrs: lrnParams,
    check: checkLrn,
    args: {
      x: { dtypes: F32, shape: nchw },
      y: { dtypes: F32, shape: nchw, writes: true },
      scale: { dtypes: F32, shape: nchw, optional: true, writes: true },
    },
  }),
  lrnBackward: kernel({
    doc: 'Gradient of LRN; scale from lrnForward on the same x.',
    attrs: lrnParams,
    check: checkLrn,
    args: {
      x: { dtypes: F32, shape: nchw },
      y: { dtypes: F32, shape: nchw },
      scale: { dtypes: F32, shape: nchw },
      dy: { dtypes: F32, shape: nchw },
      dx: { dtypes: F32, shape: nchw, writes: true },
    },
  }),

  activationForward: kernel({
    doc: 'y = act(x), any shape; y may be x (in place).',
    attrs: { kind: activation },
    args: {
      x: { dtypes: F32 },
      y: { dtypes: F32, like: 'x', writes: true },
    },
  }),
  activationBackward: kernel({
    doc: "dx = dy · act'(·), written from the forward OUTPUT y; dx may be dy (in place).",
    attrs: { kind: activation },
    args: {
      y: { dtypes: F32 },
      dy: { dtypes: F32, like: 'y' },
      dx: { dtypes: F32, like: 'y', writes: true },
    },
  }),
  dropoutApply: kernel({
    doc:
      "y = x · mask · scale (mask of 0/1 bytes drawn by the caller's seeded generator); y may " +
      'be x. Dropout forward and backward alike.',
    attrs: { scale: num() },
    args: {
      x: { dtypes: F32 },
      mask: { dtypes: U8, like: 'x' },
      y: { dtypes: F32, like: 'x', writes: true },
    },
  }),
  scale: kernel({
    doc: 'y = x · scale (classic dropout at test time); y may be x.',
    attrs: { scale: num() },
    args: {
      x: { dtypes: F32 },
      y: { dtypes: F32, like: 'x', writes: true },
    },
  }),

  softmaxCrossEntropy: kernel({
    doc:
      'Mean softmax cross-entropy over the batch with label smoothing ε (target: 1−ε on the ' +
      'label plus ε/L everywhere). probs = softmax(logits); dlogits = (probs − target)/N; ' +
      'loss[0] = the mean loss. Labels must lie in [0, L).',
    attrs: { n: int(), l: int(), smoothing: num() },
    check: (a) =>
      a.smoothing >= 0 && a.smoothing < 1
        ? null
        : `smoothing must be in [0, 1), got ${a.smoothing}`,
    args: {
      logits: { dtypes: F32, shape: (a) => [a.n, a.l], doc: '[N, L]' },
      labels: { dtypes: I32, shape: (a) => [a.n], doc: '[N]' },
      probs: { dtypes: F32, shape: (a) => [a.n, a.l], writes: true },
      dlogits: { dtypes: F32, shape: (a) => [a.n, a.l], optional: true, writes: true },
      loss: { dtypes: F32, shape: () => [1], writes: true },
    },
  }),

  sgdUpdate: kernel({
    doc:
      "The paper's SGD rule in one pass, for one parameter tensor (any shape): " +
      'v ← momentum·v − weightDecay·lr·w − lr·g ;  w ← w + v. Given w16, also w16 = the new w ' +
      "in bfloat16, rounded as `cast` does (a bf16 net's weight copy, refreshed in the same pass).",
    attrs: { lr: num(), momentum: num(), weightDecay: num() },
    args: {
      w: { dtypes: F32, writes: true },
      g: { dtypes: F32, like: 'w' },
      v: { dtypes: F32, like: 'w', writes: true },
      w16: { dtypes: BF16, like: 'w', optional: true, writes: true },
    },
  }),

  cast: kernel({
    doc:
      'y = x in the precision of y: float32 → bfloat16 rounds to nearest, ties to even, and keeps ' +
      'NaN a (quiet) NaN of the same sign; bfloat16 → float32 is exact. Same dtype: a copy.',
    attrs: {},
    args: {
      x: { dtypes: FLOATS },
      y: { dtypes: FLOATS, like: 'x', writes: true },
    },
  }),
} as const;

export type Kernels = typeof KERNELS;
export type KernelName = keyof Kernels;
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** The attributes of kernel K as a named object. */
export type AttrsOf<K extends KernelName> = AttrValues<Kernels[K]['attrs']>;
