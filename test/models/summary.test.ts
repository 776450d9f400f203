// Parameter and MAC totals of the variants (SPEC §1), derived from the layer lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { defaultConfig } from '../../src/models/config.js';
import { UsageError } from '../../src/util/errors.js';

test('alexnet2012 at 227: 60,965,224 params and 724,406,816 MACs', () => {
  const net = buildNet(defaultConfig('alexnet2012'), refBackend);
  assert.equal(net.paramCount, 60_965_224);
  assert.equal(net.macCount, 724_406_816);
  assert.deepEqual(net.rows[0].output, [96, 55, 55]);
  assert.deepEqual(net.rows.find((r) => r.name === 'flatten')!.output, [9216]);
});

test('alexnet2012 at 224 pads conv1 by 2 and comes out the same', () => {
  const net = buildNet(defaultConfig('alexnet2012', { inputSize: 224 }), refBackend);
  assert.deepEqual(net.rows[0].output, [96, 55, 55]);
  assert.equal(net.paramCount, 60_965_224);
  assert.equal(net.macCount, 724_406_816);
});

test('caffenet has the same parameters as alexnet2012', () => {
  const net = buildNet(defaultConfig('caffenet'), refBackend);
  assert.equal(net.paramCount, 60_965_224);
  assert.deepEqual(
    net.layers.slice(0, 4).map((l) => l.kind),
    ['conv', 'relu', 'maxpool', 'lrn'],
  );
});

test('torchvision at 224: 61,100,840 params and 714,188,480 MACs', () => {
  const net = buildNet(defaultConfig('torchvision'), refBackend);
  assert.equal(net.paramCount, 61_100_840);
  assert.equal(net.macCount, 714_188_480);
});

test("d2l at 224 flattens to 6400 features (the seeds' 6400 question)", () => {
  const net = buildNet(defaultConfig('d2l'), refBackend);
  assert.deepEqual(net.rows.find((r) => r.name === 'flatten')!.output, [6400]);
  assert.deepEqual(net.outputShape, [10]);
});

test('a too-small input names the layer where the map vanishes', () => {
  assert.throws(
    () => buildNet(defaultConfig('alexnet2012', { inputSize: 40 }), refBackend),
    (e: unknown) =>
      e instanceof UsageError && /^pool\d|^conv\d/.test(e.message) && /vanishes/.test(e.message),
  );
});
