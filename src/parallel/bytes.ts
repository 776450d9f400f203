// The bytes each scheme's workers exchange in one step, from the layer shapes — the arithmetic
// the implementations' own counts (Towers.lastBytes, the hybrid's and the data group's
// communicators) are checked against (test/parallel/bytes.test.ts) and bench/parallel.ts prints
// beside them. M is the batch, N the workers, 4 bytes a float; 'train' is forward and backward.
//   towers: per sample, each way, the LRN halos (⌊size/2⌋ maps at the boundary) and half of each
//           gathered input (into conv3, fc6 and fc7), tower B's half of fc7 to tower A (into fc8)
//           forward and its gradient back: forward A→B S, B→A S + S₈; backward the reverse.
//   hybrid: forward, (N−1)·M·(F + U) floats — every worker reads the others' pool5 features (F
//           per sample) and the others' units of each layer gathered into the next (U: fc6's and
//           fc7's units); backward the same again for the input gradients (reduce-scatters), and
//           2·(N−1)·P for the all-reduce of the P convolutional parameters' gradients.
//   data:   2·(N−1)·(params + 1) floats: the all-reduce of every gradient and of the one float
//           that closes a step (data.ts allreduceBytes); inference only that float.
import type { Net } from '../nn/net.js';
import { sizeOf } from '../tensor/tensor.js';
import { allreduceBytes } from './data.js';

export type Mode = 'train' | 'infer';

export function towersBytes(net: Net, batch: number, mode: Mode): number {
  let both = 0; // S: per sample, one way
  let toA = 0; // S₈
  let input = net.input;
  net.specs.forEach((s, i) => {
    if (s.kind === 'lrn') both += Math.floor(s.size / 2) * (sizeOf(input) / input[0]);
    else if (s.kind === 'conv' && s.groups === 1 && i > 0) both += sizeOf(input) / 2;
    else if (s.kind === 'linear' && s.out === 'classes') toA += sizeOf(input) / 2;
    else if (s.kind === 'linear') both += sizeOf(input) / 2;
    input = net.rows[i].output;
  });
  const forward = 2 * both + toA;
  return 4 * batch * (mode === 'train' ? 2 * forward : forward);
}

export function hybridBytes(net: Net, batch: number, workers: number, mode: Mode): number {
  const at = net.specs.findIndex((s) => s.kind === 'linear');
  let gathered = sizeOf(net.rows[at - 1].output); // F
  let convParams = 0;
  net.specs.forEach((s, i) => {
    if (i < at) convParams += net.rows[i].params;
    else if (s.kind === 'linear' && i > at) gathered += sizeOf(net.rows[i - 1].output);
  });
  const forward = 4 * (workers - 1) * batch * gathered;
  return mode === 'train' ? 2 * forward + allreduceBytes(convParams, workers) : forward;
}

export function dataBytes(net: Net, replicas: number, mode: Mode): number {
  return allreduceBytes(mode === 'train' ? net.paramCount + 1 : 1, replicas);
}
