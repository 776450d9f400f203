// `alexnet train --variant`: the lab's layer edits by name from the command line, e.g. Table 2's
// CNN* (conv6); the model file stores the variant, so `--from` and `eval` rebuild the same net.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configFrom } from '../../src/cli/train.js';
import { variantFromNames } from '../../src/models/variants.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { runCli } from '../helpers/cli.js';

test('variantFromNames: names combine into one variant; an unknown name is refused', () => {
  const v = variantFromNames('conv6, no-lrn,no-conv3,no-conv4');
  assert.equal(v.conv6, true);
  assert.equal(v.lrn, false);
  assert.deepEqual(v.remove, ['conv3', 'conv4']);
  assert.equal(v.activation, 'relu');
  assert.throws(() => variantFromNames('conv6,conv7'), /unknown variant conv7 \(choose conv6, /);
  assert.deepEqual(configFrom({ preset: 'fashion-quick', variant: v } as never).variant, v);
});

test('train --arch alexnet2012 --variant conv6 trains CNN*; a bad name exits 2 in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-variant-'));
  const tiny = ['--input-size', '67', '--epochs', '1', '--batch', '16', '--max-train', '32'];
  const r = runCli([
    'train',
    '--arch',
    'alexnet2012',
    '--variant',
    'conv6',
    ...tiny,
    '--max-test',
    '16',
    '--quiet',
    '--out',
    join(dir, 'cnn6'),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const { tensors, metadata } = readSafetensors(join(dir, 'cnn6', 'model.safetensors'));
  assert.deepEqual(tensors.get('conv6.weight')!.shape, [256, 256, 1, 1]);
  assert.equal(JSON.parse(metadata['alexnet.meta']).config.variant.conv6, true);
  const bad = runCli(['train', '--variant', 'conv7', '--out', join(dir, 'bad')]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr.trim(), /^[^\n]*--variant conv7: unknown variant conv7[^\n]*$/);
});
