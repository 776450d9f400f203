// The hostile inputs, by class, each generated here into a temporary directory (nothing large
// is committed) with the command that reads it and what a clean outcome looks like. The classes
// follow issue 17's report: special files, memory from small files, stack traces from parser
// internals, silently wrong results.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig } from '../../src/models/config.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { writeNpy } from '../../src/tensor/npy.js';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  deflatedZeros,
  idxRaw,
  npyRaw,
  op,
  type PickledTensor,
  png,
  safetensorsRaw,
  stateDictPickle,
  torchLegacy,
  torchZip,
  zip,
} from './build.js';
import type { Expectation } from './run.js';
import { encodeModel } from '../../src/interop/onnx-proto.js';
import { ONNX_MUTANTS, loadFixture } from './onnx-mutants.js';

export interface HostileCase {
  klass: string;
  name: string;
  args: string[];
  expect: Expectation;
  timeoutMs?: number;
}

/** Peak memory a refused input may cost: node, the addon and sharp loaded, plus small change. */
const SMALL = 400;

export interface Bases {
  /** A valid input for the d2l model: [1, 1, 67, 67]. */
  x: string;
  /** An RGB model (d2l layers, 3 channels at 67, RGB preprocessing with resize 72), zero weights. */
  model: string;
  /** Peak memory of `predict` on a valid image with that model, measured by the caller. */
  predictMiB: number;
}

export function writeBases(dir: string): Omit<Bases, 'predictMiB'> {
  const x = join(dir, 'x.npy');
  writeNpy(x, new Tensor([1, 3, 67, 67]));
  const config = defaultConfig('d2l', { channels: 3, inputSize: 67 });
  const model = join(dir, 'rgb.safetensors');
  saveModel(model, buildNet(config, refBackend), {
    config,
    classNames: Array.from({ length: config.classes }, (_, i) => `c${i}`),
    preprocess: {
      colorOrder: 'rgb',
      resize: 72,
      cropSize: 67,
      pixelScale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      invert: false,
    },
  });
  writeFileSync(join(dir, 'ok.png'), png(80, 70));
  return { x, model };
}

