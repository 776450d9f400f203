// Golden tests: every fixture made by tools/golden_layers.py (PyTorch, float64 arithmetic on
// float32 inputs) is replayed through every backend, and outputs and gradients are compared with
// a tolerance per backend (STYLE §2, §3). Each assertion message reports the max abs/rel error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type {
  Activation,
  Backend,
  ConvGeom,
  LrnParams,
  PoolGeom,
} from '../../src/backend/backend.js';
import { convOutputSize } from '../../src/backend/backend.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backendsUnderTest } from '../helpers/backends.js';

/** Entry-wise |got − want| ≤ atol + rtol·|want|. The ref backend computes in float32 with the same
 *  summation as the definition, so 1e-4 relative is generous; native kernels reorder sums (blocking,
 *  threads, FMA), hence looser. Values in the fixtures are O(1)–O(10). */
interface Tolerance {
  rtol: number;
  atol: number;
}
const TOLERANCE: Record<string, Tolerance> = {
  ref: { rtol: 1e-4, atol: 1e-5 },
  native: { rtol: 1e-3, atol: 1e-4 },
};
const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-4 };

// dist/test/backend/golden.test.js → <repo>/test/fixtures/layers
const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/layers/', import.meta.url));

type Tensors = Map<string, Tensor>;
type Meta = Record<string, string>;
/** What a backend produced, by the fixture tensor name it is compared against. */
type Produced = Array<[string, ArrayLike<number>]>;

function get(t: Tensors, name: string): Tensor {
  const v = t.get(name);
  if (!v) throw new Error(`fixture has no tensor '${name}'`);
  return v;
}
const num = (m: Meta, key: string): number => {
  if (!(key in m)) throw new Error(`fixture metadata has no '${key}'`);
  return Number(m[key]);
};

// ---- one runner per kernel kind: calls the backend the way a layer would ------------------

function runConv(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x'),
    w = get(t, 'w'),
    y = get(t, 'y');
  const bias = m.bias === '1' ? get(t, 'b').data : null;
  const [n, cIn, h, wIn] = x.shape;
  const [cOut, , kh, kw] = w.shape;
  const stride = num(m, 'stride'),
    pad = num(m, 'pad');
  const g: ConvGeom = {
    n,
    cIn,
    h,
    w: wIn,
    cOut,
    kh,
    kw,
    stride,
    pad,
    groups: num(m, 'groups'),
    ho: convOutputSize(h, kh, stride, pad),
    wo: convOutputSize(wIn, kw, stride, pad),
  };
  const out = new Float32Array(y.size);
  const outRelu = new Float32Array(y.size);
  b.conv2dForward(x.data, w.data, bias, out, g, false);
  b.conv2dForward(x.data, w.data, bias, outRelu, g, true);
  const dx = new Float32Array(x.size).fill(NaN); // NaN: backward must overwrite
  const dw = new Float32Array(w.size).fill(NaN);
  const db = bias ? new Float32Array(cOut).fill(NaN) : null;
  b.conv2dBackward(x.data, w.data, get(t, 'dy').data, dx, dw, db, g);
  const produced: Produced = [
    ['y', out],
    ['y_relu', outRelu],
    ['dx', dx],
    ['dw', dw],
  ];
  if (db) produced.push(['db', db]);
  return produced;
}

function runLinear(b: Backend, t: Tensors): Produced {
  const x = get(t, 'x'),
    w = get(t, 'w'),
    bias = get(t, 'b');
  const [n, d] = x.shape;
  const f = w.shape[0];
  const y = new Float32Array(n * f),
    yRelu = new Float32Array(n * f);
  b.linearForward(x.data, w.data, bias.data, y, n, d, f, false);
  b.linearForward(x.data, w.data, bias.data, yRelu, n, d, f, true);
  const dx = new Float32Array(x.size).fill(NaN),
    dw = new Float32Array(w.size).fill(NaN);
  const db = new Float32Array(f).fill(NaN);
  b.linearBackward(x.data, w.data, get(t, 'dy').data, dx, dw, db, n, d, f);
  return [
    ['y', y],
    ['y_relu', yRelu],
    ['dx', dx],
    ['dw', dw],
    ['db', db],
  ];
}

