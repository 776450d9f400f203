// The native mixed-precision kernels (bfloat16 w: conv2dForward, conv2dBackward, linearForward,
// linearBackward; BF16-CONTRACT.md) against the oracle "widen w, round x and dy to bfloat16, run
// the fp32 ref kernel", on every ISA level this CPU has (amx's tile GEMMs, avx512bf16's vdpbf16ps
// GEMMs, avx512's FMA on widened operands, and the portable path below) at 1 and 2 threads. Shapes are small but hit what the kernels branch
// on: groups 2, stride 4, padding, odd depths (an odd last bfloat16 pair), several 256-deep
// slices, edge tiles (rows < 14, columns < 32 and < 16), relu on and off, null bias and null
// outputs, batch 1 (parallel inside each GEMM) and batch ≥ 2·threads (parallel over images),
// linear at batch ≤ 4 (the GEMV), 8…512 (the transposed product) and beyond.
//
// The kernels are called through the raw binding (nativeBinding.kernels: positional host arrays,
// a bfloat16 w as a Uint16Array); one case goes through nativeBackend and its checks.
//
// Tolerance: the rounded inputs are identical, only the float32 sums reorder:
// |native − oracle| ≤ tol·(1 + |oracle|), tol = 1e-6·(8 + √R), R the reduction length (as
// test/backend/native.test.ts). Not rounding x or dy would miss by ~1e-3: one case checks that
// the tolerance sees it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convOutputSize, type ConvGeom } from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { bf16ToFloat, floatToBf16 } from '../../src/backend/ref/elementwise.js';
import { nativeBackend, nativeBinding, nativeLoadError } from '../../src/backend/native/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { packageRoot, type Isa } from '../../src/backend/native/binding.js';
import { Rng } from '../../src/util/rng.js';
import { positional } from '../helpers/positional.js';

const required = process.env.CI === 'true';
const skip = !nativeBinding && !required ? `native addon unavailable: ${nativeLoadError}` : false;
const ISA_ORDER: Isa[] = ['scalar', 'avx2', 'avx512', 'avx512bf16', 'amx'];
const ref = positional(refBackend);

function rand(len: number, rng: Rng): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}
function toBf16(x: Float32Array): Uint16Array {
  const y = new Uint16Array(x.length);
  floatToBf16(x, y);
  return y;
}
function widen(x: Uint16Array): Float32Array {
  const y = new Float32Array(x.length);
  bf16ToFloat(x, y);
  return y;
}
/** x rounded to bfloat16 and back (the oracle's input). */
function rounded(x: Float32Array): Float32Array {
  return widen(toBf16(x));
}

function maxScaledError(got: Float32Array, want: Float32Array): { err: number; at: number } {
  let err = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}
function expectClose(what: string, got: Float32Array, want: Float32Array, reduction: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const tol = 1e-6 * (8 + Math.sqrt(reduction));
  const { err, at } = maxScaledError(got, want);
  assert.ok(
    err <= tol,
    `${what}: max scaled error ${err.toExponential(2)} > ${tol.toExponential(2)} at ${at} ` +
      `(native ${got[at]}, oracle ${want[at]})`,
  );
}

function configs(): { isa: Isa; threads: number }[] {
  const isas = ISA_ORDER.slice(0, ISA_ORDER.indexOf(nativeBinding!.supportedIsa()) + 1).reverse();
  return isas.flatMap((isa) => [1, 2].map((threads) => ({ isa, threads })));
}
function everywhere(body: (tag: string) => void): void {
  for (const { isa, threads } of configs()) {
    nativeBinding!.setIsa(isa);
    nativeBinding!.setThreads(threads);
    body(`[${isa}, ${threads} thread${threads > 1 ? 's' : ''}]`);
  }
}

function convGeom(
  n: number,
  cIn: number,
  h: number,
  cOut: number,
  k: number,
  stride: number,
  pad: number,
  groups: number,
): ConvGeom {
  const o = convOutputSize(h, k, stride, pad);
  return { n, cIn, h, w: h + 2, cOut, kh: k, kw: k, stride, pad, groups, ho: o, wo: 0 };
}
function fixWo(g: ConvGeom): ConvGeom {
  return { ...g, wo: convOutputSize(g.w, g.kw, g.stride, g.pad) };
}

