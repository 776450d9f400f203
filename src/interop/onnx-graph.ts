// The wiring of an ONNX graph, checked before any layer is recognised: a graph that permutes
// channels with a Gather, truncates with a Cast, branches, loops or reads a value nobody writes
// must not import as if it were the plain export. This file finds the data path — the chain of
// nodes from the graph's one input to its one output, each consuming its predecessor's output —
// and checks everything else a path node reads: weights are constants, a Reshape's target is a
// flatten, a Dropout is not in training mode. Attributes are checked here too, by name and type,
// against the ones AlexNet's layers use; the layer parameters themselves are matched against
// the variant in onnx-import.ts.
import { usage } from '../util/errors.js';
import {
  AttrType,
  DataType,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
} from './onnx-proto.js';

export const describeNode = (n: OnnxNode): string =>
  `node "${n.name || n.output?.[0] || '?'}" (${n.opType})`;

/** Attributes each op on the data path may carry, with their types. Anything else is refused. */
const ATTRIBUTES: Record<string, Record<string, number>> = {
  Conv: {
    kernel_shape: AttrType.INTS,
    strides: AttrType.INTS,
    pads: AttrType.INTS,
    dilations: AttrType.INTS,
    group: AttrType.INT,
    auto_pad: AttrType.STRING,
  },
  Gemm: { alpha: AttrType.FLOAT, beta: AttrType.FLOAT, transA: AttrType.INT, transB: AttrType.INT },
  MatMul: {},
  Add: {},
  Mul: {},
  Relu: {},
  Tanh: {},
  Sigmoid: {},
  Softmax: { axis: AttrType.INT },
  LRN: { size: AttrType.INT, alpha: AttrType.FLOAT, beta: AttrType.FLOAT, bias: AttrType.FLOAT },
  MaxPool: {
    kernel_shape: AttrType.INTS,
    strides: AttrType.INTS,
    pads: AttrType.INTS,
    ceil_mode: AttrType.INT,
    dilations: AttrType.INTS,
    storage_order: AttrType.INT,
    auto_pad: AttrType.STRING,
  },
  AveragePool: {
    kernel_shape: AttrType.INTS,
    strides: AttrType.INTS,
    pads: AttrType.INTS,
    ceil_mode: AttrType.INT,
    count_include_pad: AttrType.INT,
    auto_pad: AttrType.STRING,
  },
  Flatten: { axis: AttrType.INT },
  Reshape: { allowzero: AttrType.INT },
  Dropout: { ratio: AttrType.FLOAT, seed: AttrType.FLOAT, is_test: AttrType.INT },
  Identity: {},
  Cast: { to: AttrType.INT, saturate: AttrType.INT },
};

/** Ops that only compute a Reshape's target shape from the data's shape (torch's x.view(N, -1)). */
const SHAPE_OPS = new Set([
  'Shape',
  'Gather',
  'Unsqueeze',
  'Concat',
  'Squeeze',
  'Cast',
  'Constant',
]);

function fieldOfType(a: OnnxAttribute, type: number): boolean {
  switch (type) {
    case AttrType.INT:
      return a.i !== undefined || (a.type === AttrType.INT && !a.ints?.length);
    case AttrType.FLOAT:
      return a.f !== undefined || (a.type === AttrType.FLOAT && !a.floats?.length);
    case AttrType.INTS:
      return a.i === undefined && a.f === undefined && (a.type ?? AttrType.INTS) === AttrType.INTS;
    case AttrType.STRING:
      return a.s !== undefined;
  }
  return false;
}

export interface DataPath {
  /** The data path's nodes, input to output. */
  nodes: OnnxNode[];
  /** The graph input's declared spatial size, when it declares one (square). */
  inputSize?: number;
}

