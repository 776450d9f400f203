// Seeded mutation fuzzing of every parser, with an oracle for what an accepted mutation may do.
// Each target is a valid file and a reader that returns its tensors (and the model's metadata);
// a mutation flips bits, overwrites bytes with boundary values, or truncates. Verdicts:
//   refused   — a one-line UsageError (the CLI's exit 2);
//   identical — accepted, every tensor and the metadata bit-equal to the original's, so the
//               logits are too (the mutation hit bytes that carry nothing, e.g. a zip comment);
//   faithful  — accepted, and every element that differs is one whose own stored bytes were
//               mutated (a flipped weight read as flipped, nothing else moved);
//   violation — anything else: another exception, or a change the mutated bytes do not explain.
// test/hostile/fuzz.test.ts runs a small fixed budget; bench/fuzz.ts runs a longer one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { imageToInput } from '../../src/data/image.js';
import { PREPROCESS_PRESETS } from '../../src/data/presets.js';
import { readIdx } from '../../src/data/idx.js';
import { readForeignModel, type ImportFormat } from '../../src/interop/import.js';
import { isTensor, type TensorRef } from '../../src/interop/pickle.js';
import { readTorchFile } from '../../src/interop/torch-file.js';
import { TORCHVISION_LAYER_NAMES } from '../../src/interop/torchvision.js';
import { encodeNpy, parseNpy } from '../../src/tensor/npy.js';
import { encodeSafetensors, parseSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const FIX = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'interop');

/** What a reader got out of a file: raw element bytes per tensor, and any metadata as JSON. */
export interface Reading {
  tensors: Map<string, { bytes: Uint8Array; width: number }>;
  meta: string;
}

export interface Target {
  name: string;
  bytes: Buffer;
  /** Reads the file at `path` (holding `bytes`). */
  read: (path: string, bytes: Buffer) => Reading | Promise<Reading>;
  /** Whether a changed element is expected to follow its stored bytes (images: no oracle). */
  elementwise: boolean;
  /** What a faithful reader finds in a (mutated) file, worked out from the format's layout:
   *  each tensor's element → byte position, and the metadata. Null when it cannot say (then
   *  elements may change only where their original bytes were mutated). */
  expect?: (bytes: Buffer, path: string) => Expected | null;
}

export interface Expected {
  positions: Map<string, (e: number) => number>;
  meta?: string;
}

const f32 = (t: Tensor) => ({
  bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  width: 4,
});

function randomTensor(shape: number[], rng: Rng): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c)));

/** .npy version 1, '<f4': the data starts where the header length says. */
function npyExpect(b: Buffer): Expected | null {
  if (b.length < 10 || b[6] !== 1) return null;
  const start = 10 + b.readUInt16LE(8);
  if (!/'descr': '<f4'/.test(b.toString('latin1', 10, start))) return null;
  return { positions: new Map([['x', (e) => start + 4 * e]]) };
}

/** safetensors by its specification: the header's offsets, relative to the header's end. */
function safetensorsExpect(b: Buffer): Expected | null {
  try {
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + n)),
    );
    const positions = new Map<string, (e: number) => number>();
    for (const [k, v] of Object.entries(header as Record<string, { data_offsets: number[] }>))
      if (k !== '__metadata__') positions.set(k, (e) => 8 + n + v.data_offsets[0] + 4 * e);
    return { positions, meta: JSON.stringify(header.__metadata__ ?? {}) };
  } catch {
    return null;
  }
}

/** torch.save files: each tensor's elements through its (offset, size, stride) into the bytes
 *  of its storage in the file. The pickle is read by this project's unpickler — what is checked
 *  independently is the strided reading, not the pickle. */
function torchExpect(b: Buffer, path: string): Expected | null {
  let file: ReturnType<typeof readTorchFile>;
  try {
    file = readTorchFile(path);
  } catch {
    return null;
  }
  if (!(file.root instanceof Map)) return null;
  const positions = new Map<string, (e: number) => number>();
  for (const [key, t] of file.root as Map<unknown, unknown>) {
    if (typeof key !== 'string' || !isTensor(t as never)) continue;
    const ref = t as TensorRef;
    const storage = file.storages.get(ref.storage.key);
    if (!storage) return null;
    const start =
      storage.buffer === b.buffer
        ? storage.byteOffset - b.byteOffset
        : b.indexOf(Buffer.from(storage));
    if (start < 0) return null;
    const dot = key.lastIndexOf('.');
    const name = `${TORCHVISION_LAYER_NAMES[key.slice(0, dot)]}.${key.slice(dot + 1)}`;
    positions.set(name, (e) => {
      let at = ref.offset;
      for (let d = ref.shape.length - 1; d >= 0; d--) {
        at += (e % ref.shape[d]) * ref.stride[d];
        e = Math.floor(e / ref.shape[d]);
      }
      return start + 4 * at;
    });
  }
  return { positions };
}