// n, Ci, H (W = H + 2), Co, k, stride, pad, groups
const CONVS: ConvGeom[] = [
  convGeom(1, 3, 23, 8, 11, 4, 0, 1), // conv1-like, batch 1: Kc = 363 (odd, two slices)
  convGeom(5, 3, 27, 16, 11, 4, 2, 1), // stride 4 with padding, over images
  convGeom(5, 4, 9, 6, 5, 1, 2, 2), // conv2-like: 5×5 pad 2, two towers
  convGeom(1, 6, 13, 30, 3, 1, 1, 2), // 13×13 map at batch 1: 14-row tiles + edges, groups 2
  convGeom(4, 40, 6, 17, 3, 1, 1, 1), // Kc = 360: two depth slices; 17 rows = 14 + 3
  convGeom(3, 5, 7, 9, 3, 2, 1, 1), // stride 2, tiny map
  convGeom(2, 3, 5, 4, 1, 1, 0, 1), // 1×1
  convGeom(11, 3, 17, 8, 3, 1, 1, 1), // 11 chunks of 1 image: backward tasks of 2 or 3 chunks
  convGeom(4, 128, 6, 18, 3, 1, 1, 2), // Kc = 576 per group: dX in two row blocks, a channel split
  convGeom(1, 64, 13, 40, 3, 1, 1, 1), // batch 1, one product split by columns: 6 panels + 3
  convGeom(1, 96, 5, 100, 3, 1, 1, 1), // batch 1, split by rows: 4 tiles | 3 tiles + 2 rows
  // amx's direct convolution (native/amx_conv.h: Co/G a multiple of 16; a stride s > 1 through
  // the input's space-to-depth, cig·s² channels a position and the kernel cut ⌈K / s⌉ square)
  convGeom(3, 36, 9, 32, 3, 1, 1, 1), // Ci 36: channels padded to 64, rows wrapping in blocks
  convGeom(1, 64, 13, 64, 5, 1, 2, 2), // conv2-like at batch 1: 5×5, two towers, 6 blocks each
  convGeom(2, 16, 7, 48, 3, 1, 0, 1), // 48 = 32 + a 16-channel block, no padding
  convGeom(2, 3, 35, 64, 11, 4, 2, 1), // conv1-like: 48 channels a position, taps 3 × 3 (zero past 11)
  convGeom(3, 20, 11, 32, 3, 2, 1, 2), // stride 2, two towers: 40 channels a position, taps 2 × 2
  convGeom(2, 5, 14, 16, 5, 3, 1, 1), // stride 3: 15 lanes a vector, the last columns past the image
].map(fixWo);

// n, d, f: GEMV (n ≤ 4), transposed (8 ≤ n ≤ 512, d, f ≥ 4n), direct; odd depths. Below
// avx512 the transposed product is the tall-skinny one (f ≥ 64 tile rows, d ≥ a 256-deep slice)
// for two of them: whole 16-column panels (w's rows read by the in-place kernel) and not.
const LINEARS: [number, number, number][] = [
  [1, 301, 37],
  [3, 513, 20],
  [2, 1, 5],
  [9, 300, 100],
  [16, 260, 390],
  [10, 300, 389],
  [6, 70, 33],
  [33, 257, 29],
];

