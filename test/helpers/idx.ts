// IDX files (the MNIST/Fashion-MNIST format) for tests: a big-endian header — two zero bytes, the
// type 0x08 (unsigned bytes), the number of dimensions, each dimension as uint32 — then the bytes.
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}
