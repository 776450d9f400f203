// The few things the figures need from a network, in one place: conv1's kernels, how many towers
// the net has, class probabilities and one layer's output for a batch of inputs (eval mode).
// Letters: N images, K kernels, C channels, L classes.
import { hostData, hostTensor } from '../backend/backend.js';
import { Conv2d } from '../nn/conv.js';
import type { Net } from '../nn/net.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';

/** The first convolution's weights: [K, C, kh, kw]. */
export function firstConvWeights(net: Net): Tensor {
  const conv = net.layers.find((l): l is Conv2d => l instanceof Conv2d);
  if (!conv) return usage('the network has no convolutional layer');
  return new Tensor(conv.weight.shape, hostData(net.backend, conv.weight.value).slice());
}

/** The paper's towers: conv2's groups (2 in alexnet2012 and caffenet: kernels 1–48 of conv1 feed
 *  tower A, 49–96 tower B), else 1. */
export function towersOf(net: Net): number {
  const convs = net.layers.filter((l): l is Conv2d => l instanceof Conv2d);
  return convs.length > 1 ? convs[1].spec.groups : 1;
}

/** Softmax of the logits, row by row. x: [N, C, H, W] → [N, L] */
export function probabilities(net: Net, x: Tensor): Float32Array {
  const logits = hostTensor(net.backend, net.forward(x, false));
  const l = logits.shape[1];
  const out = new Float32Array(logits.size);
  for (let i = 0; i < logits.shape[0]; i++) {
    let max = -Infinity;
    for (let j = 0; j < l; j++) max = Math.max(max, logits.data[i * l + j]);
    let sum = 0;
    for (let j = 0; j < l; j++) sum += out[i * l + j] = Math.exp(logits.data[i * l + j] - max);
    for (let j = 0; j < l; j++) out[i * l + j] /= sum;
  }
  return out;
}

/** The named layer's eval-mode output for x (copied: layers reuse their buffers). */
export function layerOutput(net: Net, x: Tensor, layer: string): Tensor {
  const y = hostTensor(net.backend, net.forwardTo(x, layer));
  return new Tensor(y.shape, y.data.slice());
}
