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
//     own consistency rule, in time independent of the tensors' sizes; compileCheck() prepares
//     it once per kernel and remembers the attribute values that passed (a layer calls its
//     kernels with the same values every batch), so a call then costs a few comparisons.
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
  /** Its shape from the declared attributes alone (checks remember it per attribute values);
   *  absent with `like`, or for "any shape". */
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
  /** A consistency rule over the declared attributes alone: the error, or null when they are
   *  fine (checks remember a pass per attribute values). */
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

/** A prepared checkCall for one kernel: (tensors, attrs) → void, throwing what checkCall throws. */
export type CallCheck = (
  tensors: Record<string, Checkable | null | undefined>,
  attrs: Record<string, unknown>,
) => void;

/** Attribute values checkCall has seen pass, per kernel: the layers of a net call each kernel
 *  with a few fixed geometries (one per layer and batch size). */
const REMEMBERED = 16;

interface Passed {
  /** The declared attributes' values, in declaration order. */
  values: unknown[];
  /** Each argument's element count under them; NaN until an argument is first reached. */
  sizes: number[];
}

/** checkCall for one declaration, prepared once: its attributes and arguments as arrays, and the
 *  last REMEMBERED sets of attribute values that passed the attribute checks and the consistency
 *  rule, with the element counts they gave each argument. A call with remembered values skips
 *  those checks and the shape functions — pure functions of the values — and compares each
 *  tensor's dtype and size only; the errors and their order are checkCall's. */
export function compileCheck(kernelName: string, decl: KernelDecl<AttrSchema, never>): CallCheck {
  const attrKeys = Object.keys(decl.attrs);
  const attrDecls = attrKeys.map((k) => decl.attrs[k]);
  const rule = decl.check as ((a: unknown) => string | null) | undefined;
  const names = Object.keys(decl.args);
  const args = names.map((n) => decl.args[n]);
  const shapes = args.map((d) => d.shape as ((a: unknown) => Shape) | undefined);
  const passed: Passed[] = []; // newest last
  const values = new Array<unknown>(attrKeys.length);
  const remembered = (): Passed | null => {
    search: for (let e = passed.length - 1; e >= 0; e--) {
      const seen = passed[e].values;
      for (let i = 0; i < values.length; i++) if (values[i] !== seen[i]) continue search;
      return passed[e];
    }
    return null;
  };
  return (tensors, attrs) => {
    if (typeof attrs !== 'object' || attrs === null)
      throw new TypeError(`${kernelName}: attributes must be an object`);
    for (let i = 0; i < attrKeys.length; i++) values[i] = attrs[attrKeys[i]];
    let p = remembered();
    if (!p) {
      for (let i = 0; i < attrKeys.length; i++)
        checkAttr(kernelName, attrKeys[i], attrDecls[i], values[i]);
      const broken = rule?.(attrs);
      if (broken) throw new TypeError(`${kernelName}: ${broken}`);
      p = { values: values.slice(), sizes: args.map(() => Number.NaN) };
      if (passed.push(p) > REMEMBERED) passed.shift();
    }
    if (typeof tensors !== 'object' || tensors === null)
      throw new TypeError(`${kernelName}: tensors must be an object`);
    for (let j = 0; j < args.length; j++) {
      const d = args[j];
      const name = names[j];
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
      const shape = shapes[j];
      if (shape) {
        if (Number.isNaN(p.sizes[j])) p.sizes[j] = sizeOf(shape(attrs));
        expected = p.sizes[j];
      } else if (d.like) expected = tensors[d.like]?.size ?? -1;
      if (expected >= 0 && t.size !== expected)
        throw new TypeError(`${kernelName}: ${name} has ${t.size} elements, expected ${expected}`);
    }
  };
}

const compiled = new WeakMap<object, { name: string; check: CallCheck }>();

/** Throws a one-line TypeError naming the kernel and the argument when a call does not match
 *  its declaration. Cost: a few comparisons per argument and attribute (compileCheck's, kept per
 *  declaration). */
export function checkCall(
  kernelName: string,
  decl: KernelDecl<AttrSchema, never>,
  tensors: Record<string, Checkable | null | undefined>,
  attrs: Record<string, unknown>,
): void {
  let c = compiled.get(decl);
  if (c?.name !== kernelName) {
    c = { name: kernelName, check: compileCheck(kernelName, decl) };
    compiled.set(decl, c);
  }
  c.check(tensors, attrs);
}