describe('native bfloat16 kernels vs the rounded fp32 oracle', { skip }, () => {
  let savedIsa: Isa;
  let savedThreads: number;
  before(() => {
    if (required)
      assert.ok(nativeBinding, `CI=true but the addon did not load: ${nativeLoadError}`);
    savedIsa = nativeBinding!.isa();
    savedThreads = nativeBinding!.getThreads();
  });
  after(() => {
    nativeBinding!.setIsa(savedIsa);
    nativeBinding!.setThreads(savedThreads);
  });

  it('detects AVX512-BF16 and AMX where the CPU has them, and uses the faster engine by default', () => {
    const flags = (() => {
      try {
        return readFileSync('/proc/cpuinfo', 'utf8');
      } catch {
        return null;
      }
    })();
    const supported = nativeBinding!.supportedIsa();
    if (flags !== null && process.arch === 'x64') {
      const has = /\bavx512_bf16\b/.test(flags) && /\bavx512bw\b/.test(flags);
      // Linux lists amx_tile only where it can hand out the tile state (arch_prctl grants it)
      const amx = has && /\bamx_tile\b/.test(flags) && /\bamx_bf16\b/.test(flags);
      const want = amx ? 'amx' : has ? 'avx512bf16' : null;
      if (want) assert.equal(supported, want, '/proc/cpuinfo vs supportedIsa');
      else assert.ok(supported !== 'avx512bf16' && supported !== 'amx', supported);
    }
    const best = nativeBinding!.bestIsa();
    if (!process.env.ALEXNET_ISA) assert.equal(savedIsa, best, 'the level in use by default');
    const peak = nativeBinding!.peakBf16Gflops(0.05);
    const tiles = nativeBinding!.peakAmxGflops(0.05);
    if (supported === 'amx') {
      // the tiles outrun both vector engines many times over (the Intel Xeon here: 7.5 TFLOP/s
      // on 2 threads against vdpbf16ps's 0.24 and the FMA's 0.48)
      assert.equal(best, 'amx');
      assert.ok(tiles > 4 * nativeBinding!.peakGflops(0.05), `tiles ${tiles} GFLOP/s`);
      assert.ok(tiles > 4 * peak, `tiles ${tiles} vs vdpbf16ps ${peak} GFLOP/s`);
      return;
    }
    assert.ok(Number.isNaN(tiles), `peakAmxGflops without AMX: ${tiles}`);
    if (supported !== 'avx512bf16') {
      assert.equal(best, supported);
      assert.ok(Number.isNaN(peak), `peakBf16Gflops without AVX512-BF16: ${peak}`);
      return;
    }
    // The default is avx512bf16 exactly where vdpbf16ps does more FLOP/s than the FMA (AMD Zen 4:
    // 2×; the Intel Xeon without AMX: 0.5×), so one peak against the other tells which it is.
    const threads = nativeBinding!.getThreads();
    nativeBinding!.setThreads(1);
    nativeBinding!.setIsa('avx512');
    const fma = nativeBinding!.peakGflops(0.05);
    const dot = nativeBinding!.peakBf16Gflops(0.05);
    nativeBinding!.setIsa(savedIsa);
    nativeBinding!.setThreads(threads);
    assert.ok(dot > 0 && fma > 0, `peaks ${dot}, ${fma}`);
    assert.equal(
      best,
      dot > fma ? 'avx512bf16' : 'avx512',
      `vdpbf16ps ${dot} vs FMA ${fma} GFLOP/s`,
    );
  });

  it('the native backend takes bfloat16 GEMM calls itself (no fallback) and checks them', () => {
    for (const k of ['conv2dForward', 'conv2dBackward', 'linearForward', 'linearBackward'] as const)
      assert.ok(nativeBackend!.supports(k, ['float32', 'bfloat16']), k);
    const [n, d, f] = [2, 33, 5];
    const rng = new Rng(11);
    const x = rand(n * d, rng);
    const w = toBf16(rand(f * d, rng));
    const want = new Float32Array(n * f);
    ref.linearForward(rounded(x), widen(w), null, want, n, d, f, true);
    const y = new Tensor([n, f]);
    const args = { x: new Tensor([n, d], x), w: Tensor.of('bfloat16', [f, d], w), b: null, y };
    nativeBackend!.linearForward(args, { n, d, f, relu: true });
    expectClose('nativeBackend linearForward', y.data, want, d);
    const short = { ...args, w: Tensor.of('bfloat16', [f, d - 1], w.subarray(f)) };
    assert.throws(() => nativeBackend!.linearForward(short, { n, d, f, relu: true }));
  });

  it('ALEXNET_ISA=avx512 selects the fp32 AVX-512 level below avx512bf16', (t) => {
    const isas = ISA_ORDER.slice(0, ISA_ORDER.indexOf(nativeBinding!.supportedIsa()) + 1);
    if (!isas.includes('avx512')) return t.skip('no AVX-512 on this CPU');
    const addon = join(packageRoot(), 'build', 'Release', 'alexnet_native.node');
    const got = execFileSync(
      process.execPath,
      ['-e', `process.stdout.write(require(${JSON.stringify(addon)}).isa())`],
      { env: { ...process.env, ALEXNET_ISA: 'avx512' } },
    ).toString();
    assert.equal(got, 'avx512');
  });

  it('conv2dForward', () => {
    const rng = new Rng(12);
    const conv = nativeBinding!.kernels.conv2dForward!;
    for (const g of CONVS) {
      const cig = g.cIn / g.groups;
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = toBf16(rand(g.cOut * cig * g.kh * g.kw, rng));
      const b = rand(g.cOut, rng);
      const yLen = g.n * g.cOut * g.ho * g.wo;
      const kc = cig * g.kh * g.kw;
      for (const [bias, relu] of [
        [b, true],
        [null, false],
      ] as const) {
        const want = new Float32Array(yLen);
        ref.conv2dForward(rounded(x), widen(w), bias, want, g, relu);
        everywhere((tag) => {
          const y = new Float32Array(yLen).fill(Number.NaN);
          conv([x, w, bias, y], { ...g, relu });
          expectClose(`conv fwd ${JSON.stringify(g)} relu=${relu} ${tag}`, y, want, kc);
        });
      }
    }
  });

  it('conv2dBackward, every subset of outputs', () => {
    const rng = new Rng(13);
    const conv = nativeBinding!.kernels.conv2dBackward!;
    for (const g of CONVS) {
      const cig = g.cIn / g.groups;
      const xLen = g.n * g.cIn * g.h * g.w;
      const wLen = g.cOut * cig * g.kh * g.kw;
      const P = g.ho * g.wo;
      const x = rand(xLen, rng);
      const w = toBf16(rand(wLen, rng));
      const dy = rand(g.n * g.cOut * P, rng);
      const want = {
        dx: new Float32Array(xLen),
        dw: new Float32Array(wLen),
        db: new Float32Array(g.cOut),
      };
      ref.conv2dBackward(rounded(x), widen(w), rounded(dy), want.dx, want.dw, null, g);
      ref.conv2dBackward(x, widen(w), dy, null, null, want.db, g); // db from the unrounded dy
      const red = { dx: (g.cOut / g.groups) * g.kh * g.kw, dw: g.n * P, db: g.n * P };
      for (const outs of [['dx', 'dw', 'db'], ['dx'], ['dw'], ['db'], ['dx', 'db']] as const) {
        everywhere((tag) => {
          const got = {
            dx: outs.includes('dx' as never) ? new Float32Array(xLen).fill(Number.NaN) : null,
            dw: outs.includes('dw' as never) ? new Float32Array(wLen).fill(Number.NaN) : null,
            db: outs.includes('db' as never) ? new Float32Array(g.cOut).fill(Number.NaN) : null,
          };
          conv([x, w, dy, got.dx, got.dw, got.db], g);
          for (const k of outs)
            expectClose(`conv ${k} ${JSON.stringify(g)} ${tag}`, got[k]!, want[k], red[k]);
        });
      }
    }
  });

  it('linearForward: GEMV, transposed and direct products', () => {
    const rng = new Rng(14);
    const lin = nativeBinding!.kernels.linearForward!;
    for (const [n, d, f] of LINEARS) {
      const x = rand(n * d, rng);
      const w = toBf16(rand(f * d, rng));
      const b = rand(f, rng);
      for (const [bias, relu] of [
        [b, true],
        [b, false],
        [null, false],
      ] as const) {
        const want = new Float32Array(n * f);
        ref.linearForward(rounded(x), widen(w), bias, want, n, d, f, relu);
        everywhere((tag) => {
          const y = new Float32Array(n * f).fill(Number.NaN);
          lin([x, w, bias, y], { n, d, f, relu });
          expectClose(`linear fwd ${n}×${d}→${f} relu=${relu} ${tag}`, y, want, d);
        });
      }
    }
  });

  it('below avx512, linearForward is the fp32 kernel on the rounded x and widened w, bit for bit', () => {
    const rng = new Rng(16);
    const lin = nativeBinding!.kernels.linearForward!;
    const levels = configs().filter(({ isa }) => isa === 'avx2' || isa === 'scalar');
    for (const [n, d, f] of LINEARS) {
      const x = rand(n * d, rng);
      const w = toBf16(rand(f * d, rng));
      const b = rand(f, rng);
      for (const { isa, threads } of levels) {
        nativeBinding!.setIsa(isa);
        nativeBinding!.setThreads(threads);
        const want = new Float32Array(n * f);
        lin([rounded(x), widen(w), b, want], { n, d, f, relu: true });
        const y = new Float32Array(n * f).fill(Number.NaN);
        lin([x, w, b, y], { n, d, f, relu: true });
        const at = y.findIndex((v, i) => !Object.is(v, want[i]));
        assert.equal(
          at,
          -1,
          `${n}×${d}→${f} [${isa}, ${threads}]: ${y[at]} against ${want[at]} at ${at}`,
        );
      }
    }
  });

  it('linearBackward, every subset of outputs', () => {
    const rng = new Rng(15);
    const lin = nativeBinding!.kernels.linearBackward!;
    for (const [n, d, f] of LINEARS) {
      const x = rand(n * d, rng);
      const w = toBf16(rand(f * d, rng));
      const dy = rand(n * f, rng);
      const want = {
        dx: new Float32Array(n * d),
        dw: new Float32Array(f * d),
        db: new Float32Array(f),
      };
      ref.linearBackward(rounded(x), widen(w), rounded(dy), want.dx, want.dw, null, n, d, f);
      ref.linearBackward(x, widen(w), dy, null, null, want.db, n, d, f);
      const red = { dx: f, dw: n, db: n };
      for (const outs of [['dx', 'dw', 'db'], ['dx'], ['dw'], ['db']] as const) {
        everywhere((tag) => {
          const got = {
            dx: outs.includes('dx' as never) ? new Float32Array(n * d).fill(Number.NaN) : null,
            dw: outs.includes('dw' as never) ? new Float32Array(f * d).fill(Number.NaN) : null,
            db: outs.includes('db' as never) ? new Float32Array(f).fill(Number.NaN) : null,
          };
          lin([x, w, dy, got.dx, got.dw, got.db], { n, d, f });
          for (const k of outs)
            expectClose(`linear ${k} ${n}×${d}→${f} ${tag}`, got[k]!, want[k], red[k]);
        });
      }
    }
  });

  it('rounds x: the unrounded fp32 product is outside the tolerance', () => {
    const rng = new Rng(16);
    const [n, d, f] = [9, 300, 100];
    const x = rand(n * d, rng);
    const w = toBf16(rand(f * d, rng));
    const unrounded = new Float32Array(n * f);
    ref.linearForward(x, widen(w), null, unrounded, n, d, f, false);
    everywhere((tag) => {
      const y = new Float32Array(n * f);
      nativeBinding!.kernels.linearForward!([x, w, null, y], { n, d, f, relu: false });
      const { err } = maxScaledError(y, unrounded);
      assert.ok(err > 1e-6 * (8 + Math.sqrt(d)), `${tag}: matches unrounded x (${err})`);
    });
  });

  it('the bfloat16 engines (amx, avx512bf16, avx512) agree on an AlexNet-like conv at batch 1 and 4', (t) => {
    const levels = ISA_ORDER.slice(2, ISA_ORDER.indexOf(nativeBinding!.supportedIsa()) + 1);
    if (levels.length < 2) return t.skip('no AVX512-BF16 on this CPU');
    const rng = new Rng(17);
    for (const n of [1, 4]) {
      const g = fixWo(convGeom(n, 32, 13, 64, 3, 1, 1, 2));
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = toBf16(rand(g.cOut * (g.cIn / 2) * 9, rng));
      const b = rand(g.cOut, rng);
      const out = (isa: Isa): Float32Array => {
        nativeBinding!.setIsa(isa);
        assert.equal(nativeBinding!.isa(), isa);
        const y = new Float32Array(g.n * g.cOut * g.ho * g.wo);
        nativeBinding!.kernels.conv2dForward!([x, w, b, y], { ...g, relu: true });
        return y;
      };
      const fma = out('avx512');
      for (const isa of levels.slice(1))
        expectClose(`${isa} vs avx512, n = ${n}`, out(isa), fma, 16 * 9);
    }
  });
});
