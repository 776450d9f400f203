// "One weird trick" (Krizhevsky 2014) read off a network's layer list: the convolutional part —
// every layer before the first fully connected one (conv1–pool5, the flatten, and torchvision's
// dropout before fc6) — runs data-parallel, each worker on its share of the batch with a full copy
// of its weights; the fully connected part runs model-parallel, each fully connected layer (fc6,
// fc7 and fc8) split by output units across the workers, each worker computing its units for
// the whole batch. Between them the workers exchange, per step:
//   forward:  every worker's pool5 features (all-gather by samples), and each fully connected
//             layer's units into the next one (all-gather by units);
//   backward: the gradient of each layer's input, which every worker holds in part for all of it
//             (a reduce-scatter: by units into fc7 and fc6, by samples into the convolutions),
//             and the convolutional weights' gradients (an all-reduce).
// Worker r's units of a layer of D are shareOf(D, r, N) (distributed.ts), its samples of a
// batch of M shareOf(M, r, N); its parameter rows are the standard tensors' rows of its units, so
// gathering is concatenation, splitting is slicing.
import type { DropoutSpec } from '../nn/dropout.js';
import type { LayerSpec } from '../nn/net.js';
import { shareOf } from '../train/distributed.js';
import { usage } from '../util/errors.js';

export type FcOp =
  /** A fully connected layer's units shareOf(units, r, N), and the elementwise layers after it. */
  | { kind: 'linear'; specs: LayerSpec[]; units: number; first: number; count: number }
  /** Dropout over this worker's units: its columns of the whole layer's mask. */
  | { kind: 'dropout'; spec: DropoutSpec };

export interface HybridPlan {
  /** The data-parallel part, whole on every worker. */
  conv: LayerSpec[];
  /** The model-parallel part, in forward order; before each linear op but the first, the units
   *  of the one before are gathered. */
  fc: FcOp[];
}

/** Worker `party` of `parties`' part of the network. */
export function hybridPlan(
  specs: readonly LayerSpec[],
  party: number,
  parties: number,
  classes: number,
): HybridPlan {
  const at = specs.findIndex((s) => s.kind === 'linear');
  if (at <= 0)
    usage('hybrid needs convolutional layers followed by fully connected ones', 'parallel');
  const conv = specs.slice(0, at);
  const fc: FcOp[] = [];
  for (const s of specs.slice(at)) {
    if (s.kind === 'linear') {
      const units = s.out === 'classes' ? classes : s.out;
      if (units < parties)
        usage(
          `hybrid splits ${s.name}'s ${units} outputs over ${parties} workers; use at most ${units} workers`,
          'replicas',
        );
      const { first, count } = shareOf(units, party, parties);
      fc.push({ kind: 'linear', specs: [{ ...s, out: count }], units, first, count });
    } else if ((s.kind === 'relu' || s.kind === 'tanh') && fc[fc.length - 1].kind === 'linear') {
      (fc[fc.length - 1] as Extract<FcOp, { kind: 'linear' }>).specs.push(s);
    } else if (s.kind === 'dropout') {
      fc.push({ kind: 'dropout', spec: s });
    } else {
      usage(
        `hybrid splits the fully connected layers by units; ${s.name} (${s.kind}) after ${specs[at].name} is not a layer it splits`,
        'parallel',
      );
    }
  }
  return { conv, fc };
}
