// The paper's two towers (§3.2, Figure 2) read off a grouped network's layer list: what tower A
// and tower B each compute, and where they exchange. Each tower holds half the kernels of every
// convolutional layer (conv1–conv5: 48/128/192/192/128 of 96/256/384/384/256) and half the units of
// fc6 and fc7; fc8 lives on tower A alone, as in cuda-convnet. A layer with groups = 2 reads only
// its own tower's maps; a convolution with groups = 1 after the first (conv3) and every fully
// connected layer read both towers' outputs, so they are preceded by a gather. LRN normalises
// across channels, so at the tower boundary it needs the other tower's nearest ⌊size/2⌋ maps (a
// halo); that keeps the towers exactly equal to the grouped network, which normalises all 96 or
// 256 maps together.
//
// Every split is along the first axis of each parameter (output channels or units), tower A
// first, so a tower's tensors are contiguous rows of the standard ones: gathering is
// concatenation, splitting is slicing.
import type { LayerSpec } from '../nn/net.js';
import type { LrnSpec } from '../nn/lrn.js';
import type { DropoutSpec } from '../nn/dropout.js';
import { usage } from '../util/errors.js';

export const TOWERS = ['A', 'B'] as const;

export type TowerOp =
  /** Layers that need nothing from the other tower, run as one small Net. */
  | { kind: 'layers'; specs: LayerSpec[] }
  /** Both towers' outputs, per sample tower A's then tower B's, to both towers (or to A alone). */
  | { kind: 'gather'; to: 'both' | 'A' }
  /** LRN over this tower's maps with the other tower's boundary maps beside them. */
  | { kind: 'halo'; spec: LrnSpec }
  /** Dropout with the grouped net's masks: this tower's columns of the whole layer's mask. */
  | { kind: 'dropout'; spec: DropoutSpec };

/** The operations of tower `party` (0 = A, 1 = B), in forward order. */
export function towerPlan(specs: readonly LayerSpec[], party: number): TowerOp[] {
  if (!specs.some((s) => s.kind === 'conv' && s.groups === 2))
    usage(
      'towers: the network has no two-tower (groups = 2) layers; use alexnet2012 or caffenet',
      'parallel',
    );
  const ops: TowerOp[] = [];
  let layers: LayerSpec[] = [];
  let split = false; // the current maps are this tower's half
  const flush = (): void => {
    if (layers.length) ops.push({ kind: 'layers', specs: layers });
    layers = [];
  };
  const half = (n: number, name: string): number => {
    if (n % 2 !== 0)
      usage(`towers: ${name} has ${n} outputs, which do not split in two`, 'parallel');
    return n / 2;
  };
  for (const s of specs) {
    if (s.kind === 'conv' && s.groups === 2) {
      if (!split) usage(`towers: ${s.name} is grouped but its input is not split`, 'parallel');
      layers.push({ ...s, out: half(s.out, s.name), groups: 1 });
    } else if (s.kind === 'conv' && s.groups === 1) {
      if (split) {
        flush();
        ops.push({ kind: 'gather', to: 'both' });
      }
      layers.push({ ...s, out: half(s.out, s.name) });
      split = true;
    } else if (s.kind === 'conv') {
      usage(`towers: ${s.name} has ${s.groups} groups; the towers split in two`, 'parallel');
    } else if (s.kind === 'linear') {
      if (split) {
        flush();
        ops.push({ kind: 'gather', to: s.out === 'classes' ? 'A' : 'both' });
      }
      if (s.out === 'classes') {
        if (party !== 0) break; // fc8 and what follows it live on tower A
        layers.push(s);
        split = false;
      } else {
        layers.push({ ...s, out: half(s.out, s.name) });
        split = true;
      }
    } else if (split && s.kind === 'lrn') {
      flush();
      ops.push({ kind: 'halo', spec: s });
    } else if (split && s.kind === 'dropout') {
      flush();
      ops.push({ kind: 'dropout', spec: s });
    } else {
      layers.push(s);
    }
  }
  flush();
  return ops;
}

/** Rows [first, first + rows) of a standard tensor with `fullRows` rows are tower `party`'s
 *  part of it when the tower's tensor has `rows` rows (fc8 on tower A: all of them). */
export function rowsOf(party: number, rows: number, fullRows: number): number {
  return rows === fullRows ? 0 : party * rows;
}
