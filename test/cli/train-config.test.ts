// How `alexnet train` lays flags over a preset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFrom } from '../../src/cli/train.js';

test("--arch brings its variant's input size unless --input-size is given", () => {
  assert.equal(
    configFrom({ preset: 'fashion-quick', arch: 'alexnet2012' } as never).inputSize,
    227,
  );
  assert.equal(
    configFrom({ preset: 'fashion-quick', arch: 'torchvision' } as never).inputSize,
    224,
  );
  assert.equal(
    configFrom({ preset: 'fashion-quick', arch: 'alexnet2012', inputSize: 67 } as never).inputSize,
    67,
  );
  assert.equal(configFrom({ preset: 'fashion-quick' } as never).inputSize, 67); // fashion-quick's own
  assert.equal(configFrom({ preset: 'fashion-quick', arch: 'd2l' } as never).inputSize, 67); // the preset's own arch keeps its size
});