function foreign(file: string, from: ImportFormat): Target {
  return {
    name: file,
    bytes: readFileSync(join(FIX, file)),
    elementwise: true,
    expect: from === 'torchvision' ? torchExpect : undefined,
    read: (path) => {
      const { tensors, meta } = readForeignModel(path, { from });
      return {
        tensors: new Map([...tensors].map(([k, t]) => [k, f32(t)])),
        meta: JSON.stringify(meta),
      };
    },
  };
}

export async function fuzzTargets(): Promise<Target[]> {
  const rng = new Rng(17);
  const st = new Map([
    ['conv1.weight', randomTensor([4, 3, 3, 3], rng)],
    ['conv1.bias', randomTensor([4], rng)],
    ['fc.weight', randomTensor([5, 16], rng)],
  ]);
  const idxImages = Buffer.alloc(16 + 3 * 28 * 28);
  idxImages.writeUInt32BE(0x803, 0);
  [3, 28, 28].forEach((d, i) => idxImages.writeUInt32BE(d, 4 + 4 * i));
  for (let i = 16; i < idxImages.length; i++) idxImages[i] = rng.int(256);
  const idxRead = (path: string): Reading => {
    const { dims, data } = readIdx(path);
    return { tensors: new Map([['data', { bytes: data, width: 1 }]]), meta: JSON.stringify(dims) };
  };
  const pixels = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  const raw = { raw: { width: 40, height: 30, channels: 3 as const } };
  const image = (name: string, bytes: Buffer): Target => ({
    name,
    bytes,
    elementwise: false,
    read: async (path) => {
      const x = await imageToInput(
        path,
        { ...PREPROCESS_PRESETS.torchvision, resize: 32, cropSize: 28 },
        28,
      );
      return { tensors: new Map([['x', { bytes: new Uint8Array(x.buffer), width: 4 }]]), meta: '' };
    },
  });
  return [
    {
      name: 'x.npy',
      bytes: concat(encodeNpy(randomTensor([2, 3, 4, 5], rng))),
      elementwise: true,
      read: (path, bytes) => ({ tensors: new Map([['x', f32(parseNpy(bytes, path))]]), meta: '' }),
      expect: npyExpect,
    },
    {
      name: 'model.safetensors',
      bytes: concat(encodeSafetensors(st, { 'alexnet.meta': '{"x":1}', format: 'pt' })),
      elementwise: true,
      read: (path, bytes) => {
        const r = parseSafetensors(bytes, path);
        return {
          tensors: new Map([...r.tensors].map(([k, t]) => [k, f32(t)])),
          meta: JSON.stringify(r.metadata),
        };
      },
      expect: safetensorsExpect,
    },
    foreign('tv_tiny.pth', 'torchvision'),
    foreign('tv_tiny_legacy.pth', 'torchvision'),
    foreign('caffe_alexnet2012.caffemodel', 'caffe'),
    foreign('caffe_caffenet.caffemodel', 'caffe'),
    foreign('zoo_tiny.onnx', 'onnx'),
    foreign('tv_tiny.onnx', 'onnx'),
    { name: 'train-images-idx3-ubyte', bytes: idxImages, elementwise: true, read: idxRead },
    // a flip in compressed data changes bytes elsewhere: only refusal (the CRC) or identity pass
    {
      name: 'train-images-idx3-ubyte.gz',
      bytes: gzipSync(idxImages),
      elementwise: true,
      read: idxRead,
    },
    image('image.png', await sharp(pixels, raw).png().toBuffer()),
    image('image.jpg', await sharp(pixels, raw).jpeg().toBuffer()),
  ];
}

