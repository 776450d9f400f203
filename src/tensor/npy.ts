// NumPy .npy I/O (format versions 1–3): float32 arrays of any rank in C order. Other dtypes are
// converted from float64/float16/int types on read; Fortran order is refused with a clear error.
import { Tensor, sizeOf } from './tensor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { usage } from '../util/errors.js';
import { readInputFile } from '../util/input-file.js';

const MAGIC = '\x93NUMPY';

export function readNpy(path: string): Tensor {
  return parseNpy(readInputFile(path), path);
}

export function parseNpy(buf: Buffer, source: string): Tensor {
  const bad = (why: string): never => usage(`${source}: not a usable .npy file (${why})`);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC)
    bad('missing the \\x93NUMPY magic');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.length >= 12 ? buf.readUInt32LE(8) : -1;
  const headerStart = major === 1 ? 10 : 12;
  if (![1, 2, 3].includes(major) || headerLen < 0 || headerStart + headerLen > buf.length)
    bad('bad header');
  const header = buf.toString(
    major === 3 ? 'utf8' : 'latin1',
    headerStart,
    headerStart + headerLen,
  );
  // The header is a Python dict literal ending in a newline: a header length that ends early
  // (inside the padding) would otherwise move the data's start without a word.
  if (!/^\{[^]*\} *\n$/.test(header)) bad('the header is not a dict ending in a newline');
  if ((header.match(/'(descr|fortran_order|shape)':/g) ?? []).length !== 3)
    bad('the header must hold descr, fortran_order and shape once each');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    bad('header lacks descr, fortran_order or shape');
  if (fortran === 'True') bad('Fortran order is not supported; save it with np.ascontiguousarray');
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.length > 8 || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    bad(`bad shape (${shapeText})`);
  const count = sizeOf(shape);
  const dataStart = headerStart + headerLen;
  const readers: Record<string, [number, (v: DataView, i: number, le: boolean) => number]> = {
    f4: [4, (v, i, le) => v.getFloat32(4 * i, le)],
    f8: [8, (v, i, le) => v.getFloat64(8 * i, le)],
    i4: [4, (v, i, le) => v.getInt32(4 * i, le)],
    i8: [8, (v, i, le) => Number(v.getBigInt64(8 * i, le))],
    u1: [1, (v, i) => v.getUint8(i)],
  };
  const order = descr![0];
  const reader = readers[descr!.slice(1)];
  if (!reader || !['<', '>', '|', '='].includes(order)) {
    bad(`dtype ${descr} is not supported (use float32)`);
  }
  const [width, get] = reader!;
  if (buf.length - dataStart < count * width)
    bad(`data is truncated: ${buf.length - dataStart} bytes for ${count} elements of ${descr}`);
  const view = new DataView(buf.buffer, buf.byteOffset + dataStart, count * width);
  const out = new Float32Array(count);
  const le = order !== '>';
  for (let i = 0; i < count; i++) out[i] = get(view, i, le);
  return new Tensor(shape, out);
}

export function encodeNpy(t: Tensor): Uint8Array[] {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // total header a multiple of 64
  const head = Buffer.alloc(10);
  head.write(MAGIC, 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return [
    head,
    Buffer.from(header, 'latin1'),
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  ];
}

export function writeNpy(path: string, t: Tensor): void {
  writeFileAtomic(path, encodeNpy(t));
}
