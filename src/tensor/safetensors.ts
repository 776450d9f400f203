// safetensors I/O — the native checkpoint format. Layout: u64 little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes (offsets relative to the end of the header).
// Reading converts F32/F64/F16/BF16/I64/I32/U8 to float32 tensors; writing is always F32.
import { z } from 'zod';
import { Tensor } from './tensor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { usage } from '../util/errors.js';
import { readInputFile } from '../util/input-file.js';
import { halfToFloat } from './half.js';

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };

export function readSafetensors(path: string): SafetensorsFile {
  return parseSafetensors(readInputFile(path), path);
}

/** The header's JSON, typed strictly: offsets and sizes are non-negative safe integers (a string
 *  offset would otherwise be compared and added as text), metadata values are strings. */
const index = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const entrySchema = z.strictObject({
  dtype: z.enum(Object.keys(BYTES) as [string, ...string[]]),
  shape: z.array(index).max(8),
  data_offsets: z.tuple([index, index]),
});
const metadataSchema = z.record(z.string(), z.string());

/** A header may be at most 100 MB; one for AlexNet's 16 tensors is under 2 KB. */
const MAX_HEADER = 100_000_000;

export function parseSafetensors(buf: Uint8Array, source: string): SafetensorsFile {
  const bad = (why: string): never => usage(`${source}: not a valid safetensors file (${why})`);
  if (buf.length < 8) bad('shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(buf.length - 8, MAX_HEADER)))
    bad(`header length ${headerLen} exceeds the file or the ${MAX_HEADER}-byte bound`);
  let header: unknown;
  try {
    // fatal: invalid UTF-8 is refused, not replaced by U+FFFD (which would rename a tensor)
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      buf.subarray(8, 8 + Number(headerLen)),
    );
    header = JSON.parse(text);
  } catch {
    return bad('header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    bad('header is not an object');
  const dataStart = 8 + Number(headerLen);
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const m = metadataSchema.safeParse(entry);
      if (!m.success) bad(`__metadata__ ${firstIssue(m.error)}`);
      metadata = m.data!;
      continue;
    }
    const r = entrySchema.safeParse(entry);
    if (!r.success) bad(`tensor ${name}: ${firstIssue(r.error)}`);
    const e = r.data!;
    const [begin, end] = e.data_offsets;
    // Elements are bounded by the bytes the file holds, so no shape can allocate past the file.
    const count = e.shape.reduce((a, d) => a * d, 1);
    if (!(begin <= end && end <= dataLen && end - begin === count * BYTES[e.dtype])) {
      bad(`tensor ${name} data [${begin}, ${end}) does not fit the file or its shape`);
    }
    tensors.set(name, new Tensor(e.shape, decode(buf, dataStart + begin, count, e.dtype)));
    spans.push([begin, end, name]);
  }
  // The format's rule: the tensors tile the data exactly, without holes or overlaps, so an
  // offset changed to another in-range value cannot go unnoticed.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at)
      bad(`tensor ${name} starts at ${begin}, not at ${at} where the previous one ends`);
    at = end;
  }
  if (at !== dataLen) bad(`the tensors cover ${at} of the ${dataLen} data bytes`);
  return { tensors, metadata };
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`;
}

function decode(buf: Uint8Array, offset: number, count: number, dtype: string): Float32Array {
  const view = new DataView(buf.buffer, buf.byteOffset + offset, count * BYTES[dtype]);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < count; i++) {
        u[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f[0];
      }
      break;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'U8':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

/** Encodes tensors (in the given order) and string metadata as one safetensors buffer list. */
export function encodeSafetensors(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = {
      dtype: 'F32',
      shape: [...t.shape],
      data_offsets: [offset, offset + 4 * t.size],
    };
    offset += 4 * t.size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // keep data 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const chunks: Uint8Array[] = [head, Buffer.from(json, 'utf8')];
  for (const t of tensors.values()) {
    // Float32Array bytes are little-endian on every platform Node supports.
    chunks.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return chunks;
}

export function writeSafetensors(
  path: string,
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
