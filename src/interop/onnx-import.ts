// ONNX → this project: recognises an AlexNet graph — the ONNX model zoo's `bvlcalexnet`
// (converted from Caffe: Conv with group, LRN, MaxPool, Reshape, Gemm transB, Dropout, Softmax),
// torchvision's AlexNet exported by torch.onnx, and this project's own exports — and reads its
// weights. The graph's wiring is checked first (onnx-graph.ts: one chain of nodes from input to
// output, constants for weights, known attributes only); the chain's nodes are reduced to a list
// of layer tokens (Identity, Dropout and float Casts are the identity at inference) and matched,
// token by token, against each variant's layer list, spatial sizes included; the first node that
// fits no variant is named in the error.
import { layerSpecs } from '../models/alexnet.js';
import { ARCHS, defaultConfig, type Arch, type ModelConfig } from '../models/config.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { dataPath, describeNode } from './onnx-graph.js';
import { readInputFile } from '../util/input-file.js';
import { importedMeta } from './conventions.js';
import {
  DataType,
  decodeModel,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';
import { modelMetaSchema, type ModelMeta } from '../models/config.js';
import type { Imported } from './torchvision.js';
import { halfToFloat } from '../tensor/half.js';

/** A graph node reduced to what matters for matching. */
export type Token =
  | {
      op: 'conv';
      node: OnnxNode;
      k: number;
      stride: number;
      pad: number;
      group: number;
      w: Tensor;
      b: Tensor;
    }
  | { op: 'linear'; node: OnnxNode; w: Tensor; b: Tensor }
  | { op: 'relu' | 'tanh' | 'sigmoid' | 'softmax'; node: OnnxNode }
  | { op: 'lrn'; node: OnnxNode; size: number; alpha: number; beta: number; bias: number }
  | { op: 'maxpool' | 'avgpool'; node: OnnxNode; k: number; stride: number; pad: number }
  | { op: 'mul'; node: OnnxNode; scale: number }
  | { op: 'flatten'; node: OnnxNode };

/** Path nodes that are the identity at inference (a Cast on the path casts float to float). */
const IDENTITY = new Set(['Identity', 'Dropout', 'Cast']);

export function parseOnnx(buf: Uint8Array, source: string): OnnxModel {
  try {
    const m = decodeModel(buf);
    if (!m.graph || !m.graph.node?.length) usage(`${source}: not an ONNX model (no graph nodes)`);
    return m;
  } catch (e) {
    if ((e as Error).name === 'UsageError') throw e;
    return usage(`${source}: not a readable ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Decodes a float (or double/half) initializer to float32. */
export function tensorFromOnnx(t: OnnxTensor, source: string): Tensor {
  const name = t.name ?? '?';
  const dims = t.dims ?? [];
  const bad = (why: string): never => usage(`${source}: initializer ${name} ${why}`);
  if (t.dataLocation === 1)
    bad(
      'lives in an external data file, which is not supported (save the model with its weights inside)',
    );
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) bad(`has bad dims [${dims.join(', ')}]`);
  const n = dims.reduce((a, d) => a * d, 1);
  const raw = t.rawData;
  const type = t.dataType ?? DataType.FLOAT;
  let out: Float32Array;
  const fromRaw = (width: number, get: (v: DataView, i: number) => number): Float32Array => {
    if (raw!.length !== n * width) bad(`holds ${raw!.length} bytes, its dims need ${n * width}`);
    const v = new DataView(raw!.buffer, raw!.byteOffset, raw!.byteLength);
    const o = new Float32Array(n);
    for (let i = 0; i < n; i++) o[i] = get(v, i);
    return o;
  };
  const fromList = (list: number[] | undefined): Float32Array => {
    if ((list?.length ?? 0) !== n) bad(`holds ${list?.length ?? 0} values, its dims need ${n}`);
    return Float32Array.from(list!);
  };
  switch (type) {
    case DataType.FLOAT:
      out = raw?.length ? fromRaw(4, (v, i) => v.getFloat32(4 * i, true)) : fromList(t.floatData);
      break;
    case DataType.DOUBLE:
      out = raw?.length ? fromRaw(8, (v, i) => v.getFloat64(8 * i, true)) : fromList(t.doubleData);
      break;
    case DataType.INT64:
      out = raw?.length
        ? fromRaw(8, (v, i) => Number(v.getBigInt64(8 * i, true)))
        : fromList(t.int64Data);
      break;
    case DataType.INT32:
      out = raw?.length ? fromRaw(4, (v, i) => v.getInt32(4 * i, true)) : fromList(t.int32Data);
      break;
    case DataType.FLOAT16: {
      const half = raw?.length
        ? fromRaw(2, (v, i) => v.getUint16(2 * i, true))
        : fromList(t.int32Data);
      out = half.map(halfToFloat);
      break;
    }
    default:
      return bad(`has unsupported data type ${type}`);
  }
  return new Tensor(dims, out);
}

const describe = describeNode;

/** Reduces the graph's data path to tokens, reading weights from initializers and Constant nodes. */
export function graphTokens(model: OnnxModel, source: string): Token[] {
  return pathTokens(model, dataPath(model, source).nodes, source);
}

function pathTokens(model: OnnxModel, nodes: OnnxNode[], source: string): Token[] {
  const graph = model.graph!;
  const consts = new Map<string, OnnxTensor>();
  for (const t of graph.initializer ?? []) if (t.name) consts.set(t.name, t);
  for (const n of graph.node ?? []) {
    const value =
      n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
    if (value && n.output?.[0]) consts.set(n.output[0], value);
  }
  const tensor = (n: OnnxNode, i: number, what: string): Tensor => {
    const name = n.input?.[i];
    const t = name !== undefined ? consts.get(name) : undefined;
    if (!t) usage(`${source}: ${describe(n)} has no ${what} initializer`);
    return tensorFromOnnx(t!, source);
  };
  const attr = (n: OnnxNode, name: string): OnnxAttribute | undefined =>
    n.attribute?.find((a) => a.name === name);
  const int = (n: OnnxNode, name: string, dflt: number): number => attr(n, name)?.i ?? dflt;
  const flt = (n: OnnxNode, name: string, dflt: number): number => attr(n, name)?.f ?? dflt;
  const square = (n: OnnxNode, name: string, dflt: number): number => {
    const v = attr(n, name)?.ints;
    if (!v || v.length === 0) return dflt;
    if (v.some((x) => x !== v[0]))
      usage(`${source}: ${describe(n)} has non-square ${name} [${v.join(', ')}], not AlexNet's`);
    return v[0];
  };
  const fit = (n: OnnxNode, why: string): never =>
    usage(`${source}: not an AlexNet: ${describe(n)} ${why}`);
  const noDilation = (n: OnnxNode): void => {
    const dil = attr(n, 'dilations')?.ints ?? [1, 1];
    if (dil.length !== 2 || dil.some((d) => d !== 1)) fit(n, `has dilations [${dil.join(', ')}]`);
  };
  const tokens: Token[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    const op = n.opType ?? '';
    if (IDENTITY.has(op)) continue;
    switch (op) {
      case 'Flatten':
        if (int(n, 'axis', 1) !== 1) fit(n, `flattens from axis ${int(n, 'axis', 1)}, not 1`);
        tokens.push({ op: 'flatten', node: n });
        break;
      case 'Reshape': // its target was checked to be [N, features] (onnx-graph.ts)
        if (int(n, 'allowzero', 0) !== 0) fit(n, 'has allowzero set');
        tokens.push({ op: 'flatten', node: n });
        break;
      case 'Conv': {
        const pads = attr(n, 'pads')?.ints ?? [0, 0, 0, 0];
        if (pads.length !== 4 || pads.some((p) => p !== pads[0]))
          fit(n, `has uneven pads [${pads.join(', ')}]`);
        noDilation(n);
        const w = tensor(n, 1, 'weight');
        if (w.shape.length !== 4 || w.shape[2] !== w.shape[3])
          fit(n, `has weight shape [${w.shape.join(', ')}]`);
        const ks = attr(n, 'kernel_shape')?.ints;
        if (ks && (ks.length !== 2 || ks[0] !== w.shape[2] || ks[1] !== w.shape[3]))
          fit(n, `has kernel_shape [${ks.join(', ')}] but a ${w.shape[2]}×${w.shape[3]} weight`);
        const b =
          n.input && n.input.length > 2 && n.input[2]
            ? tensor(n, 2, 'bias')
            : new Tensor([w.shape[0]]);
        tokens.push({
          op: 'conv',
          node: n,
          k: w.shape[2],
          stride: square(n, 'strides', 1),
          pad: pads[0],
          group: int(n, 'group', 1),
          w,
          b,
        });
        break;
      }
      case 'Gemm': {
        if (flt(n, 'alpha', 1) !== 1 || flt(n, 'beta', 1) !== 1 || int(n, 'transA', 0) !== 0)
          fit(n, 'is a Gemm with alpha, beta or transA other than a plain fully connected layer');
        let w = tensor(n, 1, 'weight');
        if (w.shape.length !== 2) fit(n, `has weight shape [${w.shape.join(', ')}]`);
        if (int(n, 'transB', 0) === 0) w = transpose2d(w);
        const b =
          n.input && n.input.length > 2 && n.input[2]
            ? tensor(n, 2, 'bias')
            : new Tensor([w.shape[0]]);
        tokens.push({ op: 'linear', node: n, w, b: b.reshape([b.size]) });
        break;
      }
      case 'MatMul': {
        // MatMul(x, W[in, out]) + Add(bias), as some exporters write a linear layer
        const wt = tensor(n, 1, 'weight');
        if (wt.shape.length !== 2) fit(n, `has weight shape [${wt.shape.join(', ')}]`);
        const w = transpose2d(wt);
        const next = nodes[i + 1];
        let b = new Tensor([w.shape[0]]);
        if (next?.opType === 'Add' && next.input?.[0] === n.output?.[0]) {
          b = tensor(next, 1, 'bias');
          i++;
        }
        tokens.push({ op: 'linear', node: n, w, b: b.reshape([b.size]) });
        break;
      }
      case 'Relu':
        tokens.push({ op: 'relu', node: n });
        break;
      case 'Tanh':
        tokens.push({ op: 'tanh', node: n });
        break;
      case 'Sigmoid':
        tokens.push({ op: 'sigmoid', node: n });
        break;
      case 'Softmax':
        tokens.push({ op: 'softmax', node: n });
        break;
      case 'LRN':
        tokens.push({
          op: 'lrn',
          node: n,
          size: int(n, 'size', 0),
          alpha: flt(n, 'alpha', 1e-4),
          beta: flt(n, 'beta', 0.75),
          bias: flt(n, 'bias', 1),
        });
        break;
      case 'MaxPool':
      case 'AveragePool': {
        // Caffe pools in ceil mode; converted models emulate it with one extra pad at the end
        // ([0, 0, 1, 1]) or ceil_mode = 1. At the variants' input sizes (227, or 224 with conv1
        // pad 2) those never reach a window, so they are accepted and dropped.
        const pads = attr(n, 'pads')?.ints ?? [0, 0, 0, 0];
        const half = pads.length / 2;
        if (op === 'MaxPool') noDilation(n);
        if (
          pads.length !== 4 ||
          pads.slice(0, half).some((p) => p !== pads[0]) ||
          pads.slice(half).some((p) => p < pads[0] || p > pads[0] + 1)
        ) {
          fit(n, `has pads [${pads.join(', ')}]`);
        }
        tokens.push({
          op: op === 'MaxPool' ? 'maxpool' : 'avgpool',
          node: n,
          k: square(n, 'kernel_shape', 0),
          stride: square(n, 'strides', 1),
          pad: pads[0],
        });
        break;
      }
      case 'Mul': {
        // classic dropout's test-time scale, as this project exports it
        const s = tensor(n, consts.has(n.input?.[0] ?? '') ? 0 : 1, 'scale');
        if (s.size !== 1) fit(n, 'multiplies by a non-scalar');
        tokens.push({ op: 'mul', node: n, scale: s.data[0] });
        break;
      }
      default:
        fit(n, 'is not an AlexNet layer');
    }
  }
  return tokens;
}

function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return new Tensor([c, r], out);
}

export interface OnnxMatch {
  arch: Arch;
  /** conv1.weight … fc8.bias */
  tensors: Map<string, Tensor>;
  config: Partial<ModelConfig>;
}

/**
 * Matches tokens against a variant's layer list. Widths are not compared (the shapes are checked
 * when the tensors are loaded), so reduced-width test nets match their variant's structure. The
 * map's side is followed from `inputSize` (the graph's declared input, else the variant's) so that
 * an AveragePool standing for the adaptive 6×6 pooling is checked to compute exactly that.
 * Returns the match, or the index of the first token that does not fit.
 */
export function matchVariant(
  tokens: Token[],
  arch: Arch,
  inputSize?: number,
): OnnxMatch | { failAt: number; expected: string } {
  const specs = layerSpecs(defaultConfig(arch));
  const tensors = new Map<string, Tensor>();
  const config: Partial<ModelConfig> = {};
  let t = 0;
  let side = NaN; // the map's side, known from conv1 on
  const fail = (expected: string) => ({ failAt: t, expected });
  const after = (k: number, stride: number, pad: number) =>
    (side = Math.floor((side + 2 * pad - k) / stride) + 1);
  for (const spec of specs) {
    const tok = tokens[t];
    switch (spec.kind) {
      case 'flatten':
        if (tok?.op !== 'flatten')
          return fail(`${spec.name} (Flatten or Reshape to [N, features])`);
        break;
      case 'dropout':
        if (tok?.op === 'mul' && Math.abs(tok.scale - (1 - spec.p)) < 1e-6) {
          config.dropoutMode = 'classic';
          t++;
        }
        continue;
      case 'adaptiveavgpool': {
        // omitted when the map is already 6×6, else an AveragePool of whole windows
        if (tok?.op === 'avgpool') {
          if (tok.k !== tok.stride || tok.pad !== 0 || tok.k * spec.size !== side)
            return fail(
              `${spec.name}: adaptive pooling of a ${side}×${side} map to ${spec.size}×${spec.size}`,
            );
          t++;
        } else if (side !== spec.size) {
          return fail(
            `${spec.name}: an AveragePool from ${side}×${side} to ${spec.size}×${spec.size}`,
          );
        }
        side = spec.size;
        continue;
      }
      case 'conv': {
        if (tok?.op !== 'conv') return fail(`${spec.name} (Conv ${spec.k}×${spec.k})`);
        const padOk =
          spec.name === 'conv1' && arch !== 'torchvision' && arch !== 'd2l'
            ? tok.pad === 0 || tok.pad === 2
            : tok.pad === spec.pad;
        if (tok.k !== spec.k || tok.stride !== spec.stride || !padOk || tok.group !== spec.groups) {
          return fail(
            `${spec.name}: Conv ${spec.k}×${spec.k} stride ${spec.stride} pad ${spec.pad} group ${spec.groups}`,
          );
        }
        if (spec.name === 'conv1') {
          if (arch !== 'torchvision' && arch !== 'd2l')
            config.inputSize = tok.pad === 2 ? 224 : 227;
          else if (inputSize !== undefined) config.inputSize = inputSize;
          side = config.inputSize ?? defaultConfig(arch).inputSize;
          if (inputSize !== undefined && inputSize !== side)
            return fail(
              `${spec.name}: an input of ${side}×${side} with pad ${tok.pad}, not ${inputSize}×${inputSize}`,
            );
        }
        after(tok.k, tok.stride, tok.pad);
        tensors.set(`${spec.name}.weight`, tok.w);
        tensors.set(`${spec.name}.bias`, tok.b);
        break;
      }
      case 'linear':
        if (tok?.op !== 'linear') return fail(`${spec.name} (Gemm)`);
        tensors.set(`${spec.name}.weight`, tok.w);
        tensors.set(`${spec.name}.bias`, tok.b);
        break;
      case 'maxpool':
      case 'avgpool':
        if (
          tok?.op !== spec.kind ||
          tok.k !== spec.k ||
          tok.stride !== spec.stride ||
          tok.pad !== (spec.pad ?? 0)
        )
          return fail(`${spec.name}: ${spec.kind} ${spec.k}×${spec.k} stride ${spec.stride}`);
        after(tok.k, tok.stride, tok.pad);
        break;
      case 'lrn': {
        if (tok?.op !== 'lrn' || tok.size !== spec.size || Math.abs(tok.beta - spec.beta) > 1e-6)
          return fail(`${spec.name}: LRN size ${spec.size}`);
        // ONNX's alpha is per-size (divided by size inside); α·size means the paper's 'absolute' form.
        let scaling: ModelConfig['lrnAlphaScaling'];
        if (Math.abs(tok.alpha - spec.alpha) < 1e-9) scaling = 'per-size';
        else if (Math.abs(tok.alpha - spec.alpha * spec.size) < 1e-9) scaling = 'absolute';
        else return fail(`${spec.name}: LRN alpha ${spec.alpha}`);
        // one k and one alpha form for every LRN: the network has one of each
        if (
          config.lrnK !== undefined &&
          (tok.bias !== config.lrnK || scaling !== config.lrnAlphaScaling)
        )
          return fail(`${spec.name}: LRN bias ${config.lrnK} and alpha as in the first LRN`);
        config.lrnAlphaScaling = scaling;
        config.lrnK = tok.bias;
        break;
      }
      case 'relu':
      case 'tanh':
      case 'sigmoid':
        if (tok?.op !== spec.kind) return fail(`${spec.name} (${spec.kind})`);
        break;
    }
    t++;
  }
  if (tokens[t]?.op === 'softmax') t++; // the zoo's "prob" output: logits are what we keep
  if (t < tokens.length) return fail('the end of the network');
  return { arch, tensors, config };
}

/** Tries the variants (or just `arch`); the best failure names the node that does not fit. */
export function recognise(
  tokens: Token[],
  source: string,
  arch?: Arch,
  inputSize?: number,
): OnnxMatch {
  const candidates: Arch[] = arch ? [arch] : [...ARCHS];
  let best: { failAt: number; expected: string; arch: Arch } | null = null;
  for (const a of candidates) {
    const r = matchVariant(tokens, a, inputSize);
    if ('tensors' in r) return r;
    if (!best || r.failAt > best.failAt) best = { ...r, arch: a };
  }
  const tok = tokens[best!.failAt];
  const where = tok ? describe(tok.node) : 'the graph ends early';
  return usage(
    `${source}: not an AlexNet: ${where} does not fit ${best!.arch} (expected ${best!.expected})`,
  );
}

export function importOnnx(path: string, opts: { arch?: Arch }): Imported {
  const buf = readInputFile(path);
  const model = parseOnnx(buf, path);
  const { nodes, inputSize } = dataPath(model, path);
  const match = recognise(pathTokens(model, nodes, path), path, opts.arch, inputSize);
  const conv1 = match.tensors.get('conv1.weight')!;
  const over: Partial<ModelConfig> = {
    ...match.config,
    classes: match.tensors.get('fc8.weight')!.shape[0],
    channels: conv1.shape[1],
  };
  // Our own exports carry their metadata; otherwise the variant says whose conventions apply.
  const own = ownMeta(model);
  let meta: ModelMeta;
  if (own && own.config.arch === match.arch) {
    meta = { ...own, config: defaultConfig(match.arch, { ...own.config, ...over }) };
  } else {
    const caffeLike = match.arch === 'alexnet2012' || match.arch === 'caffenet';
    meta = importedMeta(match.arch, over, caffeLike ? 'caffe' : 'torchvision');
  }
  return { tensors: match.tensors, meta };
}

function ownMeta(model: OnnxModel): ModelMeta | undefined {
  const raw = model.metadataProps?.find((p) => p.key === 'alexnet.meta')?.value;
  if (!raw) return undefined;
  try {
    const r = modelMetaSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
