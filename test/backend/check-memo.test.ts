// compileCheck remembers the attribute values that passed (declare.ts): what it skips for them
// must never let a bad call through — a wrong tensor under remembered attributes, one changed
// attribute, an attribute object changed in place, a geometry pushed out of the memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCall,
  compileCheck,
  type AttrSchema,
  type KernelDecl,
} from '../../src/backend/declare.js';
import { KERNELS, type ConvGeom } from '../../src/backend/kernels.js';
import { Tensor } from '../../src/tensor/tensor.js';

const decl = KERNELS.conv2dForward as unknown as KernelDecl<AttrSchema, never>;

function geom(h: number): ConvGeom & { relu: boolean } {
  return {
    n: 1,
    cIn: 2,
    h,
    w: h,
    cOut: 3,
    kh: 3,
    kw: 3,
    stride: 1,
    pad: 1,
    groups: 1,
    ho: h,
    wo: h,
    relu: false,
  };
}
const args = (h: number) => ({
  x: new Tensor([1, 2, h, h]),
  w: new Tensor([3, 2, 3, 3]),
  b: new Tensor([3]),
  y: new Tensor([1, 3, h, h]),
});

test('a remembered geometry still checks every tensor', () => {
  const check = compileCheck('conv2dForward', decl);
  const t = args(5);
  check(t, geom(5));
  check(t, geom(5));
  assert.throws(
    () => check({ ...t, y: new Tensor([74]) }, geom(5)),
    /^TypeError: conv2dForward: y has 74 elements, expected 75$/,
  );
  assert.throws(
    () => check({ ...t, x: Tensor.of('int32', [50]) as never }, geom(5)),
    /x must be float32, got int32/,
  );
  assert.throws(() => check({ ...t, w: null }, geom(5)), /conv2dForward: w must not be null/);
  check({ ...t, b: null }, geom(5)); // optional
  assert.throws(() => check(t, geom(6)), /x has 50 elements, expected 72/);
});

test('attributes that differ from a remembered set in one value, or in place, are checked again', () => {
  const check = compileCheck('conv2dForward', decl);
  const t = args(5);
  const g: Record<string, number | boolean> = geom(5);
  check(t, g);
  assert.throws(() => check(t, { ...g, ho: 4 }), /conv2dForward: ho\/wo \(4×5\) do not match/);
  assert.throws(() => check(t, { ...g, pad: -1 }), /attribute pad must be an integer ≥ 0, got -1/);
  assert.throws(() => check(t, { ...g, relu: 1 as never }), /attribute relu must be a boolean/);
  g.groups = 2; // the same object, changed
  assert.throws(() => check(t, g), /must be divisible by groups \(2\)/);
  // a failure is not remembered: the same bad values fail again
  assert.throws(() => check(t, g), /must be divisible by groups \(2\)/);
});

test('a geometry pushed out of the memory by 20 others is checked in full again', () => {
  const check = compileCheck('conv2dForward', decl);
  check(args(5), geom(5));
  for (let h = 6; h < 26; h++) check(args(h), geom(h));
  check(args(5), geom(5));
  assert.throws(() => check(args(6), geom(5)), /x has 72 elements, expected 50/);
  assert.throws(() => check(args(5), { ...geom(5), wo: 9 }), /ho\/wo \(5×9\)/);
});

test('checkCall keeps one prepared check per declaration and name', () => {
  const t = args(5);
  checkCall('conv2dForward', decl, t, geom(5));
  assert.throws(
    () => checkCall('convAlias', decl, { ...t, y: new Tensor([1]) }, geom(5)),
    /^TypeError: convAlias: y has 1 elements/,
  );
  assert.throws(
    () => checkCall('conv2dForward', decl, { ...t, y: new Tensor([1]) }, geom(5)),
    /^TypeError: conv2dForward: y/,
  );
});