/** Byte ranges [start, end) of the original's tensors inside its file, by tensor name. */
function payloadRegions(bytes: Buffer, r: Reading): Map<string, number> {
  const at = new Map<string, number>();
  for (const [name, t] of r.tensors) {
    if (t.bytes.length < 8) continue; // too short to be found unambiguously
    const i = bytes.indexOf(Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength));
    if (i >= 0 && bytes.indexOf(Buffer.from(t.bytes), i + 1) < 0) at.set(name, i);
  }
  return at;
}

export type Verdict = 'refused' | 'identical' | 'faithful' | 'violation';

export interface Mutation {
  bytes: Buffer;
  /** Positions changed in place, or null when the length changed (truncation). */
  changed: Set<number> | null;
  what: string;
}

const INTERESTING_8 = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x20];
const INTERESTING_32 = [0, -1, 0x7fffffff, -0x80000000, 1 << 30, 65536, 255];

/** One seeded mutation, aimed at the structure (outside the payload) seven times in ten. */
export function mutate(orig: Buffer, structure: number[], rng: Rng): Mutation {
  const pick = (): number =>
    structure.length > 0 && rng.uniform() < 0.7
      ? structure[rng.int(structure.length)]
      : rng.int(orig.length);
  const kind = rng.int(10);
  if (kind === 0) {
    const cut = pick();
    return {
      bytes: Buffer.from(orig.subarray(0, cut)),
      changed: null,
      what: `truncated at ${cut}`,
    };
  }
  const b = Buffer.from(orig);
  const changed = new Set<number>();
  const whats: string[] = [];
  const n = 1 + rng.int(kind < 5 ? 4 : 2);
  for (let k = 0; k < n; k++) {
    const at = pick();
    if (kind < 5) {
      b[at] ^= 1 << rng.int(8);
      changed.add(at);
      whats.push(`flip@${at}`);
    } else if (kind < 8) {
      b[at] = INTERESTING_8[rng.int(INTERESTING_8.length)];
      changed.add(at);
      whats.push(`byte@${at}=${b[at]}`);
    } else if (at + 4 <= b.length) {
      const v = INTERESTING_32[rng.int(INTERESTING_32.length)];
      b.writeInt32LE(v, at);
      for (let j = 0; j < 4; j++) changed.add(at + j);
      whats.push(`int32@${at}=${v}`);
    }
  }
  for (const at of [...changed]) if (b[at] === orig[at]) changed.delete(at);
  return { bytes: b, changed, what: whats.join(' ') };
}

/** Judges a reading of a mutated file against the original's and the format's expectation. */
export function judgeReading(
  t: Target,
  orig: Reading,
  regions: Map<string, number>,
  m: Mutation,
  got: Reading,
  expected: Expected | null,
): { verdict: Verdict; why?: string } {
  const metaOk =
    got.meta === orig.meta || (expected?.meta !== undefined && got.meta === expected.meta);
  if (!metaOk) return { verdict: 'violation', why: 'the metadata changed' };
  const names = expected ? [...expected.positions.keys()] : [...orig.tensors.keys()];
  if (got.tensors.size !== names.length || names.some((n) => !got.tensors.has(n)))
    return {
      verdict: 'violation',
      why: `tensors [${[...got.tensors.keys()]}], expected [${names}]`,
    };
  let faithful = got.meta !== orig.meta;
  for (const name of names) {
    const g = got.tensors.get(name)!;
    const o = orig.tensors.get(name);
    if (o && Buffer.from(g.bytes).equals(Buffer.from(o.bytes))) continue;
    faithful = true;
    if (!t.elementwise) continue;
    const start = regions.get(name);
    const at = expected?.positions.get(name);
    for (let e = 0; e < g.bytes.length; e += g.width) {
      const i = e / g.width;
      let same = o !== undefined && o.bytes.length === g.bytes.length;
      for (let j = 0; j < g.width && same; j++) same = g.bytes[e + j] === o!.bytes[e + j];
      if (same) continue;
      // changed: explained when it is what the file holds where the format says it lies
      const pos = at ? at(i) : start !== undefined && m.changed !== null ? start + e : -1;
      let explained = pos >= 0 && pos + g.width <= m.bytes.length;
      for (let j = 0; j < g.width && explained; j++)
        explained = m.bytes[pos + j] === g.bytes[e + j];
      if (!explained) {
        // a NaN read from stored bytes may come back quieted: compare as numbers then
        const v = new DataView(g.bytes.buffer, g.bytes.byteOffset + e, g.width);
        const nan = g.width === 4 && Number.isNaN(v.getFloat32(0, true));
        const stored =
          pos >= 0 && pos + 4 <= m.bytes.length && Number.isNaN(m.bytes.readFloatLE(pos));
        if (!(nan && stored))
          return {
            verdict: 'violation',
            why: `tensor ${name} element ${i} is not what the file holds there`,
          };
      }
    }
  }
  return { verdict: faithful ? 'faithful' : 'identical' };
}