function idxDir(dir: string, over: Record<string, Uint8Array> = {}): string {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte': idxRaw([4, 28, 28], new Uint8Array(4 * 784)),
    'train-labels-idx1-ubyte': idxRaw([4], Uint8Array.from([0, 1, 2, 3])),
    't10k-images-idx3-ubyte': idxRaw([2, 28, 28], new Uint8Array(2 * 784)),
    't10k-labels-idx1-ubyte': idxRaw([2], Uint8Array.from([4, 5])),
    ...over,
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

export function hostileCases(dir: string, b: Bases): HostileCase[] {
  const cases: HostileCase[] = [];
  const out = (name: string): string => join(dir, `out-${name}`);
  const file = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const add = (
    klass: string,
    name: string,
    args: string[],
    expect: Partial<Expectation> & { names: string },
    timeoutMs?: number,
  ): void => {
    cases.push({ klass, name, args, expect: { maxMiB: SMALL, ...expect }, timeoutMs });
  };
  const infer = (klass: string, name: string, model: string, input: string, says?: RegExp) => {
    const o = out(`${name}.npy`);
    const bad = model === b.model ? input : model;
    add(klass, name, ['infer', '--model', model, '--input', input, '--output', o], {
      names: bad,
      says,
      outputs: [o],
    });
  };
  const importing = (klass: string, name: string, src: string, from: string, says?: RegExp) => {
    const o = out(`${name}.safetensors`);
    add(klass, name, ['import', src, '--from', from, '--output', o], {
      names: src,
      says,
      outputs: [o],
    });
  };
  const predict = (klass: string, name: string, image: string, says?: RegExp, views = 'center') =>
    add(klass, name, ['predict', '--model', b.model, '--views', views, image], {
      names: image,
      says,
      maxMiB: b.predictMiB + 150,
    });
  const train = (klass: string, name: string, data: string, names: string, says?: RegExp) => {
    const o = join(dir, `run-${name}`);
    add(klass, name, ['train', '--data', data, '--out', o, '--epochs', '1'], {
      names,
      says,
      outputs: [join(o, 'model.safetensors'), join(o, 'checkpoint.safetensors')],
    });
  };

  // ---- special files: regular files only, never read without end, never wait ----
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const S = 'special files';
  const notRegular = /not a regular file/;
  infer(S, '/dev/zero as --model', '/dev/zero', b.x, notRegular);
  infer(S, '/dev/urandom as --input', b.model, '/dev/urandom', notRegular);
  infer(S, 'a FIFO without a writer as --model', fifo, b.x, notRegular);
  infer(S, 'a directory as --model', dir, b.x, notRegular);
  const link = join(dir, 'zero-link.safetensors');
  symlinkSync('/dev/zero', link);
  infer(S, 'a symlink to /dev/zero as --model', link, b.x, notRegular);
  importing(S, 'a FIFO to import', fifo, 'onnx', notRegular);
  importing(S, '/dev/zero to import', '/dev/zero', 'torchvision', notRegular);
  predict(S, '/dev/urandom as an image', '/dev/urandom', notRegular);
  const fifoIdx = idxDir(join(dir, 'idx-fifo'), {});
  const fifoImages = join(fifoIdx, 'train-images-idx3-ubyte');
  execFileSync('rm', [fifoImages]);
  execFileSync('mkfifo', [fifoImages]);
  train(S, 'a FIFO as IDX images', fifoIdx, fifoImages, notRegular);

  // ---- safetensors headers of the wrong JSON types ----
  const T = 'safetensors header types';
  const f32 = new Uint8Array(16);
  const st = (name: string, header: unknown, says: RegExp) =>
    infer(
      T,
      name,
      file(`${name.replace(/\W+/g, '-')}.safetensors`, safetensorsRaw(header, f32)),
      b.x,
      says,
    );
  st(
    'string data_offsets',
    { w: { dtype: 'F32', shape: [2], data_offsets: ['8', '16'] } },
    /data_offsets/,
  );
  st('string shape', { w: { dtype: 'F32', shape: '4', data_offsets: [0, 16] } }, /shape/);
  st('numeric dtype', { w: { dtype: 1, shape: [4], data_offsets: [0, 16] } }, /dtype/);
  st(
    'fractional offset',
    { w: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8.5] } },
    /data_offsets/,
  );
  st('negative offset', { w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, /data_offsets/);
  st(
    'offsets backwards',
    { w: { dtype: 'F32', shape: [0], data_offsets: [16, 0] } },
    /does not fit/,
  );
  st('non-string metadata', { __metadata__: { 'alexnet.meta': { config: 1 } } }, /__metadata__/);
  st('a tensor entry that is null', { w: null }, /tensor w/);
  st('a header that is an array', [1, 2], /not an object/);
  st(
    'an entry with an extra key',
    { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16], x: 1 } },
    /tensor w/,
  );
  st('a shape of 2^53', { w: { dtype: 'F32', shape: [2 ** 53], data_offsets: [0, 16] } }, /shape/);
  st('deeply nested JSON', '{"w":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', /tensor w/);
  const hugeLen = Buffer.alloc(24);
  hugeLen.writeBigUInt64LE(2n ** 63n);
  infer(T, 'header length 2^63', file('huge-len.safetensors', hugeLen), b.x, /header length/);
  const nlName = {
    'w\nat Object.<anonymous> (x.js:1:1)': { dtype: 'F32', shape: [1], data_offsets: [0, 8] },
  };
  st('a tensor name with a newline', nlName, /does not fit/);

  // ---- .npy headers ----
  const N = '.npy headers';
  const npy = (name: string, header: string, says: RegExp, data?: Uint8Array) =>
    infer(N, name, b.model, file(`${name.replace(/\W+/g, '-')}.npy`, npyRaw(header, data)), says);
  npy(
    'a shape of 1e30',
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1e30,), }",
    /bad shape/,
  );
  npy(
    'a shape of 2^32 × 2^32',
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
    /truncated/,
  );
  npy(
    'a negative shape',
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }",
    /bad shape/,
  );
  npy(
    'rank 64',
    `{'descr': '<f4', 'fortran_order': False, 'shape': (${'1,'.repeat(64)}), }`,
    /bad shape/,
  );
  npy('complex dtype', "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", /dtype/);
  npy('no shape', "{'descr': '<f4', 'fortran_order': False}", /shape/);
  const longHeader = npyRaw("{'descr': '<f4'");
  longHeader.writeUInt16LE(65535, 8);
  infer(
    N,
    'a header longer than the file',
    b.model,
    file('long-header.npy', longHeader),
    /bad header/,
  );

  // ---- .pth files that would cost gigabytes ----
  const P = '.pth memory';
  const expanded: [string, PickledTensor][] = [];
  for (let i = 0; i < 40; i++)
    expanded.push([`t${i}`, { key: '0', numel: 1, size: [4096, 9216], stride: [0, 0] }]);
  const stride0 = torchZip(stateDictPickle(expanded), { '0': new Uint8Array(4) });
  importing(
    P,
    'stride-0 views of one float (6 GB expanded)',
    file('stride0.pth', stride0),
    'torchvision',
    /repeats elements/,
  );
  const overlap = torchZip(
    stateDictPickle([['w', { key: '0', numel: 64, size: [8, 8], stride: [1, 1] }]]),
    { '0': new Uint8Array(256) },
  );
  importing(
    P,
    'an overlapping view',
    file('overlap.pth', overlap),
    'torchvision',
    /repeats elements/,
  );
  const zeros64 = deflatedZeros(2 ** 26);
  const honestBomb = zip([
    { name: 'archive/data.pkl', data: stateDictPickle([]) },
    ...Array.from({ length: 20 }, (_, i) => ({
      name: `archive/data/${i}`,
      data: zeros64,
      method: 8 as const,
      declared: 2 ** 26,
    })),
  ]);
  importing(
    P,
    'a zip bomb (1.25 GiB from 1.3 MB)',
    file('zipbomb.pth', honestBomb),
    'torchvision',
    /zip bomb/,
  );
  const liar = zip([
    {
      name: 'archive/data.pkl',
      data: stateDictPickle([['w', { key: '0', numel: 2 ** 26, size: [2 ** 24], stride: [1] }]]),
    },
    { name: 'archive/data/0', data: zeros64, method: 8, declared: 100 },
  ]);
  importing(
    P,
    'a zip member that lies about its size',
    file('ziplie.pth', liar),
    'torchvision',
    /storage/,
  );

  // a zip64 end record whose entry count says 16 million (one flipped bit found by the fuzzer):
  // the directory walk took 40 s over garbage
  const zip64 = zip([{ name: 'archive/data.pkl', data: stateDictPickle([]) }]);
  const eocd = zip64.length - 22;
  const record = Buffer.alloc(56 + 20);
  record.writeUInt32LE(0x06064b50, 0); // zip64 end of central directory record
  record.writeBigUInt64LE(44n, 4);
  record.writeBigUInt64LE(2n ** 24n, 32); // entries
  record.writeBigUInt64LE(BigInt(zip64.readUInt32LE(eocd + 12)), 40); // directory size
  record.writeBigUInt64LE(BigInt(zip64.readUInt32LE(eocd + 16)), 48); // directory offset
  record.writeUInt32LE(0x07064b50, 56); // zip64 locator
  record.writeBigUInt64LE(BigInt(eocd), 64);
  const zip64Bytes = Buffer.concat([zip64.subarray(0, eocd), record, zip64.subarray(eocd)]);
  importing(
    P,
    'a zip64 record claiming 16 million entries',
    file('zip64.pth', zip64Bytes),
    'torchvision',
    /entries/,
  );

  // ---- pickles that overflowed the stack ----
  const K = '.pth pickle depth';
  const deep = Buffer.concat([
    op.proto,
    Buffer.alloc(1_000_000, '('),
    Buffer.alloc(1_000_000, 'l'),
    op.stop,
  ]);
  importing(
    K,
    'a legacy pickle nested a million lists deep',
    file('deep-legacy.pth', torchLegacy(deep, [])),
    'torchvision',
    /state dict/,
  );
  const deepZip = torchZip(
    Buffer.concat([op.proto, Buffer.alloc(1_000_000, '('), Buffer.alloc(1_000_000, 'l'), op.stop]),
    {},
  );
  importing(
    K,
    'a zip pickle nested a million lists deep',
    file('deep-zip.pth', deepZip),
    'torchvision',
    /state dict/,
  );
  const wide = Buffer.concat([
    op.proto,
    op.emptyList,
    op.mark,
    Buffer.alloc(500_000, 'N'),
    op.appends,
    op.stop,
  ]);
  importing(
    K,
    'APPENDS of half a million items',
    file('wide.pth', torchLegacy(wide, [])),
    'torchvision',
    /state dict/,
  );
  const longLong = Buffer.concat([
    op.proto,
    Buffer.from('L' + '9'.repeat(1_000_000) + 'L\n'),
    op.stop,
  ]);
  importing(
    K,
    'a LONG of a million digits',
    file('long-long.pth', torchZip(longLong, {})),
    'torchvision',
    /LONG/,
  );

  // ---- IDX data ----
  const I = 'IDX data';
  const lab255 = idxDir(join(dir, 'idx-255'), {
    'train-labels-idx1-ubyte': idxRaw([4], Uint8Array.from([0, 1, 255, 3])),
  });
  train(
    I,
    'a label of 255',
    lab255,
    join(lab255, 'train-labels-idx1-ubyte'),
    /label 255 at index 2/,
  );
  const lab10 = idxDir(join(dir, 'idx-10'), {
    't10k-labels-idx1-ubyte': idxRaw([2], Uint8Array.from([1, 10])),
  });
  train(
    I,
    'a test label of 10',
    lab10,
    join(lab10, 't10k-labels-idx1-ubyte'),
    /label 10 at index 1/,
  );
  const zero = idxDir(join(dir, 'idx-0x0'), {
    'train-images-idx3-ubyte': idxRaw([4, 0, 0], new Uint8Array(0)),
  });
  train(I, '0×0 images', zero, join(zero, 'train-images-idx3-ubyte'), /0×0/);
  const none = idxDir(join(dir, 'idx-none'), {
    'train-images-idx3-ubyte': idxRaw([0, 28, 28], new Uint8Array(0)),
    'train-labels-idx1-ubyte': idxRaw([0], new Uint8Array(0)),
  });
  train(I, 'no images', none, join(none, 'train-images-idx3-ubyte'), /no images/);
  const member = gzipSync(Buffer.alloc(2 ** 26), { level: 9 });
  const bomb = Buffer.concat([
    gzipSync(idxRaw([4, 28, 28], new Uint8Array(2 ** 26))),
    ...Array.from({ length: 19 }, () => member),
  ]);
  const bombDir = idxDir(join(dir, 'idx-bomb'), {});
  execFileSync('rm', [join(bombDir, 'train-images-idx3-ubyte')]);
  writeFileSync(join(bombDir, 'train-images-idx3-ubyte.gz'), bomb);
  train(
    I,
    'a gzip bomb (1.25 GiB from 1.3 MB)',
    bombDir,
    'train-images-idx3-ubyte.gz',
    /gzip bomb/,
  );
  const claim = idxDir(join(dir, 'idx-claim'), {
    'train-images-idx3-ubyte': idxRaw([65536, 65536, 65536], new Uint8Array(16)),
  });
  train(I, 'a header claiming 2^48 bytes', claim, join(claim, 'train-images-idx3-ubyte'), /bound/);

  // ---- images ----
  const G = 'images';
  predict(G, 'a 12000×1 PNG', file('wide-12000.png', png(12000, 1)), /pixel bound/);
  predict(G, 'a 60000×1 PNG', file('wide-60000.png', png(60000, 1)), /pixel bound/);
  predict(
    G,
    'a 60000×1 PNG, ten views',
    file('wide-60000-10.png', png(60000, 1)),
    /pixel bound/,
    '10',
  );
  predict(G, 'a PNG declaring 30000×30000', file('huge.png', png(30000, 30000, 1)), /pixel bound/);
  predict(
    G,
    'a truncated PNG',
    file('trunc.png', png(80, 70).subarray(0, 60)),
    /cannot read image/,
  );

  // ---- ONNX graphs rewired around the same weights (silently wrong before) ----
  const W = 'ONNX wiring';
  for (const mutant of ONNX_MUTANTS) {
    const m = loadFixture();
    mutant.mutate(m);
    const path = file(`rewired-${cases.length}.onnx`, encodeModel(m));
    const o = out(`rewired-${cases.length}.safetensors`);
    add(W, mutant.name, ['import', path, '--from', 'onnx', '--output', o], {
      names: path,
      alsoNames: `"${mutant.node}"`,
      outputs: [o],
    });
  }

  // ---- protobuf parsers ----
  const B = 'protobuf nesting';
  const groups = Buffer.concat([Buffer.alloc(200_000, 0x0b)]); // field 1, wire type 3 (start group), nested
  importing(
    B,
    'a caffemodel of nested groups',
    file('groups.caffemodel', groups),
    'caffe',
    /Caffe/,
  );
  importing(B, 'an ONNX file of nested groups', file('groups.onnx', groups), 'onnx', /ONNX/);
  return cases;
}
