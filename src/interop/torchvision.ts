// torchvision's AlexNet state dict → this project's parameter names. torchvision numbers the
// layers inside two nn.Sequential blocks; only the layers with weights appear in the state dict:
//   features:   0 Conv 3 Conv 6 Conv 8 Conv 10 Conv   (1,2,4,5,7,9,11: ReLU/MaxPool)
//   classifier: 1 Linear 4 Linear 6 Linear           (0,3: Dropout; 2,5: ReLU)
// Layouts are PyTorch's on both sides, so the tensors move over unchanged.
import type { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import type { ModelMeta } from '../models/config.js';
import { importedMeta } from './conventions.js';
import { readTorchFile, stateDictTensors } from './torch-file.js';

export const TORCHVISION_LAYER_NAMES: Readonly<Record<string, string>> = {
  'features.0': 'conv1',
  'features.3': 'conv2',
  'features.6': 'conv3',
  'features.8': 'conv4',
  'features.10': 'conv5',
  'classifier.1': 'fc6',
  'classifier.4': 'fc7',
  'classifier.6': 'fc8',
};

/** Renames torchvision keys (optionally under DataParallel's `module.`) to conv1.weight … fc8.bias. */
export function mapTorchvisionKeys(
  state: Map<string, Tensor>,
  source: string,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, t] of state) {
    const k = key.startsWith('module.') ? key.slice('module.'.length) : key;
    const dot = k.lastIndexOf('.');
    const layer = TORCHVISION_LAYER_NAMES[k.slice(0, dot)];
    const param = k.slice(dot + 1);
    if (!layer || (param !== 'weight' && param !== 'bias')) {
      usage(
        `${source}: key ${key} is not part of torchvision's AlexNet (expected features.{0,3,6,8,10} and classifier.{1,4,6} weights and biases)`,
      );
    }
    out.set(`${layer}.${param}`, t);
  }
  return out;
}

export interface Imported {
  tensors: Map<string, Tensor>;
  meta: ModelMeta;
}

export function importTorchvision(path: string): Imported {
  const tensors = mapTorchvisionKeys(stateDictTensors(readTorchFile(path), path), path);
  const fc8 = tensors.get('fc8.weight');
  const conv1 = tensors.get('conv1.weight');
  if (!fc8 || !conv1)
    usage(`${path}: tensor ${fc8 ? 'features.0.weight' : 'classifier.6.weight'} is missing`);
  const meta = importedMeta(
    'torchvision',
    { classes: fc8.shape[0], channels: conv1.shape[1] },
    'torchvision',
  );
  return { tensors, meta };
}
