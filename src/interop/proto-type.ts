// A protobufjs message type built from a JSON descriptor on its first use, with protobufjs itself
// loaded then (util/lazy-require.ts says why): the ONNX and Caffe schemas.
import type protobufjs from 'protobufjs';
import { lazyRequire } from '../util/lazy-require.js';

const protobuf = lazyRequire<typeof protobufjs>('protobufjs');

/** () => the message type `name` of `descriptor`, built the first time it is called. */
export function lazyMessageType(
  descriptor: protobufjs.INamespace,
  name: string,
): () => protobufjs.Type {
  let type: protobufjs.Type | undefined;
  return () => (type ??= protobuf().Root.fromJSON(descriptor).lookupType(name));
}
