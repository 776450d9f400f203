// The bfloat16 linear weights packed once per write (native/linear_packs.h): from the second call
// of a version carrying the weight's tag (as nativeBackend passes it) the kernels take panels
// packed from that version of w and kept; the first call, and a call without a tag (the raw
// binding), pack as they go. Both compute the same sums in the same order, so the outputs must
// be bit for bit equal — forward at batch 8…512 (yᵀ = w·xᵀ) and backward dx (dxᵀ = wᵀ·dyᵀ
// against the former dx = dy·w) — and the panels must follow the tensor: after a cast (the
// recast after an optimiser step) or an upload into w, the next calls see the new values. At
// the AVX-512 levels (tile panels at amx, vdpbf16ps panels at avx512bf16, widened float32 panels
// at avx512); below
// them the tag is ignored (the portable path packs nothing).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nativeBackend, nativeBinding, nativeLoadError } from '../../src/backend/native/index.js';
import type { Isa } from '../../src/backend/native/binding.js';
import { initialize } from '../../src/models/init.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import { Net, type LayerSpec, type NetOptions } from '../../src/nn/net.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';

const required = process.env.CI === 'true';
const skip = !nativeBinding && !required ? `native addon unavailable: ${nativeLoadError}` : false;
const ISA_ORDER: Isa[] = ['scalar', 'avx2', 'avx512', 'avx512bf16', 'amx'];