export interface FuzzRow {
  target: string;
  /** The slowest mutation's reading, in ms, and what it was. */
  slowest: { ms: number; what: string };
  tried: number;
  refused: number;
  identical: number;
  faithful: number;
  violations: string[];
}

/** Runs `perTarget` seeded mutations of each target (or until `deadline`, a Date.now() value). */
export async function fuzz(
  dir: string,
  perTarget: number,
  seed: number,
  deadline = Infinity,
  only: (target: string) => boolean = () => true,
): Promise<FuzzRow[]> {
  const rows: FuzzRow[] = [];
  const targets = (await fuzzTargets()).filter((t) => only(t.name));
  for (const [ti, t] of targets.entries()) {
    const rng = new Rng(seed * 1000 + ti);
    const origPath = join(dir, `orig-${t.name}`);
    writeFileSync(origPath, t.bytes);
    const orig = await t.read(origPath, t.bytes);
    const regions = payloadRegions(t.bytes, orig);
    const inPayload = new Uint8Array(t.bytes.length);
    for (const [name, start] of regions)
      inPayload.fill(1, start, start + orig.tensors.get(name)!.bytes.length);
    const structure: number[] = [];
    for (let i = 0; i < t.bytes.length; i++) if (!inPayload[i]) structure.push(i);
    const row: FuzzRow = {
      target: t.name,
      slowest: { ms: 0, what: '' },
      tried: 0,
      refused: 0,
      identical: 0,
      faithful: 0,
      violations: [],
    };
    for (let i = 0; i < perTarget && Date.now() < deadline; i++) {
      const m = mutate(t.bytes, structure, rng);
      const path = join(dir, `m-${t.name}`);
      writeFileSync(path, m.bytes);
      row.tried++;
      let got: Reading;
      const t0 = Date.now();
      try {
        got = await t.read(path, m.bytes);
        noteSlow(row, Date.now() - t0, m);
      } catch (e) {
        if (e instanceof UsageError && !e.message.includes('\n') && e.message.includes(path))
          row.refused++;
        else
          row.violations.push(
            `${m.what}: ${e instanceof UsageError ? 'message does not name the file: ' + e.message : (e as Error)?.stack?.split('\n').slice(0, 3).join(' | ')}`,
          );
        continue;
      }
      let expected: Expected | null = null;
      try {
        expected = t.expect?.(m.bytes, path) ?? null;
      } catch {
        expected = null;
      }
      const v = judgeReading(t, orig, regions, m, got, expected);
      if (v.verdict === 'violation') row.violations.push(`${m.what}: ${v.why}`);
      else row[v.verdict]++;
    }
    rows.push(row);
  }
  return rows;
}

/** A reading slower than this is a violation: a small file must never take long. */
export const SLOW_MS = 2000;

function noteSlow(row: FuzzRow, ms: number, m: Mutation): void {
  if (ms > row.slowest.ms) row.slowest = { ms, what: m.what };
  if (ms > SLOW_MS) row.violations.push(`${m.what}: took ${ms} ms`);
}

export function fuzzTable(rows: FuzzRow[]): string {
  const line = (a: string, ...n: (number | string)[]) =>
    `# ${a.padEnd(30)} ${n.map((x) => String(x).padStart(9)).join('')}`;
  const sum = (k: 'tried' | 'refused' | 'identical' | 'faithful') =>
    rows.reduce((a, r) => a + r[k], 0);
  return [
    line('target', 'tried', 'refused', 'identical', 'faithful', 'bad'),
    ...rows.map((r) =>
      line(r.target, r.tried, r.refused, r.identical, r.faithful, r.violations.length),
    ),
    line(
      'total',
      sum('tried'),
      sum('refused'),
      sum('identical'),
      sum('faithful'),
      rows.reduce((a, r) => a + r.violations.length, 0),
    ),
  ].join('\n');
}
