// Rewired versions of a valid ONNX AlexNet (the torch.onnx export fixture, tv_tiny.onnx): each
// keeps every weight and changes only the wiring or one attribute, and names the node that the
// importer must name when it refuses. Several of these run in onnxruntime with outputs that
// differ from the plain graph's — importing them as the plain graph was a silently wrong result.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataType,
  decodeModel,
  type OnnxModel,
  type OnnxNode,
} from '../../src/interop/onnx-proto.js';

export const ONNX_FIXTURE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'interop',
  'tv_tiny.onnx',
);

export interface OnnxMutant {
  name: string;
  /** The node the refusal must name. */
  node: string;
  mutate: (m: OnnxModel) => void;
}

const ints = (name: string, v: number[]) => ({ name, ints: v, type: 7 });
const int = (name: string, v: number) => ({ name, i: v, type: 2 });

function int64(name: string, values: number[], dims = [values.length]) {
  const raw = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), 8 * i));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(raw) };
}

const nodes = (m: OnnxModel): OnnxNode[] => m.graph!.node!;
const byOp = (m: OnnxModel, op: string, k = 0): OnnxNode =>
  nodes(m).filter((n) => n.opType === op)[k];

/** Inserts `node` after `after`, rewiring after's consumers to read node's output. */
function insertAfter(m: OnnxModel, after: OnnxNode, node: OnnxNode): void {
  const was = after.output![0];
  const now = node.output![0];
  for (const n of nodes(m)) n.input = n.input?.map((x) => (x === was ? now : x));
  node.input = [was, ...(node.input ?? []).slice(1)];
  nodes(m).splice(nodes(m).indexOf(after) + 1, 0, node);
}

export function loadFixture(): OnnxModel {
  return decodeModel(readFileSync(ONNX_FIXTURE));
}

