// Reads a `torch.save()` file of tensors — both layouts PyTorch has written:
//   zip (1.6+): `<name>/data.pkl` (the pickle) + `<name>/data/<key>` (one raw storage per key);
//   legacy (pre-1.6): five pickles back to back — magic number, protocol version, sys info, the
//     object, the list of storage keys — then each storage as an int64 element count + raw bytes.
// The pickles go through the restricted unpickler (pickle.ts): data only, never code.
import { unzipSync } from 'fflate';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { formatBytes, readInputFile } from '../util/input-file.js';
import {
  PyTuple,
  isTensor,
  storageFromPid,
  unpickle,
  type PyValue,
  type StorageDtype,
  type StorageRef,
  type TensorRef,
} from './pickle.js';
import { halfToFloat } from '../tensor/half.js';

const WIDTH: Record<StorageDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
/** 2^28 floats (1 GiB) for all tensors of a file together: over four times a 1000-class AlexNet
 *  (61.1M), far below what would exhaust memory. */
export const MAX_ELEMENTS = 2 ** 28;
/** What the members of a zip may inflate to, together: 2^30 bytes (torch stores them unpacked). */
export const MAX_UNZIPPED = 2 ** 30;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export interface TorchFile {
  /** The unpickled top-level object (for a state dict: a Map name → TensorRef). */
  root: PyValue;
  /** Raw little-endian bytes of each storage by key. */
  storages: Map<string, Uint8Array>;
}

export function readTorchFile(path: string): TorchFile {
  return parseTorchFile(readInputFile(path), path);
}

export function parseTorchFile(buf: Uint8Array, source: string): TorchFile {
  const bad = (why: string): never => usage(`${source}: not a readable torch.save file (${why})`);
  if (buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04)
    return parseZip(buf, source, bad);
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) return parseLegacy(buf, source, bad);
  return bad('neither a zip archive nor a pickle');
}

function parseZip(buf: Uint8Array, source: string, bad: (why: string) => never): TorchFile {
  let files: Record<string, Uint8Array>;
  // The sizes the central directory declares are summed before anything inflates (a first pass
  // that inflates nothing); fflate then inflates each member into a buffer of exactly its
  // declared size, so a lying size cannot grow either.
  // A central directory entry takes at least 46 bytes: a count beyond that (a flipped bit in a
  // zip64 record says 16 million) would walk garbage for minutes.
  let declared = 0;
  let entries = 0;
  try {
    unzipSync(buf, {
      filter: (f) => {
        declared += f.originalSize;
        if (++entries * 46 > buf.length) bad('its directory lists more entries than it can hold');
        return false;
      },
    });
    if (declared > MAX_UNZIPPED)
      bad(
        `its members would inflate to ${formatBytes(declared)}, over the ${formatBytes(MAX_UNZIPPED)} bound (a zip bomb?)`,
      );
    files = unzipSync(buf);
  } catch (e) {
    if ((e as Error).name === 'UsageError') throw e;
    return bad(`broken zip archive: ${(e as Error).message}`);
  }
  const pklName = Object.keys(files).find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pklName) return bad('no data.pkl in the archive');
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order && Buffer.from(order).toString('latin1') !== 'little')
    bad('big-endian storages are not supported');
  const storages = new Map<string, Uint8Array>();
  const persistentLoad = (pid: PyValue): PyValue => {
    const s = storageFromPid(pid, bad);
    const data = files[`${prefix}data/${s.key}`];
    if (!data) bad(`storage ${s.key} is missing from the archive`);
    storages.set(s.key, data);
    return s;
  };
  const { value } = unpickle(files[pklName], { persistentLoad, source });
  return { root: value, storages };
}

function parseLegacy(buf: Uint8Array, source: string, bad: (why: string) => never): TorchFile {
  const persistentLoad = (pid: PyValue): PyValue => storageFromPid(pid, bad);
  const noPid = (): PyValue => bad('unexpected persistent id in a header pickle');
  let at = 0;
  const next = (load: (pid: PyValue) => PyValue): PyValue => {
    const r = unpickle(buf, { persistentLoad: load, source }, at);
    at = r.end;
    return r.value;
  };
  const magic = next(noPid);
  if (!(typeof magic === 'bigint' ? magic === LEGACY_MAGIC : false))
    bad('a plain pickle, not a torch.save file (no legacy magic number)');
  next(noPid); // protocol version
  next(noPid); // sys info: endianness, type sizes
  const root = next(persistentLoad);
  const keys = next(noPid);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || typeof k === 'number'))
    bad('bad storage key list');
  // Storage sizes come from the persistent ids seen in the object pickle.
  const widths = new Map<string, number>();
  collectStorages(root, (s) => widths.set(s.key, WIDTH[s.dtype]));
  const storages = new Map<string, Uint8Array>();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const k of keys as (string | number)[]) {
    const key = String(k);
    if (at + 8 > buf.length) bad(`truncated before storage ${key}`);
    const numel = view.getBigInt64(at, true);
    at += 8;
    const width = widths.get(key) ?? bad(`storage ${key} is listed but not used`);
    const n = Number(numel) * width;
    if (numel < 0n || at + n > buf.length) bad(`storage ${key} is truncated`);
    storages.set(key, buf.subarray(at, at + n));
    at += n;
  }
  return { root, storages };
}

