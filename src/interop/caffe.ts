// Caffe → this project: `bvlc_alexnet.caffemodel` (alexnet2012: LRN before pooling) or
// `bvlc_reference_caffenet.caffemodel` (caffenet: pooling before LRN). The model file is a
// NetParameter protobuf; its layers (new `layer` or V1 `layers`) carry the weights as BlobProtos
// in PyTorch's layouts already (conv [out, in/groups, kh, kw], inner product [out, in]), under
// the names conv1 … fc8. Caffe's conventions go into the metadata: BGR pixels in [0, 255] minus
// the mean, 227 crops, LRN k = 1.
import protobuf from 'protobufjs';
import type { Arch } from '../models/config.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { readInputFile, readInputText } from '../util/input-file.js';
import { CAFFE_PREPROCESS, importedMeta } from './conventions.js';
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
            lrnParam: { type: 'LRNParameter', id: 118 },
          },
        },
        V1LayerParameter: {
          fields: {
            name: { type: 'string', id: 4 },
            type: { type: 'int32', id: 5 }, // V1 LayerType enum: CONVOLUTION 4, INNER_PRODUCT 14, LRN 15, POOLING 17
            blobs: { rule: 'repeated', type: 'BlobProto', id: 6 },
            lrnParam: { type: 'LRNParameter', id: 18 },
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

const NetParameter = protobuf.Root.fromJSON(descriptor).lookupType('caffe.NetParameter');
const V1_TYPE_NAMES: Record<number, string> = {
  4: 'Convolution',
  14: 'InnerProduct',
  15: 'LRN',
  17: 'Pooling',
  18: 'ReLU',
  6: 'Dropout',
  20: 'Softmax',
  5: 'Data',
};

interface CaffeBlob {
  num?: number;
  channels?: number;
  height?: number;
  width?: number;
  data?: number[];
  shape?: { dim?: number[] };
}
interface CaffeLayer {
  name?: string;
  type?: string | number;
  blobs?: CaffeBlob[];
  lrnParam?: { localSize?: number; alpha?: number; beta?: number; k?: number };
}

export interface CaffeLayerInfo {
  name: string;
  type: string;
  blobs: Tensor[];
  lrn?: { size?: number; alpha?: number; beta?: number; k?: number };
}

/** Decodes a .caffemodel into its layers in file order, with their blobs as tensors. */
export function parseCaffeModel(buf: Uint8Array, source: string): CaffeLayerInfo[] {
  let net: { layer?: CaffeLayer[]; layers?: CaffeLayer[] };
  try {
    net = NetParameter.toObject(NetParameter.decode(buf), {
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
  let detected = caffeLayerOrder(layers);
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
    usage(`--arch ${opts.arch}: a Caffe model imports as alexnet2012 or caffenet`);
  if (opts.arch && detected && opts.arch !== detected) {
    usage(
      `--arch ${opts.arch}: ${path} has ${detected === 'caffenet' ? 'pooling before LRN (caffenet)' : 'LRN before pooling (alexnet2012)'}`,
    );
  }
  const arch = opts.arch ?? detected ?? 'alexnet2012';
  const tensors = mapCaffeLayers(layers, path);
  const lrn = layers.find((l) => l.type === 'LRN')?.lrn;
  const lrnK = lrn?.k ?? 1; // Caffe's LRNParameter default k is 1
  if (
    lrn &&
    ((lrn.size ?? 5) !== 5 ||
      Math.abs((lrn.alpha ?? 1) - 1e-4) > 1e-9 ||
      Math.abs((lrn.beta ?? 0.75) - 0.75) > 1e-9)
  ) {
    usage(
      `${path}: LRN with size ${lrn.size}, alpha ${lrn.alpha}, beta ${lrn.beta} is not AlexNet's (5, 1e-4, 0.75)`,
    );
  }
  const conv1 = tensors.get('conv1.weight')!;
  const meta = importedMeta(
    arch,
    { classes: tensors.get('fc8.weight')!.shape[0], channels: conv1.shape[1], lrnK },
    CAFFE_PREPROCESS,
  );
  return { tensors, meta };
}
