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
import { Tensor } from '../../src/tensor/tensor.js';
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

/** A float32 output tensor of `n` elements filled with NaN: the kernel must overwrite it. */
const out = (n: number): Tensor => new Tensor([n], new Float32Array(n).fill(NaN));

function runConv(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x'),
    w = get(t, 'w'),
    y = get(t, 'y');
  const bias = m.bias === '1' ? get(t, 'b') : null;
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
  const yPlain = out(y.size);
  const yRelu = out(y.size);
  b.conv2dForward({ x, w, b: bias, y: yPlain }, { ...g, relu: false });
  b.conv2dForward({ x, w, b: bias, y: yRelu }, { ...g, relu: true });
  const dx = out(x.size);
  const dw = out(w.size);
  const db = bias ? out(cOut) : null;
  b.conv2dBackward({ x, w, dy: get(t, 'dy'), dx, dw, db }, g);
  const produced: Produced = [
    ['y', yPlain.data],
    ['y_relu', yRelu.data],
    ['dx', dx.data],
    ['dw', dw.data],
  ];
  if (db) produced.push(['db', db.data]);
  return produced;
}

function runLinear(b: Backend, t: Tensors): Produced {
  const x = get(t, 'x'),
    w = get(t, 'w'),
    bias = get(t, 'b');
  const [n, d] = x.shape;
  const f = w.shape[0];
  const y = out(n * f),
    yRelu = out(n * f);
  b.linearForward({ x, w, b: bias, y }, { n, d, f, relu: false });
  b.linearForward({ x, w, b: bias, y: yRelu }, { n, d, f, relu: true });
  const dx = out(x.size),
    dw = out(w.size),
    db = out(f);
  b.linearBackward({ x, w, dy: get(t, 'dy'), dx, dw, db }, { n, d, f });
  return [
    ['y', y.data],
    ['y_relu', yRelu.data],
    ['dx', dx.data],
    ['dw', dw.data],
    ['db', db.data],
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
  const y = out(get(t, 'y').size);
  const argmax = Tensor.of('int32', [y.size]);
  b.maxPoolForward({ x, y, argmax }, g);
  const dx = out(x.size);
  b.maxPoolBackward({ dy: get(t, 'dy'), argmax, dx }, g);
  // argmax is compared like the rest: small integers are exact in float32, so any
  // disagreement (a tie broken differently from PyTorch) is an error of at least 1.
  return [
    ['y', y.data],
    ['argmax', Float32Array.from(argmax.data)],
    ['dx', dx.data],
  ];
}

function runAvgPool(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const g = poolGeom(x, m);
  const y = out(get(t, 'y').size);
  b.avgPoolForward({ x, y }, g);
  const dx = out(x.size);
  b.avgPoolBackward({ dy: get(t, 'dy'), dx }, g);
  return [
    ['y', y.data],
    ['dx', dx.data],
  ];
}

function runAdaptiveAvgPool(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const [n, c, h, w] = x.shape;
  const ho = num(m, 'ho'),
    wo = num(m, 'wo');
  const y = out(n * c * ho * wo);
  b.adaptiveAvgPoolForward({ x, y }, { n, c, h, w, ho, wo });
  const dx = out(x.size);
  b.adaptiveAvgPoolBackward({ dy: get(t, 'dy'), dx }, { n, c, h, w, ho, wo });
  return [
    ['y', y.data],
    ['dx', dx.data],
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
  const y = out(x.size),
    scale = out(x.size);
  b.lrnForward({ x, y, scale }, p);
  const dx = out(x.size);
  b.lrnBackward({ x, y, scale, dy: get(t, 'dy'), dx }, p);
  return [
    ['y', y.data],
    ['dx', dx.data],
  ];
}

function runActivation(b: Backend, t: Tensors, m: Meta): Produced {
  const kind = m.activation as Activation;
  const x = get(t, 'x');
  const y = out(x.size);
  b.activationForward({ x, y }, { kind });
  const dx = out(x.size);
  b.activationBackward({ y, dy: get(t, 'dy'), dx }, { kind });
  return [
    ['y', y.data],
    ['dx', dx.data],
  ];
}

function runDropout(b: Backend, t: Tensors, m: Meta): Produced {
  const x = get(t, 'x');
  const mask = Tensor.of('uint8', [x.size], Uint8Array.from(get(t, 'mask').data));
  const y = out(x.size);
  b.dropoutApply({ x, mask, y }, { scale: num(m, 'scale') });
  return [['y', y.data]];
}

function runCrossEntropy(b: Backend, t: Tensors, m: Meta): Produced {
  const logits = get(t, 'logits');
  const [n, l] = logits.shape;
  const labels = Tensor.of('int32', [n], Int32Array.from(get(t, 'labels').data));
  const probs = out(n * l),
    dlogits = out(n * l),
    loss = out(1);
  b.softmaxCrossEntropy(
    { logits, labels, probs, dlogits, loss },
    { n, l, smoothing: num(m, 'smoothing') },
  );
  return [
    ['loss', loss.data],
    ['probs', probs.data],
    ['dlogits', dlogits.data],
  ];
}

function runSgd(b: Backend, t: Tensors, m: Meta): Produced {
  // torch.optim.SGD with constant lr equals the paper's rule with v = −lr·buf (see tools/golden_layers.py).
  const lr = num(m, 'lr'),
    steps = num(m, 'steps');
  const w = new Tensor([get(t, 'w0').size], Float32Array.from(get(t, 'w0').data));
  const v = new Tensor([w.size]);
  const produced: Produced = [];
  for (let s = 0; s < steps; s++) {
    b.sgdUpdate(
      { w, g: get(t, `g${s}`), v, w16: null },
      { lr, momentum: num(m, 'momentum'), weightDecay: num(m, 'weight_decay') },
    );
    produced.push([`w${s + 1}`, Float32Array.from(w.data)]);
  }
  produced.push([`buf${steps}`, v.data.map((vi) => -vi / lr)]);
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

/** The fixture tensors each kind's runner takes as inputs; every other tensor of a fixture is an
 *  expected output, and the runner must produce each of them (a runner that forgets one fails). */
const INPUTS: Record<string, RegExp> = {
  conv2d: /^(x|w|b|dy)$/,
  linear: /^(x|w|b|dy)$/,
  max_pool: /^(x|dy)$/,
  avg_pool: /^(x|dy)$/,
  adaptive_avg_pool: /^(x|dy)$/,
  lrn: /^(x|dy)$/,
  activation: /^(x|dy)$/,
  dropout: /^(x|mask)$/,
  cross_entropy: /^(logits|labels)$/,
  sgd: /^(w0|g\d+)$/,
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
      const outputs = [...tensors.keys()].filter((k) => !INPUTS[metadata.kind].test(k)).sort();
      assert.deepEqual(
        produced.map(([k]) => k).sort(),
        outputs,
        `${file}: the runner must compare exactly the fixture's outputs`,
      );
      for (const [tensorName, got] of produced) {
        t.diagnostic(
          compare(`${name}/${tensorName} on ${backend.name}`, got, get(tensors, tensorName), tol),
        );
      }
    });
  }
}
