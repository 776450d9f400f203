// The precision cast float32 ↔ bfloat16 on every backend, against an oracle written from the
// definition: the bfloat16 nearest to x in float64 arithmetic, a tie going to the even one; NaN
// stays NaN (quiet, same sign); ±Inf and ±0 stay themselves; bfloat16 → float32 is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { backendsUnderTest } from '../helpers/backends.js';

const backends = await backendsUnderTest();

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
const bf16Value = (h: number): number => ((bits[0] = h << 16), asFloat[0]);

/** The definition, one value at a time (bits of a float32 → bits of a bfloat16). */
function nearestBf16(u: number): number {
  bits[0] = u;
  const x = asFloat[0];
  if (Number.isNaN(x)) return (u >>> 16) | 0x40;
  const lo = u >>> 16; // truncation: toward zero in magnitude
  if ((u & 0xffff) === 0) return lo;
  const hi = lo + 1; // the next bfloat16 away from zero (the exponent carries; max → Inf)
  // Rounding treats Inf as the next step after the largest finite value: 2¹²⁸.
  const hiValue = (hi & 0x7f80) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bf16Value(hi);
  const dLo = Math.abs(x - bf16Value(lo));
  const dHi = Math.abs(hiValue - x);
  if (dLo !== dHi) return dLo < dHi ? lo : hi;
  return lo % 2 === 0 ? lo : hi;
}

function toBf16(b: (typeof backends)[number], u: Uint32Array): Uint16Array {
  const x = new Tensor([u.length], new Float32Array(u.buffer.slice(0)));
  const y = Tensor.of('bfloat16', [u.length]);
  b.cast({ x, y }, {});
  return y.data;
}

const EDGES = [
  0x3f800000, // 1
  0x3f808000, // 1 + 2⁻⁸: a tie, to the even 0x3f80
  0x3f818000, // a tie, to the even 0x3f82
  0x3f808001, // just above a tie: up
  0x3f807fff, // just below a tie: down
  0x7f7fffff, // the largest float32: rounds to +Inf
  0x7f800000, // +Inf
  0xff800000, // −Inf
  0x7fc00000, // quiet NaN
  0x7f800001, // signalling NaN with its payload below bfloat16's bits: must not become Inf
  0xff800001, // negative signalling NaN
  0x80000000, // −0
  0x00000001, // the smallest subnormal: to +0
  0x00008000, // a subnormal tie: to the even 0
  0x00018000, // a subnormal tie: to the even 0x0002
  0xbf7fffff, // −(1 − 2⁻²⁴): rounds to −1
];

for (const b of backends) {
  test(`cast float32 → bfloat16 on ${b.name}: round to nearest even, NaN kept, edges`, () => {
    assert.ok(b.supports('cast', ['float32', 'bfloat16']));
    const u = Uint32Array.from(EDGES);
    const got = toBf16(b, u);
    EDGES.forEach((e, i) =>
      assert.equal(got[i], nearestBf16(e), `0x${e.toString(16)} → 0x${got[i].toString(16)}`),
    );
    assert.equal(got[1], 0x3f80);
    assert.equal(got[2], 0x3f82);
    assert.equal(got[5], 0x7f80);
    assert.equal(got[9], 0x7fc0);
    assert.equal(got[10], 0xffc0);
  });

  test(`cast float32 → bfloat16 on ${b.name}: 200 000 random bit patterns match the definition`, () => {
    const rng = new Rng(31);
    const u = new Uint32Array(200_000); // > 2¹⁵: the native kernel's parallel path
    for (let i = 0; i < u.length; i++) u[i] = rng.nextU32();
    for (let i = 0; i < u.length; i += 7) u[i] = (u[i] & 0xffff0000) | 0x8000; // many ties
    const got = toBf16(b, u);
    for (let i = 0; i < u.length; i++)
      if (got[i] !== nearestBf16(u[i]))
        assert.fail(
          `0x${u[i].toString(16)} → 0x${got[i].toString(16)}, want 0x${nearestBf16(u[i]).toString(16)}`,
        );
  });

  test(`cast bfloat16 → float32 on ${b.name} is exact, and back is the identity`, () => {
    const all = Tensor.of(
      'bfloat16',
      [65536],
      Uint16Array.from({ length: 65536 }, (_, i) => i),
    );
    const f = new Tensor([65536]);
    b.cast({ x: all, y: f }, {});
    const back = Tensor.of('bfloat16', [65536]);
    b.cast({ x: f, y: back }, {});
    for (let h = 0; h < 65536; h++) {
      const v = bf16Value(h);
      if (Number.isNaN(v)) {
        assert.ok(Number.isNaN(f.data[h]), `0x${h.toString(16)}`);
        assert.equal(back.data[h] >> 15, h >> 15, `sign of NaN 0x${h.toString(16)}`);
        assert.ok(Number.isNaN(bf16Value(back.data[h])));
      } else {
        assert.ok(Object.is(f.data[h], v), `0x${h.toString(16)}: ${f.data[h]} vs ${v}`);
        assert.equal(back.data[h], h);
      }
    }
    const copy = new Tensor([65536]);
    b.cast({ x: f, y: copy }, {});
    assert.deepEqual(new Uint32Array(copy.data.buffer), new Uint32Array(f.data.buffer));
  });
}

test('cast refuses a dtype it does not take and a size that differs', () => {
  const b = backends[0];
  assert.throws(
    () => b.cast({ x: Tensor.of('int32', [2]) as never, y: new Tensor([2]) }, {}),
    /cast: x must be float32 or bfloat16, got int32/,
  );
  assert.throws(
    () => b.cast({ x: new Tensor([2]), y: Tensor.of('bfloat16', [3]) }, {}),
    /cast: y has 3 elements, expected 2/,
  );
});