function poolGeom(x: Tensor, m: Meta): PoolGeom {
  const [n, c, h, w] = x.shape;
  const k = num(m, 'k'),
    stride = num(m, 'stride'),
    pad = num(m, 'pad');
  return {
    n,
    c,
    h,
    w,
    k,
    stride,
    pad,
    ho: convOutputSize(h, k, stride, pad),
    wo: convOutputSize(w, k, stride, pad),
  };
}

function runMaxPool(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const g = poolGeom(x, m);
  const y = new Float32Array(get(t, 'y').size);
  const argmax = new Int32Array(y.length);
  b.maxPoolForward(x.data, y, argmax, g);
  const dx = new Float32Array(x.size).fill(NaN);
  b.maxPoolBackward(get(t, 'dy').data, argmax, dx, g);
  // argmax is compared like the rest: small integers are exact in float32, so any
  // disagreement (a tie broken differently from PyTorch) is an error of at least 1.
  return [
    ['y', y],
    ['argmax', Float32Array.from(argmax)],
    ['dx', dx],
  ];
}

function runAvgPool(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const g = poolGeom(x, m);
  const y = new Float32Array(get(t, 'y').size);
  b.avgPoolForward(x.data, y, g);
  const dx = new Float32Array(x.size).fill(NaN);
  b.avgPoolBackward(get(t, 'dy').data, dx, g);
  return [
    ['y', y],
    ['dx', dx],
  ];
}

function runAdaptiveAvgPool(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const [n, c, h, w] = x.shape;
  const ho = num(m, 'ho'),
    wo = num(m, 'wo');
  const y = new Float32Array(n * c * ho * wo);
  b.adaptiveAvgPoolForward(x.data, y, n, c, h, w, ho, wo);
  const dx = new Float32Array(x.size).fill(NaN);
  b.adaptiveAvgPoolBackward(get(t, 'dy').data, dx, n, c, h, w, ho, wo);
  return [
    ['y', y],
    ['dx', dx],
  ];
}

function runLrn(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const [n, c, h, w] = x.shape;
  const scaling = m.alphaScaling;
  if (scaling !== 'per-size' && scaling !== 'absolute')
    throw new Error(`bad alphaScaling ${scaling}`);
  const p: LrnParams = {
    n,
    c,
    h,
    w,
    size: num(m, 'size'),
    alpha: num(m, 'alpha'),
    beta: num(m, 'beta'),
    k: num(m, 'k'),
    alphaScaling: scaling,
  };
  const y = new Float32Array(x.size),
    scale = new Float32Array(x.size);
  b.lrnForward(x.data, y, scale, p);
  const dx = new Float32Array(x.size).fill(NaN);
  b.lrnBackward(x.data, y, scale, get(t, 'dy').data, dx, p);
  return [
    ['y', y],
    ['dx', dx],
  ];
}

function runActivation(b: Backend, t: Tensors, m: Meta): Produced {
  const kind = m.activation as Activation;
  const x = get(t, 'x');
  const y = new Float32Array(x.size);
  b.activationForward(kind, x.data, y);
  const dx = new Float32Array(x.size).fill(NaN);
  b.activationBackward(kind, y, get(t, 'dy').data, dx);
  return [
    ['y', y],
    ['dx', dx],
  ];
}

function runDropout(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const mask = Uint8Array.from(get(t, 'mask').data);
  const y = new Float32Array(x.size).fill(NaN);
  b.dropoutApply(x.data, mask, num(m, 'scale'), y);
  return [['y', y]];
}

