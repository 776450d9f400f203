// Variants of a network for the paper's controlled experiments (`alexnet lab`), as edits of its
// layer list: the model stays data, and a model file's config names its variant, so every
// command can rebuild the network it holds. Each field changes one thing the paper measured:
//   width, fc     — narrower conv layers (channels × width) and fc6/fc7 (quick settings)
//   activation    — tanh instead of ReLU (Figure 1)
//   lrn           — without response normalisation (§3.3)
//   pool          — 2×2 stride-2 pooling instead of overlapping 3×3 stride 2 (§3.4)
//   dropout       — without dropout in fc6/fc7 (§4.2)
//   towers        — 'one': a single tower of half the kernels in conv1–conv4, conv5 and the fc
//                   layers kept, the paper's one-GPU comparison net (§3.2 and its footnote)
//   remove        — without a middle convolutional layer (and its ReLU) (§1: about 2% top-1)
//   conv6         — the CNN* of Table 2: a sixth convolutional layer after the last pooling
//                   layer, 1×1 (the paper gives no kernel size). At the lab's 67 px pool5 is
//                   1×1, where a 3×3 pad-1 kernel has only its centre tap live: Xavier then
//                   sizes it 3× too small and the net stayed at chance (measured: 89.15% error
//                   after 376 steps at lr 0.01, 0.02 and 0.05; 1×1: 28.0% at lr 0.05).
import { z } from 'zod';
import type { LayerSpec } from '../nn/net.js';

export const MIDDLE_CONVS = ['conv2', 'conv3', 'conv4'] as const;

export const variantSchema = z.object({
  width: z.number().positive().max(4).default(1),
  fc: z.number().int().positive().optional(),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  lrn: z.boolean().default(true),
  pool: z.enum(['overlap', '2x2']).default('overlap'),
  dropout: z.boolean().default(true),
  towers: z.enum(['two', 'one']).default('two'),
  remove: z.array(z.enum(MIDDLE_CONVS)).default([]),
  conv6: z.boolean().default(false),
});
export type Variant = z.infer<typeof variantSchema>;
export type VariantInput = z.input<typeof variantSchema>;

/** Channel counts stay even so that grouped (two-tower) layers still split. */
const scaled = (n: number, f: number): number => Math.max(2, 2 * Math.round((n * f) / 2));

export function applyVariant(specs: readonly LayerSpec[], v: Variant): LayerSpec[] {
  const out: LayerSpec[] = [];
  const convs = specs.filter((s) => s.kind === 'conv').map((s) => s.name);
  const lastConv = convs[convs.length - 1];
  for (const s of specs) {
    if (v.remove.some((r) => s.name === r || s.name === `relu${r.slice(4)}`)) continue;
    if (s.kind === 'lrn' && !v.lrn) continue;
    if (s.kind === 'dropout' && !v.dropout) continue;
    if (s.kind === 'conv') {
      const half = v.towers === 'one' && s.name !== lastConv;
      out.push({
        ...s,
        out: scaled(s.out, v.width * (half ? 0.5 : 1)),
        groups: v.towers === 'one' ? 1 : s.groups,
      });
    } else if (s.kind === 'linear' && s.out !== 'classes' && v.fc !== undefined) {
      out.push({ ...s, out: v.fc });
    } else if (s.kind === 'relu' && v.activation === 'tanh') {
      out.push({ kind: 'tanh', name: s.name });
    } else if (s.kind === 'maxpool' && v.pool === '2x2') {
      out.push({ ...s, k: 2, stride: 2 });
    } else {
      out.push(s);
    }
    if (v.conv6 && s.kind === 'maxpool' && s.name === 'pool5') {
      const width = specs.find((x) => x.name === lastConv);
      out.push(
        {
          kind: 'conv',
          name: 'conv6',
          out: scaled(width?.kind === 'conv' ? width.out : 256, v.width),
          k: 1,
          stride: 1,
          pad: 0,
          groups: 1,
        },
        v.activation === 'tanh'
          ? { kind: 'tanh', name: 'relu6c' }
          : { kind: 'relu', name: 'relu6c' },
      );
    }
  }
  return out;
}

/** A short name for a variant: the fields that differ from the paper's network. */
export function describeVariant(v: Variant): string {
  const parts: string[] = [];
  if (v.width !== 1) parts.push(`width ×${v.width}`);
  if (v.fc !== undefined) parts.push(`fc ${v.fc}`);
  if (v.activation !== 'relu') parts.push(v.activation);
  if (!v.lrn) parts.push('no LRN');
  if (v.pool !== 'overlap') parts.push('2×2 pooling');
  if (!v.dropout) parts.push('no dropout');
  if (v.towers === 'one') parts.push('one tower');
  for (const r of v.remove) parts.push(`no ${r}`);
  if (v.conv6) parts.push('conv6');
  return parts.join(', ') || 'as the paper';
}

/** The named edits `train --variant` takes, each one field of the variant. */
export const VARIANT_NAMES: Record<string, VariantInput> = {
  conv6: { conv6: true },
  tanh: { activation: 'tanh' },
  'no-lrn': { lrn: false },
  'pool-2x2': { pool: '2x2' },
  'no-dropout': { dropout: false },
  'one-tower': { towers: 'one' },
  ...Object.fromEntries(MIDDLE_CONVS.map((c) => [`no-${c}`, { remove: [c] }])),
};

/** A comma-separated list of VARIANT_NAMES (e.g. "conv6,no-lrn") as one variant; an unknown
 *  name is an Error naming it and the choices. */
export function variantFromNames(list: string): Variant {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const remove: (typeof MIDDLE_CONVS)[number][] = [];
  let v: VariantInput = {};
  for (const name of names) {
    const edit = VARIANT_NAMES[name];
    if (!edit)
      throw new Error(`unknown variant ${name} (choose ${Object.keys(VARIANT_NAMES).join(', ')})`);
    remove.push(...(edit.remove ?? []));
    v = { ...v, ...edit };
  }
  return variantSchema.parse({ ...v, remove });
}
