// Byte-level writers for the hostile-input suite: each format written by hand, so a test can put
// any lie into any field (a string offset, a stride of 0, a size the data does not have) without
// large committed files. Formats: pickle (protocol 2), torch.save zip and legacy layouts, zip
// archives with chosen declared sizes, safetensors, .npy, IDX, PNG.
import { deflateRawSync, deflateSync } from 'node:zlib';

// ---- pickle (protocol 2), just what a state dict uses ----

export const op = {
  proto: Buffer.from([0x80, 0x02]),
  stop: Buffer.from('.'),
  mark: Buffer.from('('),
  tuple: Buffer.from('t'),
  emptyTuple: Buffer.from(')'),
  emptyList: Buffer.from(']'),
  emptyDict: Buffer.from('}'),
  list: Buffer.from('l'),
  reduce: Buffer.from('R'),
  setitems: Buffer.from('u'),
  appends: Buffer.from('e'),
  binpersid: Buffer.from('Q'),
  newFalse: Buffer.from([0x89]),
  global: (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  str: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x58; // BINUNICODE
    head.writeUInt32LE(b.length, 1);
    return Buffer.concat([head, b]);
  },
  int: (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(n, 1);
    return b;
  },
  long: (n: bigint) => {
    const bytes: number[] = [];
    let v = n;
    while (v !== 0n && v !== -1n) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    if (bytes.length === 0 || (bytes[bytes.length - 1] & 0x80) !== (n < 0n ? 0x80 : 0))
      bytes.push(n < 0n ? 0xff : 0);
    return Buffer.from([0x8a, bytes.length, ...bytes]); // LONG1
  },
};

const tuple = (items: Buffer[]): Buffer => Buffer.concat([op.mark, ...items, op.tuple]);

export interface PickledTensor {
  key: string; // storage key
  numel: number; // elements the storage holds
  offset?: number;
  size: number[];
  stride: number[];
}

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
function tensorPickle(t: PickledTensor): Buffer {
  const pid = Buffer.concat([
    tuple([
      op.str('storage'),
      op.global('torch', 'FloatStorage'),
      op.str(t.key),
      op.str('cpu'),
      op.int(t.numel),
    ]),
    op.binpersid,
  ]);
  return Buffer.concat([
    op.global('torch._utils', '_rebuild_tensor_v2'),
    tuple([
      pid,
      op.int(t.offset ?? 0),
      tuple(t.size.map(op.int)),
      tuple(t.stride.map(op.int)),
      op.newFalse,
      op.global('collections', 'OrderedDict'),
      op.emptyTuple,
      op.reduce,
    ]),
    op.reduce,
  ]);
}

/** An OrderedDict of name → tensor, as torch.save(model.state_dict()) pickles it. */
export function stateDictPickle(entries: [string, PickledTensor][]): Buffer {
  return Buffer.concat([
    op.proto,
    op.global('collections', 'OrderedDict'),
    op.emptyTuple,
    op.reduce,
    op.mark,
    ...entries.flatMap(([name, t]) => [op.str(name), tensorPickle(t)]),
    op.setitems,
    op.stop,
  ]);
}

export function contiguous(size: number[]): number[] {
  const stride = new Array<number>(size.length);
  let s = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= size[d];
  }
  return stride;
}

// ---- zip archives with chosen declared sizes ----

export interface ZipMember {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  data: Uint8Array;
  method?: 0 | 8;
  /** The uncompressed size the headers declare (default: data's length). */
  declared?: number;
}

/** A zip archive written field by field (CRCs zero: the readers here do not check them). */
export function zip(members: ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const declared = m.declared ?? m.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.method ?? 0, 8);
    local.writeUInt32LE(m.data.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(m.method ?? 0, 10);
    cd.writeUInt32LE(m.data.length, 20);
    cd.writeUInt32LE(declared, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(m.data));
    central.push(cd, name);
    offset += 30 + name.length + m.data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBytes, end]);
}

/** Raw deflate of `n` zero bytes (about n/1000 bytes: the bomb's payload). */
export function deflatedZeros(n: number): Buffer {
  return deflateRawSync(Buffer.alloc(n), { level: 9 });
}

/** A torch.save zip: archive/data.pkl, archive/byteorder and archive/data/<key> per storage. */
export function torchZip(pickle: Buffer, storages: Record<string, Uint8Array>): Buffer {
  return zip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
  ]);
}

/** A legacy (pre-1.6) torch.save: magic, protocol, sys info, the object, the keys, storages. */
export function torchLegacy(object: Buffer, storages: [string, Float32Array][]): Buffer {
  const one = (body: Buffer[]): Buffer => Buffer.concat([op.proto, ...body, op.stop]);
  const parts = [
    one([op.long(0x1950a86a20f9469cfc6cn)]),
    one([op.int(1001)]),
    one([op.emptyDict]),
    object,
    one([op.emptyList, op.mark, ...storages.map(([k]) => op.str(k)), op.appends]),
  ];
  for (const [, data] of storages) {
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(data.length));
    parts.push(n, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  return Buffer.concat(parts);
}

// ---- safetensors, .npy, IDX ----

export function safetensorsRaw(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

/** A version 1 .npy file; the header gets its newline, as every writer ends it. */
export function npyRaw(header: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.from(header.endsWith('\n') ? header : `${header}\n`, 'latin1');
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, h, data]);
}

export function idxRaw(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d >>> 0, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

// ---- PNG with any declared size ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const t = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(t));
  return Buffer.concat([len, t, crc]);
}

/** A grey 8-bit PNG of width×height declaring those sizes; its rows are zeros, deflated (a
 *  60000×1 image is about a hundred bytes). `rows` caps the rows actually stored. */
export function png(width: number, height: number, rows = height): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  const raw = Buffer.alloc(Math.min(rows, height) * (width + 1)); // filter byte 0 per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
