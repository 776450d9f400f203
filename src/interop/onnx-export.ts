// ONNX export (opset 11): the network's layer list becomes a graph node by node, with a dynamic
// batch dimension ("N"), parameters as float initializers under their own names (conv1.weight …)
// and the model's metadata (config, class names, preprocessing) in metadata_props.
// Conventions that differ from ONNX's defaults are made explicit here:
//   - LRN: ONNX divides alpha by size (as Caffe and PyTorch do); a model with alphaScaling
//     'absolute' (the paper's printed formula) exports alpha·size;
//   - classic dropout's test-time scale (1 − p) becomes a Mul; inverted dropout is the identity;
//   - adaptive average pooling is fixed by the input size: omitted when it is already the target
//     size, an AveragePool when the size divides evenly, refused otherwise.
import { hostData } from '../backend/backend.js';
import type { Net } from '../nn/net.js';
import type { Layer } from '../nn/layer.js';
import type { Conv2d } from '../nn/conv.js';
import type { Linear } from '../nn/linear.js';
import type { Pool2d, AdaptiveAvgPool2d } from '../nn/pool.js';
import type { Lrn } from '../nn/lrn.js';
import type { Dropout } from '../nn/dropout.js';
import type { ModelMeta } from '../models/config.js';
import { metaToStrings } from '../models/checkpoint.js';
import { usage } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import {
  AttrType,
  DataType,
  encodeModel,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';

export const EXPORT_OPSET = 11;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';

const ints = (name: string, v: number[]): OnnxAttribute => ({ name, type: AttrType.INTS, ints: v });
const int = (name: string, v: number): OnnxAttribute => ({ name, type: AttrType.INT, i: v });
const float = (name: string, v: number): OnnxAttribute => ({ name, type: AttrType.FLOAT, f: v });

function floatTensor(name: string, dims: readonly number[], data: Float32Array): OnnxTensor {
  return {
    name,
    dims: [...dims],
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

/** Builds the ONNX model of a network (eval mode: dropout is its test-time form). */
export function netToOnnx(net: Net, meta: ModelMeta): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializer: OnnxTensor[] = [];
  let current = INPUT_NAME;
  const emit = (
    layer: Layer,
    opType: string,
    extraInputs: string[],
    attribute: OnnxAttribute[],
  ): void => {
    const out = layer.name;
    nodes.push({
      name: layer.name,
      opType,
      input: [current, ...extraInputs],
      output: [out],
      attribute,
    });
    current = out;
  };
  net.layers.forEach((layer, i) => {
    const inShape = i === 0 ? net.input : net.rows[i - 1].output; // [C, H, W] or [D]
    switch (layer.kind) {
      case 'conv': {
        const c = layer as Conv2d;
        const { k, stride, pad, groups } = c.spec;
        initializer.push(
          floatTensor(c.weight.name, c.weight.shape, hostData(net.backend, c.weight.value)),
          floatTensor(c.bias.name, c.bias.shape, hostData(net.backend, c.bias.value)),
        );
        emit(
          layer,
          'Conv',
          [c.weight.name, c.bias.name],
          [
            ints('kernel_shape', [k, k]),
            ints('strides', [stride, stride]),
            ints('pads', [pad, pad, pad, pad]),
            ints('dilations', [1, 1]),
            int('group', groups),
          ],
        );
        break;
      }
      case 'linear': {
        const l = layer as Linear;
        initializer.push(
          floatTensor(l.weight.name, l.weight.shape, hostData(net.backend, l.weight.value)),
          floatTensor(l.bias.name, l.bias.shape, hostData(net.backend, l.bias.value)),
        );
        emit(
          layer,
          'Gemm',
          [l.weight.name, l.bias.name],
          [float('alpha', 1), float('beta', 1), int('transB', 1)],
        );
        break;
      }
      case 'relu':
        emit(layer, 'Relu', [], []);
        break;
      case 'tanh':
        emit(layer, 'Tanh', [], []);
        break;
      case 'sigmoid':
        emit(layer, 'Sigmoid', [], []);
        break;
      case 'maxpool':
      case 'avgpool': {
        const { k, stride } = (layer as Pool2d).spec;
        const pad = (layer as Pool2d).spec.pad ?? 0;
        const attrs = [
          ints('kernel_shape', [k, k]),
          ints('strides', [stride, stride]),
          ints('pads', [pad, pad, pad, pad]),
        ];
        if (layer.kind === 'avgpool') attrs.push(int('count_include_pad', 1));
        emit(layer, layer.kind === 'maxpool' ? 'MaxPool' : 'AveragePool', [], attrs);
        break;
      }
      case 'adaptiveavgpool': {
        const size = (layer as AdaptiveAvgPool2d).spec.size;
        const [, h, w] = inShape;
        if (h === size && w === size) break; // already the target size: the identity
        if (h % size !== 0 || w % size !== 0) {
          usage(
            `${layer.name}: adaptive pooling from ${h}×${w} to ${size}×${size} has uneven windows and no fixed ONNX form; export at an input size where it divides evenly (e.g. 224)`,
          );
        }
        emit(
          layer,
          'AveragePool',
          [],
          [ints('kernel_shape', [h / size, w / size]), ints('strides', [h / size, w / size])],
        );
        break;
      }
      case 'lrn': {
        const { size, alpha, beta, k, alphaScaling } = (layer as Lrn).spec;
        emit(
          layer,
          'LRN',
          [],
          [
            int('size', size),
            float('alpha', alphaScaling === 'absolute' ? alpha * size : alpha),
            float('beta', beta),
            float('bias', k),
          ],
        );
        break;
      }
      case 'dropout': {
        const d = layer as Dropout;
        if (d.mode === 'inverted') break; // identity at test time
        const scaleName = `${layer.name}.scale`;
        initializer.push(floatTensor(scaleName, [], new Float32Array([1 - d.spec.p])));
        emit(layer, 'Mul', [scaleName], []);
        break;
      }
      case 'flatten':
        emit(layer, 'Flatten', [], [int('axis', 1)]);
        break;
      default:
        usage(`${layer.name}: layer kind ${layer.kind} has no ONNX export`);
    }
  });
  // The graph output is named "logits": rename the last node's output.
  const last = nodes[nodes.length - 1];
  last.output = [OUTPUT_NAME];
  const dims = (shape: readonly number[]) => [
    { dimParam: 'N' },
    ...shape.map((d) => ({ dimValue: d })),
  ];
  return {
    irVersion: 6,
    producerName: 'alexnet-ts',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    metadataProps: Object.entries(metaToStrings(meta))
      .filter(([k]) => k !== 'format')
      .map(([key, value]) => ({ key, value })),
    graph: {
      name: meta.config.arch,
      node: nodes,
      initializer,
      input: [
        {
          name: INPUT_NAME,
          type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims(net.input) } } },
        },
      ],
      output: [
        {
          name: OUTPUT_NAME,
          type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims(net.outputShape) } } },
        },
      ],
    },
  };
}

export function exportOnnx(path: string, net: Net, meta: ModelMeta): void {
  writeFileAtomic(path, encodeModel(netToOnnx(net, meta)));
}