export const ONNX_MUTANTS: OnnxMutant[] = [
  {
    name: 'channels permuted by a Gather between conv1 and its ReLU',
    node: 'permute',
    mutate: (m) => {
      const conv1 = byOp(m, 'Conv');
      m.graph!.initializer!.push(int64('perm', [1, 0, 2, 3, 4, 5, 6, 7]));
      insertAfter(m, conv1, {
        name: 'permute',
        opType: 'Gather',
        input: ['', 'perm'],
        output: ['permuted'],
        attribute: [int('axis', 1)],
      });
    },
  },
  {
    name: 'activations cast to int32 and back',
    node: 'to_int',
    mutate: (m) => {
      const relu = byOp(m, 'Relu');
      insertAfter(m, relu, {
        name: 'to_int',
        opType: 'Cast',
        input: [''],
        output: ['as_int'],
        attribute: [int('to', DataType.INT32)],
      });
      const toInt = nodes(m).find((n) => n.name === 'to_int')!;
      insertAfter(m, toInt, {
        name: 'to_float',
        opType: 'Cast',
        input: [''],
        output: ['as_float'],
        attribute: [int('to', DataType.FLOAT)],
      });
    },
  },
  {
    name: 'a cycle: conv2 reads the output of a later node',
    node: byOpName('Conv', 1),
    mutate: (m) => {
      const conv2 = byOp(m, 'Conv', 1);
      conv2.input![0] = byOp(m, 'Relu', 2).output![0];
    },
  },
  {
    name: 'a dangling input: conv3 reads a value nothing defines',
    node: byOpName('Conv', 2),
    mutate: (m) => {
      byOp(m, 'Conv', 2).input![0] = 'nowhere';
    },
  },
  {
    name: 'a branch: a second node reads conv1 output',
    node: 'side',
    mutate: (m) => {
      const conv1 = byOp(m, 'Conv');
      nodes(m).splice(1, 0, {
        name: 'side',
        opType: 'Relu',
        input: [conv1.output![0]],
        output: ['side_out'],
      });
    },
  },
  {
    name: 'conv1 dilated',
    node: byOpName('Conv', 0),
    mutate: (m) => {
      byOp(m, 'Conv').attribute = byOp(m, 'Conv').attribute!.map((a) =>
        a.name === 'dilations' ? ints('dilations', [2, 2]) : a,
      );
    },
  },
  {
    name: 'conv2 with auto_pad SAME_UPPER',
    node: byOpName('Conv', 1),
    mutate: (m) => {
      byOp(m, 'Conv', 1).attribute!.push({
        name: 'auto_pad',
        s: new Uint8Array(Buffer.from('SAME_UPPER')),
        type: 3,
      });
    },
  },
  {
    name: 'conv3 with an attribute AlexNet never sets',
    node: byOpName('Conv', 2),
    mutate: (m) => {
      byOp(m, 'Conv', 2).attribute!.push(int('frobnicate', 1));
    },
  },
  {
    name: 'conv4 group given as a float',
    node: byOpName('Conv', 3),
    mutate: (m) => {
      byOp(m, 'Conv', 3).attribute = byOp(m, 'Conv', 3).attribute!.map((a) =>
        a.name === 'group' ? { name: 'group', f: 2, type: 1 } : a,
      );
    },
  },
  {
    name: 'conv5 kernel_shape disagreeing with its weight',
    node: byOpName('Conv', 4),
    mutate: (m) => {
      byOp(m, 'Conv', 4).attribute = byOp(m, 'Conv', 4).attribute!.map((a) =>
        a.name === 'kernel_shape' ? ints('kernel_shape', [1, 1]) : a,
      );
    },
  },
  {
    name: 'the adaptive pool replaced by a 2×2 AveragePool',
    node: byOpName('AveragePool', 0),
    mutate: (m) => {
      byOp(m, 'AveragePool').attribute = [ints('kernel_shape', [2, 2]), ints('strides', [1, 1])];
    },
  },
  {
    name: 'fc6 weight computed by a Transpose',
    node: byOpName('Gemm', 0),
    mutate: (m) => {
      const gemm = byOp(m, 'Gemm');
      nodes(m).unshift({
        name: 'tw',
        opType: 'Transpose',
        input: [gemm.input![1]],
        output: ['w_t'],
      });
      gemm.input![1] = 'w_t';
    },
  },
  {
    name: 'a Dropout in training mode before fc7',
    node: 'drop',
    mutate: (m) => {
      m.graph!.initializer!.push({
        name: 'train_on',
        dims: [],
        dataType: 9,
        rawData: new Uint8Array([1]),
      });
      m.graph!.initializer!.push({
        name: 'ratio',
        dims: [],
        dataType: DataType.FLOAT,
        rawData: new Uint8Array(new Float32Array([0.5]).buffer),
      });
      insertAfter(m, byOp(m, 'Relu', 5), {
        name: 'drop',
        opType: 'Dropout',
        input: ['', 'ratio', 'train_on'],
        output: ['dropped'],
      });
    },
  },
  {
    name: 'a Reshape to 4-D between conv layers',
    node: 'reshape',
    mutate: (m) => {
      m.graph!.initializer!.push(int64('shape4', [0, -1, 1, 1]));
      insertAfter(m, byOp(m, 'Relu', 1), {
        name: 'reshape',
        opType: 'Reshape',
        input: ['', 'shape4'],
        output: ['reshaped'],
      });
    },
  },
  {
    name: 'the Flatten from axis 2',
    node: byOpName('Flatten', 0),
    mutate: (m) => {
      byOp(m, 'Flatten').attribute = [int('axis', 2)];
    },
  },
  {
    name: 'a Softmax between fc6 and its ReLU',
    node: 'soft',
    mutate: (m) => {
      insertAfter(m, byOp(m, 'Gemm'), {
        name: 'soft',
        opType: 'Softmax',
        input: [''],
        output: ['softened'],
        attribute: [int('axis', 1)],
      });
    },
  },
];

// The fixture's nodes have no names: the importer names a node by its first output, which is
// torch's "/features/features.N/Op_output_0". Resolved lazily from the fixture.
function byOpName(op: string, k: number): string {
  const n = byOp(loadFixture(), op, k);
  return n.name || n.output![0];
}