/** Finds and checks the data path, or refuses with one line naming the first node that differs. */
export function dataPath(model: OnnxModel, source: string): DataPath {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const fail = (n: OnnxNode, why: string): never =>
    usage(`${source}: not an AlexNet: ${describeNode(n)} ${why}`);
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of nodes) if (n.opType === 'Constant' && n.output?.[0]) constants.add(n.output[0]);
  const inputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  if (inputs.length !== 1)
    usage(
      `${source}: not an AlexNet: the graph has ${inputs.length} data inputs (expected one image batch)`,
    );
  const input = inputs[0];
  const elem = input.type?.tensorType?.elemType;
  if (elem !== undefined && elem !== DataType.FLOAT)
    usage(`${source}: not an AlexNet: input ${input.name} has element type ${elem}, not float`);
  const outputs = graph.output ?? [];
  if (outputs.length !== 1)
    usage(
      `${source}: not an AlexNet: the graph has ${outputs.length} outputs (expected the logits or probabilities)`,
    );
  const outputName = outputs[0].name ?? '';

  // Topological order, single assignment, nothing read that nobody writes (ONNX requires the
  // nodes sorted; a cycle cannot be).
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) {
      if (o === '') continue;
      if (producer.has(o) || constants.has(o) !== (n.opType === 'Constant') || o === input.name)
        fail(n, `writes ${o}, which is already defined`);
      producer.set(o, i);
    }
  });
  nodes.forEach((n, i) => {
    if (n.domain && n.domain !== 'ai.onnx') fail(n, `is from operator domain ${n.domain}`);
    for (const name of n.input ?? []) {
      if (name === '' || name === input.name || (constants.has(name) && !producer.has(name)))
        continue;
      const p = producer.get(name);
      if (p === undefined) fail(n, `reads ${name}, which no node, initializer or input defines`);
      if (p! >= i) fail(n, `reads ${name} before it is computed (a cycle, or nodes out of order)`);
    }
  });

  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes)
    for (const name of new Set(n.input ?? [])) {
      if (!consumers.has(name)) consumers.set(name, []);
      consumers.get(name)!.push(n);
    }
  const isConst = (name: string | undefined): boolean =>
    name !== undefined &&
    constants.has(name) &&
    (name === '' || !producer.has(name) || nodes[producer.get(name)!].opType === 'Constant');

  const path: OnnxNode[] = [];
  let current = input.name ?? '';
  for (let guard = 0; current !== outputName; guard++) {
    const readers = (consumers.get(current) ?? []).filter((n) => n.opType !== 'Shape');
    if (readers.length === 0)
      usage(
        `${source}: not an AlexNet: the graph's output ${outputName} is not reached from its input (the path ends at ${current})`,
      );
    if (readers.length > 1)
      usage(
        `${source}: not an AlexNet: ${describeNode(readers[0])} and ${describeNode(readers[1])} both read ${current}: the graph branches, which AlexNet does not`,
      );
    const n = readers[0];
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    // The data is the first input (for Mul, either); every other input must be a constant.
    const dataAt = ins.indexOf(current);
    if (ins.lastIndexOf(current) !== dataAt) fail(n, `reads ${current} twice`);
    if (dataAt !== 0 && !(op === 'Mul' && dataAt === 1))
      fail(n, `reads the data as input ${dataAt}`);
    checkAttributes(n, fail);
    ins.forEach((name, k) => {
      if (k === dataAt || name === '') return;
      if (op === 'Reshape' && k === 1) return checkFlattenTarget(n, name, current, model, fail);
      if (!isConst(name)) fail(n, `takes input ${k} (${name}) from a computation, not a constant`);
    });
    if (op === 'Cast' && n.attribute?.find((a) => a.name === 'to')?.i !== DataType.FLOAT)
      fail(n, 'casts to a type other than float');
    if (op === 'Dropout' && ins[2] && !constantIsFalse(model, ins[2]))
      fail(n, 'may run in training mode');
    const outs = (n.output ?? []).filter(
      (o, k) => o !== '' && (k === 0 || (consumers.get(o)?.length ?? 0) > 0 || o === outputName),
    );
    if (outs.length !== 1 || outs[0] !== n.output?.[0]) fail(n, 'has more than one output in use');
    path.push(n);
    current = outs[0];
    if (guard > nodes.length) fail(n, 'is part of a cycle');
  }
  const dims = input.type?.tensorType?.shape?.dim;
  const h = dims?.[2]?.dimValue;
  const w = dims?.[3]?.dimValue;
  return { nodes: path, inputSize: h !== undefined && h === w ? h : undefined };
}

