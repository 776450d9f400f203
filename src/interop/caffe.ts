// Caffe → this project: `bvlc_alexnet.caffemodel` (alexnet2012: LRN before pooling) or
// `bvlc_reference_caffenet.caffemodel` (caffenet: pooling before LRN). The model file is a
// NetParameter protobuf; its layers (new `layer` or V1 `layers`) carry the weights as BlobProtos
// in PyTorch's layouts already (conv [out, in/groups, kh, kw], inner product [out, in]), under
// the names conv1 … fc8. Caffe's conventions go into the metadata: BGR pixels in [0, 255] minus
// the mean, 227 crops, LRN k = 1.
import { lazyMessageType } from './proto-type.js';
import { layerSpecs } from '../models/alexnet.js';
import { defaultConfig, type Arch } from '../models/config.js';
import type { LayerSpec } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { readInputFile, readInputText } from '../util/input-file.js';
import { importedMeta } from './conventions.js';
import type { Imported } from './torchvision.js';

// The few messages and fields of caffe.proto (BVLC/caffe src/caffe/proto/caffe.proto) that hold
// weights, layer order and LRN parameters.
const descriptor = {
  nested: {
    caffe: {
      nested: {
        NetParameter: {
          fields: {
            name: { type: 'string', id: 1 },
            layers: { rule: 'repeated', type: 'V1LayerParameter', id: 2 },
            layer: { rule: 'repeated', type: 'LayerParameter', id: 100 },
          },
        },
        LayerParameter: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'string', id: 2 },
            blobs: { rule: 'repeated', type: 'BlobProto', id: 7 },
            convolutionParam: { type: 'ConvolutionParameter', id: 106 },
            lrnParam: { type: 'LRNParameter', id: 118 },
            poolingParam: { type: 'PoolingParameter', id: 121 },
          },
        },
        V1LayerParameter: {
          fields: {
            name: { type: 'string', id: 4 },
            type: { type: 'int32', id: 5 }, // V1 LayerType enum: CONVOLUTION 4, INNER_PRODUCT 14, LRN 15, POOLING 17
            blobs: { rule: 'repeated', type: 'BlobProto', id: 6 },
            convolutionParam: { type: 'ConvolutionParameter', id: 10 },
            lrnParam: { type: 'LRNParameter', id: 18 },
            poolingParam: { type: 'PoolingParameter', id: 19 },
          },
        },
        ConvolutionParameter: {
          fields: {
            pad: { rule: 'repeated', type: 'uint32', id: 3 },
            kernelSize: { rule: 'repeated', type: 'uint32', id: 4 },
            group: { type: 'uint32', id: 5 },
            stride: { rule: 'repeated', type: 'uint32', id: 6 },
            padH: { type: 'uint32', id: 9 },
            padW: { type: 'uint32', id: 10 },
            kernelH: { type: 'uint32', id: 11 },
            kernelW: { type: 'uint32', id: 12 },
            strideH: { type: 'uint32', id: 13 },
            strideW: { type: 'uint32', id: 14 },
            dilation: { rule: 'repeated', type: 'uint32', id: 18 },
          },
        },
        PoolingParameter: {
          fields: {
            pool: { type: 'int32', id: 1 }, // MAX 0, AVE 1, STOCHASTIC 2
            kernelSize: { type: 'uint32', id: 2 },
            stride: { type: 'uint32', id: 3 },
            pad: { type: 'uint32', id: 4 },
            kernelH: { type: 'uint32', id: 5 },
            kernelW: { type: 'uint32', id: 6 },
            strideH: { type: 'uint32', id: 7 },
            strideW: { type: 'uint32', id: 8 },
            padH: { type: 'uint32', id: 9 },
            padW: { type: 'uint32', id: 10 },
            globalPooling: { type: 'bool', id: 12 },
          },
        },
        LRNParameter: {
          fields: {
            localSize: { type: 'uint32', id: 1 },
            alpha: { type: 'float', id: 2 },
            beta: { type: 'float', id: 3 },
            k: { type: 'float', id: 5 },
          },
        },
        BlobProto: {
          fields: {
            num: { type: 'int32', id: 1 },
            channels: { type: 'int32', id: 2 },
            height: { type: 'int32', id: 3 },
            width: { type: 'int32', id: 4 },
            data: { rule: 'repeated', type: 'float', id: 5, options: { packed: true } },
            shape: { type: 'BlobShape', id: 7 },
          },
        },
        BlobShape: {
          fields: { dim: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } },
        },
      },
    },
  },
};

