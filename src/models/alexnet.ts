// The four AlexNet variants of SPEC §1 as declarative layer lists (cf. Caffe's
// bvlc_alexnet/train_val.prototxt). Every shape — including the flatten size, 9216 at 227/224
// or 6400 for the d2l net at 224 — is inferred from the list, never written down.
import type { Backend } from '../backend/backend.js';
import type { LayerSpec } from '../nn/net.js';
import { Net } from '../nn/net.js';
import type { LearnableSpec } from '../nn/layer.js';
import type { Precision } from '../nn/precision.js';
import type { ModelConfig } from './config.js';
import { applyVariant } from './variants.js';

const lrn = (name: string, k: number, c: ModelConfig): LayerSpec => ({
  kind: 'lrn',
  name,
  size: 5,
  alpha: 1e-4,
  beta: 0.75,
  k: c.lrnK ?? k,
  alphaScaling: c.lrnAlphaScaling,
});
// What each learnable layer says about its parameters (SPEC §1, Caffe's bvlc_alexnet): the
// 'paper' and 'caffe' init fillers; lr_mult/decay_mult are bvlc_alexnet's everywhere, which is
// what a spec stating none gets (DEFAULT_MULT: biases lr ×2, no decay).
const ZERO_BIAS: Fillers = { paper: { std: 0.01, bias: 0 }, caffe: { std: 0.01, bias: 0 } };
/** The paper's bias 1 (ReLUs get positive inputs early, §5); Caffe's 0.1. */
const ONE_BIAS: Fillers = { paper: { std: 0.01, bias: 1 }, caffe: { std: 0.01, bias: 0.1 } };
/** fc6, fc7: as ONE_BIAS, with Caffe's N(0, 0.005²). */
const HIDDEN_FC: Fillers = { paper: { std: 0.01, bias: 1 }, caffe: { std: 0.005, bias: 0.1 } };
type Fillers = NonNullable<LearnableSpec['fillers']>;

const conv = (
  name: string,
  out: number,
  k: number,
  stride: number,
  pad: number,
  groups = 1,
  fillers = ZERO_BIAS,
): LayerSpec => ({ kind: 'conv', name, out, k, stride, pad, groups, fillers });
const relu = (name: string): LayerSpec => ({ kind: 'relu', name });
const maxpool = (name: string): LayerSpec => ({ kind: 'maxpool', name, k: 3, stride: 2 }); // overlapping, §3.4
const fc = (name: string, out: number | 'classes', fillers = ZERO_BIAS): LayerSpec => ({
  kind: 'linear',
  name,
  out,
  fillers,
});
const dropout = (name: string): LayerSpec => ({ kind: 'dropout', name, p: 0.5 });
const flatten: LayerSpec = { kind: 'flatten', name: 'flatten' };

/** The classifier shared by the paper's layouts: fc6 → ReLU → dropout → fc7 → ReLU → dropout → fc8. */
const paperClassifier: LayerSpec[] = [
  flatten,
  fc('fc6', 4096, HIDDEN_FC),
  relu('relu6'),
  dropout('drop6'),
  fc('fc7', 4096, HIDDEN_FC),
  relu('relu7'),
  dropout('drop7'),
  fc('fc8', 'classes'),
];

/** conv1 padding: 224 inputs get pad 2 so both 224 and 227 give 55×55 after conv1. */
const conv1Pad = (c: ModelConfig): number => (c.inputSize === 224 ? 2 : 0);

/** The variant's layer list: the paper's (or the named net's), edited by `c.variant` if set. */
export function layerSpecs(c: ModelConfig): LayerSpec[] {
  return c.variant ? applyVariant(archSpecs(c), c.variant) : archSpecs(c);
}

