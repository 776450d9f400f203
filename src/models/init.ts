// Initialisation schemes (SPEC §1):
//   paper   — each layer's `fillers.paper` from its spec (the layer lists in alexnet.ts: weights
//             N(0, 0.01²); biases 1 in conv2, conv4, conv5, fc6, fc7, §5, 0 elsewhere);
//   caffe   — each layer's `fillers.caffe` (bvlc_alexnet's train_val.prototxt: N(0, 0.01²) but
//             fc6/fc7 N(0, 0.005²); biases 0.1 where the paper has 1);
//   (a layer stating no filler gets N(0, 0.01²) and bias 0 under both)
//   xavier  — uniform ±√(6/(fan_in+fan_out)), biases 0 (what the d2l chapter applies);
//   kaiming — PyTorch's default for Conv2d/Linear: weights and biases U(±1/√fan_in).
import { Conv2d } from '../nn/conv.js';
import type { Filler, Layer } from '../nn/layer.js';
import { Linear } from '../nn/linear.js';
import type { Net } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export const INIT_SCHEMES = ['paper', 'caffe', 'xavier', 'kaiming'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

const DEFAULT_FILLER: Filler = { std: 0.01, bias: 0 };

function fillerOf(layer: Layer, scheme: 'paper' | 'caffe'): Filler {
  const spec = layer instanceof Conv2d || layer instanceof Linear ? layer.spec : undefined;
  return spec?.fillers?.[scheme] ?? DEFAULT_FILLER;
}

export function initialize(net: Net, scheme: InitScheme, seed: number, only?: Set<string>): void {
  const rng = new Rng(seed);
  for (const layer of net.layers) {
    if (layer.params.length === 0 || (only && !only.has(layer.name))) continue;
    const [wp, bp] = layer.params;
    // Drawn on the host in a fixed order (the seed's stream), then uploaded.
    const w = new Tensor(wp.shape);
    const b = new Tensor(bp.shape);
    const fanIn = w.shape.slice(1).reduce((a, d) => a * d, 1);
    const receptive = w.shape.slice(2).reduce((a, d) => a * d, 1);
    const fanOut = w.shape[0] * receptive;
    const fill = (a: Float32Array, draw: () => number): void => {
      for (let i = 0; i < a.length; i++) a[i] = draw();
    };
    switch (scheme) {
      case 'paper':
      case 'caffe': {
        const f = fillerOf(layer, scheme);
        fill(w.data, () => rng.normal(0, f.std));
        b.data.fill(f.bias);
        break;
      }
      case 'xavier': {
        const a = Math.sqrt(6 / (fanIn + fanOut));
        fill(w.data, () => (2 * rng.uniform() - 1) * a);
        b.data.fill(0);
        break;
      }
      case 'kaiming': {
        const a = 1 / Math.sqrt(fanIn);
        fill(w.data, () => (2 * rng.uniform() - 1) * a);
        fill(b.data, () => (2 * rng.uniform() - 1) * a);
        break;
      }
    }
    net.backend.upload(w, wp.value);
    net.backend.upload(b, bp.value);
  }
  net.weightsChanged();
}