const NetParameter = lazyMessageType(descriptor, 'caffe.NetParameter');
const V1_TYPE_NAMES: Record<number, string> = {
  4: 'Convolution',
  14: 'InnerProduct',
  15: 'LRN',
  17: 'Pooling',
  18: 'ReLU',
  6: 'Dropout',
  20: 'Softmax',
  5: 'Data',
  1: 'Accuracy',
  21: 'SoftmaxWithLoss',
  22: 'Split',
};

interface CaffeBlob {
  num?: number;
  channels?: number;
  height?: number;
  width?: number;
  data?: number[];
  shape?: { dim?: number[] };
}
/** A convolution's or pooling's window as its parameter message gives it (either form). */
interface WindowParam {
  pad?: number | number[];
  kernelSize?: number | number[];
  stride?: number | number[];
  padH?: number;
  padW?: number;
  kernelH?: number;
  kernelW?: number;
  strideH?: number;
  strideW?: number;
  group?: number;
  dilation?: number[];
  pool?: number;
  globalPooling?: boolean;
}
interface CaffeLayer {
  name?: string;
  type?: string | number;
  blobs?: CaffeBlob[];
  lrnParam?: { localSize?: number; alpha?: number; beta?: number; k?: number };
  convolutionParam?: WindowParam;
  poolingParam?: WindowParam;
}

export interface CaffeLayerInfo {
  name: string;
  type: string;
  blobs: Tensor[];
  lrn?: { size?: number; alpha?: number; beta?: number; k?: number };
  /** Convolution or pooling window, when the file carries the layer's parameters. */
  window?: Window;
}

export interface Window {
  k: [number, number];
  stride: [number, number];
  pad: [number, number];
  group: number;
  dilation: number[];
  /** Pooling: MAX 0, AVE 1; global pooling as −1. */
  pool?: number;
}