function archSpecs(c: ModelConfig): LayerSpec[] {
  switch (c.arch) {
    case 'alexnet2012': // the paper: towers as groups=2 in conv2, conv4, conv5; LRN after ReLU, before pool
      return [
        conv('conv1', 96, 11, 4, conv1Pad(c)),
        relu('relu1'),
        lrn('norm1', 2, c),
        maxpool('pool1'),
        conv('conv2', 256, 5, 1, 2, 2, ONE_BIAS),
        relu('relu2'),
        lrn('norm2', 2, c),
        maxpool('pool2'),
        conv('conv3', 384, 3, 1, 1),
        relu('relu3'),
        conv('conv4', 384, 3, 1, 1, 2, ONE_BIAS),
        relu('relu4'),
        conv('conv5', 256, 3, 1, 1, 2, ONE_BIAS),
        relu('relu5'),
        maxpool('pool5'),
        ...paperClassifier,
      ];
    case 'caffenet': // BVLC reference CaffeNet: pooling before normalisation, Caffe's k = 1
      return [
        conv('conv1', 96, 11, 4, conv1Pad(c)),
        relu('relu1'),
        maxpool('pool1'),
        lrn('norm1', 1, c),
        conv('conv2', 256, 5, 1, 2, 2, ONE_BIAS),
        relu('relu2'),
        maxpool('pool2'),
        lrn('norm2', 1, c),
        conv('conv3', 384, 3, 1, 1),
        relu('relu3'),
        conv('conv4', 384, 3, 1, 1, 2, ONE_BIAS),
        relu('relu4'),
        conv('conv5', 256, 3, 1, 1, 2, ONE_BIAS),
        relu('relu5'),
        maxpool('pool5'),
        ...paperClassifier,
      ];
    case 'torchvision': // "one weird trick" single tower; dropout BEFORE fc6 and fc7 as torchvision does
      return [
        conv('conv1', 64, 11, 4, 2),
        relu('relu1'),
        maxpool('pool1'),
        conv('conv2', 192, 5, 1, 2, 1, ONE_BIAS),
        relu('relu2'),
        maxpool('pool2'),
        conv('conv3', 384, 3, 1, 1),
        relu('relu3'),
        conv('conv4', 256, 3, 1, 1, 1, ONE_BIAS),
        relu('relu4'),
        conv('conv5', 256, 3, 1, 1, 1, ONE_BIAS),
        relu('relu5'),
        maxpool('pool5'),
        { kind: 'adaptiveavgpool', name: 'avgpool', size: 6 },
        flatten,
        dropout('drop6'),
        fc('fc6', 4096, HIDDEN_FC),
        relu('relu6'),
        dropout('drop7'),
        fc('fc7', 4096, HIDDEN_FC),
        relu('relu7'),
        fc('fc8', 'classes'),
      ];
    case 'd2l': // the d2l chapter's Fashion-MNIST net: single tower, no LRN, conv1 pad 1
      return [
        conv('conv1', 96, 11, 4, 1),
        relu('relu1'),
        maxpool('pool1'),
        conv('conv2', 256, 5, 1, 2, 1, ONE_BIAS),
        relu('relu2'),
        maxpool('pool2'),
        conv('conv3', 384, 3, 1, 1),
        relu('relu3'),
        conv('conv4', 384, 3, 1, 1, 1, ONE_BIAS),
        relu('relu4'),
        conv('conv5', 256, 3, 1, 1, 1, ONE_BIAS),
        relu('relu5'),
        maxpool('pool5'),
        ...paperClassifier,
      ];
  }
}

/** Builds the network for a config (in `precision`, precision.ts); parameters are zero until
 *  initialised or loaded. */
export function buildNet(
  c: ModelConfig,
  backend: Backend,
  seed = 0,
  precision: Precision = 'fp32',
): Net {
  return new Net(
    layerSpecs(c),
    {
      input: [c.channels, c.inputSize, c.inputSize],
      classes: c.classes,
      dropoutMode: c.dropoutMode,
      precision,
    },
    backend,
    seed,
  );
}
