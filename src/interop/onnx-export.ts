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
    name: string,
    opType: string,
    extraInputs: string[],
    attribute: OnnxAttribute[],
  ): void => {
    const out = name;
    nodes.push({
      name,
      opType,
      input: [current, ...extraInputs],
      output: [out],
      attribute,
    });
    current = out;
  };
  const param = (name: string): OnnxTensor => {
    const p = net.paramsByName.get(name);
    if (!p) return usage(`${name}: no such parameter`);
    return floatTensor(name, p.shape, hostData(net.backend, p.value));
  };
  net.specs.forEach((spec, i) => {
    const inShape = i === 0 ? net.input : net.rows[i - 1].output; // [C, H, W] or [D]
    const [weight, bias] = [`${spec.name}.weight`, `${spec.name}.bias`];
    switch (spec.kind) {
      case 'conv': {
        const { k, stride, pad, groups } = spec;
        initializer.push(param(weight), param(bias));
        emit(
          spec.name,
          'Conv',
          [weight, bias],
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
      case 'linear':
        initializer.push(param(weight), param(bias));
        emit(
          spec.name,
          'Gemm',
          [weight, bias],
          [float('alpha', 1), float('beta', 1), int('transB', 1)],
        );
        break;
      case 'relu':
        emit(spec.name, 'Relu', [], []);
        break;
      case 'tanh':
        emit(spec.name, 'Tanh', [], []);
        break;
      case 'sigmoid':
        emit(spec.name, 'Sigmoid', [], []);
        break;
      case 'maxpool':
      case 'avgpool': {
        const { k, stride } = spec;
        const pad = spec.pad ?? 0;
        const attrs = [
          ints('kernel_shape', [k, k]),
          ints('strides', [stride, stride]),
          ints('pads', [pad, pad, pad, pad]),
        ];
        if (spec.kind === 'avgpool') attrs.push(int('count_include_pad', 1));
        emit(spec.name, spec.kind === 'maxpool' ? 'MaxPool' : 'AveragePool', [], attrs);
        break;
      }
      case 'adaptiveavgpool': {
        const size = spec.size;
        const [, h, w] = inShape;
        if (h === size && w === size) break; // already the target size: the identity
        if (h % size !== 0 || w % size !== 0) {
          usage(
            `${spec.name}: adaptive pooling from ${h}×${w} to ${size}×${size} has uneven windows and no fixed ONNX form; export at an input size where it divides evenly (e.g. 224)`,
          );
        }
        emit(
          spec.name,
          'AveragePool',
          [],
          [ints('kernel_shape', [h / size, w / size]), ints('strides', [h / size, w / size])],
        );
        break;
      }
      case 'lrn': {
        const { size, alpha, beta, k, alphaScaling } = spec;
        emit(
          spec.name,
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
        if (net.opts.dropoutMode === 'inverted') break; // identity at test time
        const scaleName = `${spec.name}.scale`;
        initializer.push(floatTensor(scaleName, [], new Float32Array([1 - spec.p])));
        emit(spec.name, 'Mul', [scaleName], []);
        break;
      }
      case 'flatten':
        emit(spec.name, 'Flatten', [], [int('axis', 1)]);
        break;
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