function windowOf(p: WindowParam | undefined, pooling: boolean): Window | undefined {
  if (!p) return undefined;
  const first = (v: number | number[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const pair = (
    h: number | undefined,
    w: number | undefined,
    both: number | number[] | undefined,
    dflt: number,
  ): [number, number] => {
    const b = first(both);
    return [h ?? b ?? dflt, w ?? b ?? dflt];
  };
  return {
    k: pair(p.kernelH, p.kernelW, p.kernelSize, 0),
    stride: pair(p.strideH, p.strideW, p.stride, 1),
    pad: pair(p.padH, p.padW, p.pad, 0),
    group: p.group ?? 1,
    dilation: p.dilation ?? [],
    pool: pooling ? (p.globalPooling ? -1 : (p.pool ?? 0)) : undefined,
  };
}

/** Decodes a .caffemodel into its layers in file order, with their blobs as tensors. */
export function parseCaffeModel(buf: Uint8Array, source: string): CaffeLayerInfo[] {
  let net: { layer?: CaffeLayer[]; layers?: CaffeLayer[] };
  try {
    const type = NetParameter();
    net = type.toObject(type.decode(buf), {
      longs: Number,
      arrays: true,
    }) as typeof net;
  } catch (e) {
    return usage(`${source}: not a readable Caffe model (${(e as Error).message.split('\n')[0]})`);
  }
  const raw = (net.layer?.length ? net.layer : net.layers) ?? [];
  if (raw.length === 0) usage(`${source}: not a Caffe model (the NetParameter has no layers)`);
  return raw.map((l, i) => {
    const name = l.name ?? `layer${i}`;
    const type =
      typeof l.type === 'number' ? (V1_TYPE_NAMES[l.type] ?? `V1:${l.type}`) : (l.type ?? '');
    const blobs = (l.blobs ?? []).map((b, j) =>
      blobTensor(b, `${source}: layer ${name} blob ${j}`),
    );
    const p = l.lrnParam;
    return {
      name,
      type,
      blobs,
      lrn: p ? { size: p.localSize, alpha: p.alpha, beta: p.beta, k: p.k } : undefined,
      window: windowOf(l.convolutionParam, false) ?? windowOf(l.poolingParam, true),
    };
  });
}

function blobTensor(b: CaffeBlob, where: string): Tensor {
  const data = Float32Array.from(b.data ?? []);
  let shape = b.shape?.dim?.length
    ? b.shape.dim
    : [b.num ?? 0, b.channels ?? 0, b.height ?? 0, b.width ?? 0];
  if (!b.shape?.dim?.length && shape.every((d) => d === 0)) shape = [data.length];
  const n = shape.reduce((a, d) => a * d, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || n !== data.length) {
    usage(`${where} has shape [${shape.join(', ')}] but ${data.length} values`);
  }
  return new Tensor(shape, data);
}

const PARAM_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'];

/** Weights of conv1 … fc8 under this project's names. Inner-product weights of old models are
 *  stored as [1, 1, out, in] and biases as [1, 1, 1, out]: dropped leading 1s. */
export function mapCaffeLayers(layers: CaffeLayerInfo[], source: string): Map<string, Tensor> {
  const withBlobs = layers.filter((l) => l.blobs.length > 0);
  const out = new Map<string, Tensor>();
  const byName = new Map(withBlobs.map((l) => [l.name, l]));
  // bvlc_alexnet/caffenet name their layers conv1 … fc8; otherwise take them in order.
  const useNames = PARAM_LAYERS.every((n) => byName.has(n));
  if (!useNames && withBlobs.length !== PARAM_LAYERS.length) {
    usage(
      `${source}: expected AlexNet's 8 weighted layers (conv1 … fc8), found ${withBlobs.length}: ${withBlobs.map((l) => l.name).join(', ')}`,
    );
  }
  PARAM_LAYERS.forEach((name, i) => {
    const l = useNames ? byName.get(name)! : withBlobs[i];
    const conv = name.startsWith('conv');
    if (l.blobs.length !== 2)
      usage(`${source}: layer ${l.name} has ${l.blobs.length} blobs (expected weight and bias)`);
    const [w, b] = l.blobs;
    const wShape = conv ? w.shape : squeezeLeading(w.shape, 2);
    if (wShape.length !== (conv ? 4 : 2))
      usage(`${source}: layer ${l.name} weight has shape [${w.shape.join(', ')}]`);
    out.set(`${name}.weight`, w.reshape(wShape));
    out.set(`${name}.bias`, b.reshape([b.size]));
  });
  return out;
}

function squeezeLeading(shape: readonly number[], rank: number): number[] {
  const s = [...shape];
  while (s.length > rank && s[0] === 1) s.shift();
  return s;
}

const HEAD_TYPES = new Set([
  'Data',
  'Input',
  'ImageData',
  'DummyData',
  'MemoryData',
  'HDF5Data',
  'WindowData',
]);
const TAIL_TYPES = new Set(['Softmax', 'SoftmaxWithLoss', 'Accuracy', 'Silence']);
const CAFFE_TYPE: Partial<Record<LayerSpec['kind'], string>> = {
  conv: 'Convolution',
  relu: 'ReLU',
  lrn: 'LRN',
  maxpool: 'Pooling',
  linear: 'InnerProduct',
};

/**
 * Checks the model's layers, in file order, against a variant's layer list: data layers first,
 * then exactly the variant's layers (Dropout and Split, the identity at test time, anywhere),
 * then only losses, softmax and accuracy. Windows are checked where the file carries them.
 * Returns null, or the index of the first layer that differs and what was expected there.
 */
export function checkCaffeLayers(
  layers: CaffeLayerInfo[],
  arch: Arch,
): { at: number; expected: string } | null {
  let i = 0;
  const skip = (types: Set<string>) => {
    while (i < layers.length && types.has(layers[i].type)) i++;
  };
  const identity = new Set(['Dropout', 'Split']);
  skip(HEAD_TYPES);
  for (const spec of layerSpecs(defaultConfig(arch))) {
    const type = CAFFE_TYPE[spec.kind];
    if (!type) continue;
    skip(identity);
    const l = layers[i];
    if (l?.type !== type) return { at: i, expected: `${spec.name} (${type})` };
    const w = l.window;
    if (w && (spec.kind === 'conv' || spec.kind === 'maxpool')) {
      const pad = spec.kind === 'conv' ? spec.pad : 0;
      const groups = spec.kind === 'conv' ? spec.groups : 1;
      const same = (v: number[], x: number) => v.every((d) => d === x);
      if (
        !same(w.k, spec.k) ||
        !same(w.stride, spec.stride) ||
        !same(w.pad, pad) ||
        w.group !== groups ||
        !same(w.dilation, 1) ||
        (spec.kind === 'maxpool' && w.pool !== 0)
      )
        return {
          at: i,
          expected: `${spec.name}: ${type} ${spec.k}×${spec.k} stride ${spec.stride} pad ${pad}${groups > 1 ? ` group ${groups}` : ''}${spec.kind === 'maxpool' ? ' MAX' : ''}`,
        };
    }
    i++;
  }
  skip(identity);
  skip(TAIL_TYPES);
  return i < layers.length ? { at: i, expected: 'the end of the network' } : null;
}

/** alexnet2012 has norm1 before pool1 (LRN after ReLU); caffenet swaps them. */
export function caffeLayerOrder(layers: CaffeLayerInfo[]): Arch | undefined {
  const lrn = layers.findIndex((l) => l.type === 'LRN');
  const pool = layers.findIndex((l) => l.type === 'Pooling');
  if (lrn < 0 || pool < 0) return undefined;
  return lrn < pool ? 'alexnet2012' : 'caffenet';
}

/** Layer order from a deploy prototxt (text format): the types of `layer {…}`/`layers {…}` blocks in order. */
export function prototxtLayerTypes(text: string): string[] {
  const types: string[] = [];
  const re = /\btype\s*:\s*"?([A-Za-z_]+)"?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const t = m[1];
    types.push(t === 'LRN' ? 'LRN' : t === 'POOLING' ? 'Pooling' : t);
  }
  return types;
}

export function importCaffe(path: string, opts: { arch?: Arch; prototxt?: string }): Imported {
  const buf = readInputFile(path);
  const layers = parseCaffeModel(buf, path);
  // The layer list decides the variant (LRN before or after pooling) and must fit it whole.
  const fits = (['alexnet2012', 'caffenet'] as const).map((a) => ({
    a,
    r: checkCaffeLayers(layers, a),
  }));
  let detected: Arch | undefined = fits.find((f) => f.r === null)?.a;
  if (!detected) {
    const best = fits.reduce((x, y) => (y.r!.at > x.r!.at ? y : x));
    const l = layers[best.r!.at];
    usage(
      `${path}: not an AlexNet: ${l ? `layer ${l.name} (${l.type})` : 'the layers end early and'} does not fit ${best.a} (expected ${best.r!.expected})`,
    );
  }
  if (opts.prototxt) {
    const text = readInputText(opts.prototxt, 2 ** 24);
    const fromProto = caffeLayerOrder(
      prototxtLayerTypes(text).map((type) => ({ name: '', type, blobs: [] })),
    );
    if (fromProto && detected && fromProto !== detected)
      usage(`${opts.prototxt}: layer order (${fromProto}) disagrees with ${path} (${detected})`);
    detected ??= fromProto;
  }
  if (opts.arch && opts.arch !== 'alexnet2012' && opts.arch !== 'caffenet')
    usage(`variant ${opts.arch}: a Caffe model imports as alexnet2012 or caffenet`, 'arch');
  if (opts.arch && detected && opts.arch !== detected) {
    usage(
      `variant ${opts.arch}: ${path} has ${detected === 'caffenet' ? 'pooling before LRN (caffenet)' : 'LRN before pooling (alexnet2012)'}`,
      'arch',
    );
  }
  const arch = opts.arch ?? detected ?? 'alexnet2012';
  const tensors = mapCaffeLayers(layers, path);
  const lrns = layers.filter((l) => l.type === 'LRN');
  const lrnK = lrns[0]?.lrn?.k ?? 1; // Caffe's LRNParameter default k is 1
  for (const { name, lrn } of lrns) {
    if (
      lrn &&
      ((lrn.size ?? 5) !== 5 ||
        Math.abs((lrn.alpha ?? 1) - 1e-4) > 1e-9 ||
        Math.abs((lrn.beta ?? 0.75) - 0.75) > 1e-9 ||
        (lrn.k ?? 1) !== lrnK)
    ) {
      usage(
        `${path}: layer ${name}: LRN with size ${lrn.size}, alpha ${lrn.alpha}, beta ${lrn.beta}, k ${lrn.k} is not AlexNet's (5, 1e-4, 0.75, the same k in every LRN)`,
      );
    }
  }
  const conv1 = tensors.get('conv1.weight')!;
  const meta = importedMeta(
    arch,
    { classes: tensors.get('fc8.weight')!.shape[0], channels: conv1.shape[1], lrnK },
    'caffe',
  );
  return { tensors, meta };
}