function runCrossEntropy(b: Backend, t: Tensors, m: Meta): Produced {
  const logits = get(t, 'logits');
  const [n, l] = logits.shape;
  const labels = Int32Array.from(get(t, 'labels').data);
  const probs = new Float32Array(n * l),
    dlogits = new Float32Array(n * l).fill(NaN);
  const loss = b.softmaxCrossEntropy(
    logits.data,
    labels,
    n,
    l,
    num(m, 'smoothing'),
    probs,
    dlogits,
  );
  return [
    ['loss', [loss]],
    ['probs', probs],
    ['dlogits', dlogits],
  ];
}

function runSgd(b: Backend, t: Tensors, m: Meta): Produced {
  // torch.optim.SGD with constant lr equals the paper's rule with v = −lr·buf (see tools/golden_layers.py).
  const lr = num(m, 'lr'),
    steps = num(m, 'steps');
  const w = Float32Array.from(get(t, 'w0').data);
  const v = new Float32Array(w.length);
  const produced: Produced = [];
  for (let s = 0; s < steps; s++) {
    b.sgdUpdate(w, get(t, `g${s}`).data, v, lr, num(m, 'momentum'), num(m, 'weight_decay'));
    produced.push([`w${s + 1}`, Float32Array.from(w)]);
  }
  produced.push([`buf${steps}`, v.map((vi) => -vi / lr)]);
  return produced;
}

const RUNNERS: Record<string, (b: Backend, t: Tensors, m: Meta) => Produced> = {
  conv2d: runConv,
  linear: runLinear,
  max_pool: runMaxPool,
  avg_pool: runAvgPool,
  adaptive_avg_pool: runAdaptiveAvgPool,
  lrn: runLrn,
  activation: runActivation,
  dropout: runDropout,
  cross_entropy: runCrossEntropy,
  sgd: runSgd,
};

// ---- comparison --------------------------------------------------------------------------

function compare(label: string, got: ArrayLike<number>, want: Tensor, tol: Tolerance): string {
  assert.equal(got.length, want.size, `${label}: ${got.length} values, fixture has ${want.size}`);
  let maxAbs = 0,
    maxRel = 0,
    worst = 0,
    worstRatio = -1;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want.data[i]);
    const ratio = err / (tol.atol + tol.rtol * Math.abs(want.data[i]));
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    } // NaN lands here too
    maxAbs = Math.max(maxAbs, err);
    if (want.data[i] !== 0) maxRel = Math.max(maxRel, err / Math.abs(want.data[i]));
  }
  const summary = `${label}: max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)}`;
  assert.ok(
    worstRatio <= 1,
    `${summary} (tolerance atol ${tol.atol} + rtol ${tol.rtol}·|want|); ` +
      `worst [${worst}] got ${got[worst]}, want ${want.data[worst]}`,
  );
  return summary;
}

// ---- the tests ------------------------------------------------------------------------------

const fixtures = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.safetensors'))
  .sort();
const backends = await backendsUnderTest();

test('golden fixtures are present for every kernel kind', () => {
  const kinds = new Set(fixtures.map((f) => readSafetensors(FIXTURE_DIR + f).metadata.kind));
  for (const kind of Object.keys(RUNNERS))
    assert.ok(kinds.has(kind), `no fixture of kind '${kind}' in ${FIXTURE_DIR}`);
});

for (const file of fixtures) {
  const { tensors, metadata } = readSafetensors(FIXTURE_DIR + file);
  const name = file.replace(/\.safetensors$/, '');
  for (const backend of backends) {
    test(`golden ${name} on ${backend.name}`, (t) => {
      const run = RUNNERS[metadata.kind];
      assert.ok(run, `${file}: unknown kind '${metadata.kind}'`);
      const tol = TOLERANCE[backend.name] ?? DEFAULT_TOLERANCE;
      const produced = run(backend, tensors, metadata);
      assert.ok(produced.length > 0);
      for (const [tensorName, got] of produced) {
        t.diagnostic(
          compare(`${name}/${tensorName} on ${backend.name}`, got, get(tensors, tensorName), tol),
        );
      }
    });
  }
}