function checkAttributes(n: OnnxNode, fail: (n: OnnxNode, why: string) => never): void {
  const allowed = ATTRIBUTES[n.opType ?? ''];
  if (!allowed) fail(n, 'is not an AlexNet layer');
  const seen = new Set<string>();
  for (const a of n.attribute ?? []) {
    const name = a.name ?? '';
    const type = allowed![name];
    if (type === undefined)
      fail(n, `has attribute ${name}, which AlexNet's ${n.opType} never sets`);
    if (seen.has(name)) fail(n, `sets attribute ${name} twice`);
    seen.add(name);
    if (!fieldOfType(a, type)) fail(n, `has attribute ${name} of the wrong type`);
    if (name === 'auto_pad' && Buffer.from(a.s!).toString('latin1') !== 'NOTSET')
      fail(n, `has auto_pad ${Buffer.from(a.s!).toString('latin1')} (only explicit pads are read)`);
  }
}

function constantValues(model: OnnxModel, name: string): number[] | undefined {
  const g = model.graph!;
  const t =
    g.initializer?.find((x) => x.name === name) ??
    g.node
      ?.find((n) => n.opType === 'Constant' && n.output?.[0] === name)
      ?.attribute?.find((a) => a.name === 'value')?.t;
  if (!t) return undefined;
  if (t.int64Data?.length) return t.int64Data;
  if (t.int32Data?.length) return t.int32Data;
  const raw = t.rawData;
  if (!raw || raw.length > 64) return undefined;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (t.dataType === DataType.INT64 && raw.length % 8 === 0)
    return Array.from({ length: raw.length / 8 }, (_, i) => Number(v.getBigInt64(8 * i, true)));
  if ((t.dataType === DataType.INT32 || t.dataType === 9) && raw.length % 4 === 0)
    return Array.from({ length: raw.length / 4 }, (_, i) => v.getInt32(4 * i, true));
  if (t.dataType === 9) return Array.from(raw); // BOOL
  return undefined;
}

function constantIsFalse(model: OnnxModel, name: string): boolean {
  const v = constantValues(model, name);
  return v !== undefined && v.length === 1 && v[0] === 0;
}

/**
 * A Reshape on the data path must flatten [N, C, H, W] to [N, C·H·W]: its target is a constant
 * [0 | -1 | 1 | N, -1 | F] or torch's Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]). F itself is
 * checked when fc6's weight is loaded.
 */
function checkFlattenTarget(
  n: OnnxNode,
  name: string,
  data: string,
  model: OnnxModel,
  fail: (n: OnnxNode, why: string) => never,
): void {
  const target = symbolicShape(model, name, data, 0);
  if (!target || target.length !== 2)
    fail(
      n,
      `reshapes to ${target ? `[${target.join(', ')}]` : 'a computed shape'}, not a flatten to [N, features]`,
    );
  const [a, b] = target!;
  const batchOk = a === 'N' || a === 0 || a === -1 || a === 1;
  const featuresOk = b === -1 || (typeof b === 'number' && b > 0);
  if (!batchOk || !featuresOk || (a === -1 && b === -1))
    fail(n, `reshapes to [${target!.join(', ')}], not a flatten to [N, features]`);
}

type Sym = number | 'N' | '?';

/** Evaluates the few shape ops torch emits for x.view(x.size(0), -1); 'N' is x's batch size. */
function symbolicShape(
  model: OnnxModel,
  name: string,
  data: string,
  depth: number,
): Sym[] | undefined {
  const c = constantValues(model, name);
  if (c) return c;
  if (depth > 8) return undefined;
  const n = model.graph!.node?.find((x) => x.output?.includes(name));
  if (!n || !SHAPE_OPS.has(n.opType ?? '')) return undefined;
  const ins = n.input ?? [];
  const arg = (k: number) => (ins[k] ? symbolicShape(model, ins[k], data, depth + 1) : undefined);
  const axis = n.attribute?.find((a) => a.name === 'axis')?.i ?? 0;
  switch (n.opType) {
    case 'Shape':
      return ins[0] === data ? ['N', '?', '?', '?'] : undefined;
    case 'Gather': {
      const [src, idx] = [arg(0), arg(1)];
      if (!src || !idx || axis !== 0) return undefined;
      return idx.map((i) => (typeof i === 'number' ? (src[i] ?? '?') : '?'));
    }
    case 'Unsqueeze':
    case 'Squeeze':
    case 'Cast':
      return arg(0);
    case 'Concat': {
      if (axis !== 0) return undefined;
      const parts = ins.map((_, k) => arg(k));
      return parts.every((p) => p !== undefined) ? (parts.flat() as Sym[]) : undefined;
    }
  }
  return undefined;
}