function rand(len: number, rng: Rng): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}
function bf16(x: Float32Array): Uint16Array {
  const y = Tensor.of('bfloat16', [x.length]);
  nativeBackend!.cast({ x: new Tensor([x.length], x), y }, {});
  return y.data;
}
function assertSameBits(what: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} is ${got[i]}, unpacked ${want[i]}`);
}

interface Case {
  n: number;
  d: number;
  f: number;
}
// transposed forms at both ends of the batch range, edge tiles (rows < 14, columns < 32),
// several 256-deep slices and an odd last pair along D (forward) and along F (backward)
const CASES: Case[] = [
  { n: 8, d: 613, f: 45 },
  { n: 13, d: 77, f: 530 },
  { n: 33, d: 300, f: 140 },
  { n: 70, d: 300, f: 290 }, // above the tall-skinny forward's 64 columns: forward panels kept
];

function run(c: Case, tag: Int32Array | null, rng: Rng, w: Uint16Array) {
  const k = nativeBinding!.kernels;
  const x = rand(c.n * c.d, rng);
  const b = rand(c.f, rng);
  const dy = rand(c.n * c.f, rng);
  const y = new Float32Array(c.n * c.f);
  const dx = new Float32Array(c.n * c.d);
  const extra = tag ? [tag] : [];
  k.linearForward!([x, w, b, y, ...extra], { n: c.n, d: c.d, f: c.f, relu: true });
  k.linearBackward!([x, w, dy, dx, null, null, ...extra], { n: c.n, d: c.d, f: c.f });
  return { y, dx };
}

describe('packed bfloat16 linear weights', { skip }, () => {
  const levels = nativeBinding
    ? ISA_ORDER.slice(0, ISA_ORDER.indexOf(nativeBinding.supportedIsa()) + 1).filter(
        (l) => l === 'amx' || l === 'avx512bf16' || l === 'avx512',
      )
    : [];

  for (const isa of levels)
    it(`${isa}: packed once, bit for bit the unpacked products, at 1 and 2 threads`, () => {
      const b = nativeBinding!;
      const [saved, savedThreads] = [b.isa(), b.getThreads()];
      try {
        b.setIsa(isa);
        for (const threads of [1, 2]) {
          b.setThreads(threads);
          for (const c of CASES) {
            const what = `n=${c.n} d=${c.d} f=${c.f} ${threads} threads`;
            const w = bf16(rand(c.f * c.d, new Rng(c.d)));
            const tag = Int32Array.of(1_000_000 + c.d * 10 + threads, 0);
            const plain = run(c, null, new Rng(1), w);
            const first = run(c, tag, new Rng(1), w); // packs as it goes
            const second = run(c, tag, new Rng(1), w); // packs the panels and keeps them
            const third = run(c, tag, new Rng(1), w); // reuses them
            for (const [name, got] of [
              ['first', first],
              ['second', second],
              ['third', third],
            ] as const) {
              assertSameBits(`${what} forward (${name})`, got.y, plain.y);
              assertSameBits(`${what} dx (${name})`, got.dx, plain.dx);
            }
            // w written without a new version: the cache keeps the old panels (what the tag is
            // for); with the version bumped it repacks and follows w.
            const old = run(c, null, new Rng(1), w);
            w.set(bf16(rand(w.length, new Rng(c.d + 1))));
            const fresh = run(c, null, new Rng(1), w);
            const stale = run(c, tag, new Rng(1), w);
            // Stale panels are used where panels are kept: dx, and the forward above batch 64
            // (at batch ≤ 64 it reads w in place, on either engine, so it follows w).
            assertSameBits(`${what} stale panels: dx`, stale.dx, old.dx);
            if (c.n > 64) assertSameBits(`${what} stale panels`, stale.y, old.y);
            else assertSameBits(`${what} forward read in place`, stale.y, fresh.y);
            tag[1]++;
            for (const call of ['first', 'second', 'third']) {
              const repacked = run(c, tag, new Rng(1), w);
              assertSameBits(`${what} new version, ${call} call: forward`, repacked.y, fresh.y);
              assertSameBits(`${what} new version, ${call} call: dx`, repacked.dx, fresh.dx);
            }
            b.releaseLinearPanels(tag[0]);
          }
        }
      } finally {
        b.setIsa(saved);
        b.setThreads(savedThreads);
      }
    });

  it('nativeBackend: a cast or an upload into w is seen by the next calls', () => {
    const be = nativeBackend!;
    const c = { n: 8, d: 300, f: 45 };
    const rng = new Rng(3);
    const master = new Tensor([c.f, c.d], rand(c.f * c.d, rng));
    const w = be.alloc([c.f, c.d], 'bfloat16');
    const x = new Tensor([c.n, c.d], rand(c.n * c.d, rng));
    const b = new Tensor([c.f], rand(c.f, rng));
    const dy = new Tensor([c.n, c.f], rand(c.n * c.f, rng));
    const wData = (): Uint16Array => be.readSync!(w).data;
    // three calls of each: the third runs on the kept panels
    const products = (): { y: Float32Array; dx: Float32Array } => {
      const y = new Tensor([c.n, c.f]);
      const dx = new Tensor([c.n, c.d]);
      for (let call = 0; call < 3; call++) {
        be.linearForward({ x, w, b, y }, { ...c, relu: false });
        be.linearBackward({ x, w, dy, dx, dw: null, db: null }, c);
      }
      return { y: y.data, dx: dx.data };
    };
    const unpacked = (): { y: Float32Array; dx: Float32Array } => {
      const y = new Float32Array(c.n * c.f);
      const dx = new Float32Array(c.n * c.d);
      const k = nativeBinding!.kernels;
      k.linearForward!([x.data, wData(), b.data, y], { ...c, relu: false });
      k.linearBackward!([x.data, wData(), dy.data, dx, null, null], c);
      return { y, dx };
    };
    const expectUnpacked = (what: string): Float32Array => {
      const got = products();
      const want = unpacked();
      assertSameBits(`${what}: forward`, got.y, want.y);
      assertSameBits(`${what}: dx`, got.dx, want.dx);
      return got.y;
    };
    be.cast({ x: master, y: w }, {});
    const before = expectUnpacked('first cast');
    for (const step of [1, 2]) {
      master.data.set(rand(master.size, rng)); // an SGD step, say
      be.cast({ x: master, y: w }, {}); // both layouts were kept
      assert.deepEqual(wData(), bf16(master.data), `recast ${step}: y is the plain cast`);
      assert.notDeepEqual(expectUnpacked(`after recast ${step}`), before);
    }
    be.upload(Tensor.of('bfloat16', [c.f, c.d], bf16(rand(master.size, rng))), w);
    const uploaded = expectUnpacked('after an upload');
    assert.notDeepEqual(uploaded, before);
  });

  it('a bf16 net on native: after SGD steps, the same logits as a fresh net of its weights', async () => {
    const specs: LayerSpec[] = [
      { kind: 'flatten', name: 'flatten' },
      { kind: 'linear', name: 'fc1', out: 48 },
      { kind: 'relu', name: 'relu1' },
      { kind: 'linear', name: 'fc2', out: 'classes' },
    ];
    const opts: NetOptions = {
      input: [3, 8, 8],
      classes: 40,
      dropoutMode: 'inverted',
      precision: 'bf16',
    };
    const make = (): Net => new Net(specs, opts, nativeBackend!);
    const net = make();
    initialize(net, 'kaiming', 5);
    const rng = new Rng(9);
    const x = new Tensor([8, 3, 8, 8], rand(8 * 192, rng));
    const labels = Int32Array.from({ length: 8 }, (_, i) => (i * 7) % 40);
    const sgd = new Sgd(net.params, net.backend, { momentum: 0.9, weightDecay: 0 });
    // the second inference forward of a version runs on kept panels
    const logits = (n: Net): Float32Array => {
      n.forward(x, false);
      return Float32Array.from(nativeBackend!.readSync!(n.forward(x, false)).data);
    };
    const start = logits(net);
    for (let s = 0; s < 3; s++) {
      logits(net); // keeps panels of this version: the step must make them stale
      const loss = new SoftmaxLoss(net.backend);
      loss.run(net.forward(x, true), labels, 0, true);
      await loss.read();
      net.backward(loss.dlogits!);
      sgd.step(0.5);
    }
    // the native update wrote each bfloat16 copy itself (sgdUpdate's w16): no recast is pending
    for (const p of net.params)
      if (p.shadow) assert.equal(p.shadow.stale, false, `${p.name}: refreshed by the update`);
    const trained = logits(net);
    const fresh = make();
    fresh.loadStateDict(net.stateDict(), 'net');
    assertSameBits('logits after 3 steps', trained, logits(fresh));
    assert.notDeepEqual(trained, start, 'the steps moved the logits');
  });
});
