// The vocabulary kernels are declared in (see kernels.ts for the table itself), the TypeScript
// types derived from a declaration, and the one argument check every backend runs.
//
// A declaration names, for each tensor argument, the dtypes it accepts, its shape as a function
// of the attributes (or `like` another argument, or any shape), whether it may be null and
// whether the kernel writes it; and for each attribute its kind. From that:
//   - TensorsOf<K, T>: the kernel's named tensor arguments, with handle type T (null allowed
//     exactly where declared optional);
//   - AttrsOf<K>: the kernel's attributes as a named object (int → number, bool → boolean,
//     oneOf → the union of its values);
//   - checkCall(): dtypes, element counts, nullability, attribute kinds and the declaration's
//     own consistency rule, in time independent of the tensors' sizes.
import { sizeOf, type DType, type Shape } from '../tensor/tensor.js';

// ---- attributes ----------------------------------------------------------------------------

export interface IntAttr {
  kind: 'int';
  min: number;
}
export interface NumAttr {
  kind: 'num';
}
export interface BoolAttr {
  kind: 'bool';
}
export interface EnumAttr<V extends string = string> {
  kind: 'enum';
  values: readonly V[];
}
export type AttrDecl = IntAttr | NumAttr | BoolAttr | EnumAttr;
export type AttrSchema = Record<string, AttrDecl>;

/** An integer ≥ min (default 1). */
export const int = (min = 1): IntAttr => ({ kind: 'int', min });
/** Any number (ranges, where they matter, are the declaration's `check`). */
export const num = (): NumAttr => ({ kind: 'num' });
export const bool = (): BoolAttr => ({ kind: 'bool' });
export const oneOf = <const V extends string>(...values: V[]): EnumAttr<V> => ({
  kind: 'enum',
  values,
});

type AttrValue<A> = A extends IntAttr | NumAttr
  ? number
  : A extends BoolAttr
    ? boolean
    : A extends EnumAttr<infer V>
      ? V
      : never;
export type AttrValues<S extends AttrSchema> = { [K in keyof S]: AttrValue<S[K]> };

// ---- tensor arguments ----------------------------------------------------------------------

export interface TensorDecl<A = never> {
  /** The dtypes this argument accepts. */
  dtypes: readonly DType[];
  /** Its shape from the attributes; absent with `like`, or for "any shape". */
  shape?: (a: A) => Shape;
  /** Same element count as that (earlier) argument: elementwise kernels. */
  like?: string;
  /** null means "not needed": the kernel skips it. */
  optional?: boolean;
  /** The kernel (over)writes this argument. */
  writes?: boolean;
  /** What the argument is, shapes in letters (for the docs and error messages). */
  doc?: string;
}

export interface KernelDecl<S extends AttrSchema = AttrSchema, A = AttrValues<S>> {
  /** What it computes; its formula where one fits. */
  doc: string;
  attrs: S;
  /** Tensor arguments in order: the order the native addon receives them in. */
  args: Record<string, TensorDecl<A>>;
  /** A consistency rule over the attributes: the error, or null when they are fine. */
  check?: (a: A) => string | null;
}

/** Declares a kernel; only gives `shape` and `check` their attribute type. */
export function kernel<
  const S extends AttrSchema,
  const T extends Record<string, TensorDecl<AttrValues<S>>>,
>(d: {
  doc: string;
  attrs: S;
  args: T;
  check?: (a: AttrValues<S>) => string | null;
}): { doc: string; attrs: S; args: T; check?: (a: AttrValues<S>) => string | null } {
  return d;
}

type Nullable<D, T> = D extends { optional: true } ? T | null : T;

/** The named tensor arguments of a declaration, as handles of type T. */
export type TensorsFor<D extends KernelDecl<AttrSchema, never>, T> = {
  [A in keyof D['args']]: Nullable<D['args'][A], T>;
};

// ---- the check -----------------------------------------------------------------------------

/** What the check needs of a tensor: its dtype and element count (no data is touched). */
export interface Checkable {
  readonly dtype: DType;
  readonly size: number;
}

function checkAttr(kernelName: string, key: string, d: AttrDecl, v: unknown): void {
  const bad = (what: string): never => {
    throw new TypeError(`${kernelName}: attribute ${key} must be ${what}, got ${String(v)}`);
  };
  switch (d.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < d.min || v > 9e15)
        bad(`an integer ≥ ${d.min}`);
      return;
    case 'num':
      if (typeof v !== 'number') bad('a number');
      return;
    case 'bool':
      if (typeof v !== 'boolean') bad('a boolean');
      return;
    case 'enum':
      if (!d.values.includes(v as string)) bad(d.values.map((x) => `'${x}'`).join(' or '));
      return;
  }
}

/** Throws a one-line TypeError naming the kernel and the argument when a call does not match
 *  its declaration. Cost: a few comparisons per argument and attribute. */
export function checkCall(
  kernelName: string,
  decl: KernelDecl<AttrSchema, never>,
  tensors: Record<string, Checkable | null | undefined>,
  attrs: Record<string, unknown>,
): void {
  if (typeof attrs !== 'object' || attrs === null)
    throw new TypeError(`${kernelName}: attributes must be an object`);
  for (const key in decl.attrs) checkAttr(kernelName, key, decl.attrs[key], attrs[key]);
  const rule = (decl.check as ((a: unknown) => string | null) | undefined)?.(attrs);
  if (rule) throw new TypeError(`${kernelName}: ${rule}`);
  if (typeof tensors !== 'object' || tensors === null)
    throw new TypeError(`${kernelName}: tensors must be an object`);
  for (const name in decl.args) {
    const d = decl.args[name];
    const t = tensors[name];
    if (t === null || t === undefined) {
      if (d.optional) continue;
      throw new TypeError(`${kernelName}: ${name} must not be null`);
    }
    if (typeof t.size !== 'number' || typeof t.dtype !== 'string')
      throw new TypeError(`${kernelName}: ${name} must be a tensor`);
    if (!d.dtypes.includes(t.dtype))
      throw new TypeError(
        `${kernelName}: ${name} must be ${d.dtypes.join(' or ')}, got ${t.dtype}`,
      );
    let expected = -1;
    if (d.shape) expected = sizeOf((d.shape as (a: unknown) => Shape)(attrs));
    else if (d.like) expected = tensors[d.like]?.size ?? -1;
    if (expected >= 0 && t.size !== expected)
      throw new TypeError(`${kernelName}: ${name} has ${t.size} elements, expected ${expected}`);
  }
}
