// The bytes of a typed array's own elements. A tensor's data may be a view into a larger buffer
// (the native backend starts large float32 tensors on a cache line), so `Buffer.from(a.buffer)`
// would compare the buffer's padding too.
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
