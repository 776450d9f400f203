// A variant at reduced width (conv channels ÷ `div`, hidden fc features ÷ `fcDiv`), built from the
// same layer list as the real model — how the whole-network golden files are checked.
// Dropout gets p = 0 (so both frameworks compute the same function in training mode) unless
// `dropout` says otherwise (the trajectory test feeds both the same masks).
import type { Backend } from '../../src/backend/backend.js';
import { layerSpecs } from '../../src/models/alexnet.js';
import { defaultConfig, type Arch } from '../../src/models/config.js';
import { Net, type LayerSpec } from '../../src/nn/net.js';

export function scaledNet(
  arch: Arch,
  channels: number,
  inputSize: number,
  div: number,
  fcDiv: number,
  classes: number,
  backend: Backend,
  dropout = 0,
): Net {
  const config = defaultConfig(arch, { channels, inputSize, classes });
  const specs = layerSpecs(config).map((s): LayerSpec => {
    if (s.kind === 'conv') return { ...s, out: s.out / div };
    if (s.kind === 'linear' && s.out !== 'classes') return { ...s, out: s.out / fcDiv };
    if (s.kind === 'dropout') return { ...s, p: dropout };
    return s;
  });
  return new Net(
    specs,
    { input: [channels, inputSize, inputSize], classes, dropoutMode: 'inverted' },
    backend,
  );
}