/** Visits every tensor's storage, iteratively (a hostile pickle may nest lists a million deep);
 *  `seen` keeps a self-referencing pickle from looping. */
function collectStorages(root: PyValue, f: (s: StorageRef) => void): void {
  const seen = new Set<object>();
  const todo: PyValue[] = [root];
  while (todo.length > 0) {
    const v = todo.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) f(v.storage);
    else if (v instanceof Map) for (const x of v.values()) todo.push(x);
    else if (Array.isArray(v)) for (const x of v) todo.push(x);
    else if (v instanceof PyTuple) for (const x of v.items) todo.push(x);
  }
}

/** Materialises a strided view of a storage as a contiguous float32 tensor. */
export function materialize(
  t: TensorRef,
  storages: Map<string, Uint8Array>,
  name: string,
  source: string,
): Tensor {
  const bad = (why: string): never => usage(`${source}: tensor ${name} ${why}`);
  const bytes = storages.get(t.storage.key) ?? bad(`refers to missing storage ${t.storage.key}`);
  const width = WIDTH[t.storage.dtype];
  const available = Math.floor(bytes.length / width);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count > 0) {
    let last = t.offset;
    for (let d = 0; d < t.shape.length; d++) last += (t.shape[d] - 1) * t.stride[d];
    if (last >= Math.min(available, t.storage.numel || available))
      bad(`reaches past its storage (${available} elements)`);
    // A parameter never repeats elements; a stride-0 (expanded) or overlapping view would turn
    // a few stored bytes into gigabytes, so it is refused before anything is allocated.
    if (overlaps(t.shape, t.stride))
      bad(
        `is a view that repeats elements (size [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]), which no state dict holds`,
      );
  }
  if (t.storage.dtype === 'float32' && isContiguous(t.shape, t.stride)) {
    // The common case: a dense float32 view is a byte copy (into a fresh, aligned buffer).
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes.subarray(4 * t.offset, 4 * (t.offset + count)));
    return new Tensor(t.shape, out);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get = reader(t.storage.dtype, view);
  const out = new Float32Array(count);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < count; i++) {
    out[i] = get(src);
    // advance the multi-index (row-major), keeping src = offset + Σ idx·stride
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += t.stride[d];
      if (idx[d] < t.shape[d]) break;
      src -= idx[d] * t.stride[d];
      idx[d] = 0;
    }
  }
  return new Tensor(t.shape, out);
}

/** Whether two indices of the view reach the same storage element: sorted by stride, each
 *  dimension's stride must step over everything the smaller-stride dimensions span. */
function overlaps(shape: number[], stride: number[]): boolean {
  const dims = shape.map((n, d) => ({ n, s: stride[d] })).filter((x) => x.n > 1);
  dims.sort((a, b) => a.s - b.s);
  let span = 1; // elements covered by the dimensions so far
  for (const { n, s } of dims) {
    if (s < span) return true;
    span = s * (n - 1) + span;
  }
  return false;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

function reader(dtype: StorageDtype, v: DataView): (i: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => v.getFloat32(4 * i, true);
    case 'float64':
      return (i) => v.getFloat64(8 * i, true);
    case 'float16':
      return (i) => halfToFloat(v.getUint16(2 * i, true));
    case 'bfloat16': {
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      return (i) => {
        u[0] = v.getUint16(2 * i, true) << 16;
        return f[0];
      };
    }
    case 'int64':
      return (i) => Number(v.getBigInt64(8 * i, true));
    case 'int32':
      return (i) => v.getInt32(4 * i, true);
    case 'int16':
      return (i) => v.getInt16(2 * i, true);
    case 'int8':
      return (i) => v.getInt8(i);
    case 'uint8':
    case 'bool':
      return (i) => v.getUint8(i);
  }
}

/** The tensors of a state dict (a name → tensor mapping, possibly inside {'state_dict': …}). */
export function stateDictTensors(file: TorchFile, source: string): Map<string, Tensor> {
  let root = file.root;
  if (root instanceof Map && ![...root.values()].some(isTensor)) {
    for (const key of ['state_dict', 'model_state_dict', 'model']) {
      const inner = root.get(key);
      if (inner instanceof Map) {
        root = inner;
        break;
      }
    }
  }
  if (!(root instanceof Map))
    usage(`${source}: holds no state dict (save model.state_dict(), not the model)`);
  const out = new Map<string, Tensor>();
  let total = 0;
  for (const [k, v] of root as Map<PyValue, PyValue>) {
    if (typeof k !== 'string') usage(`${source}: state dict has a non-string key`);
    if (!isTensor(v)) continue; // e.g. an epoch counter beside the weights
    total += v.shape.reduce((a, b) => a * b, 1);
    if (total > MAX_ELEMENTS)
      usage(
        `${source}: its tensors hold over ${MAX_ELEMENTS.toLocaleString('en-US')} elements together (the bound; a 1000-class AlexNet has 61.1M)`,
      );
    out.set(k as string, materialize(v, file.storages, k as string, source));
  }
  if (out.size === 0) usage(`${source}: the state dict holds no tensors`);
  return out;
}
