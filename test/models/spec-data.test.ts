// The model is data: initialisation and the lr/decay multipliers come from the layer specs (as
// Caffe's prototxt states them per layer), not from tables keyed by layer name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostData } from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';
import { layerSpecs } from '../../src/models/alexnet.js';
import { ARCHS, defaultConfig } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import { Net, type LayerSpec } from '../../src/nn/net.js';

const tiny = (specs: LayerSpec[]): Net =>
  new Net(specs, { input: [1, 8, 8], classes: 3, dropoutMode: 'inverted' }, refBackend);

test('every variant states the init fillers of each learnable layer', () => {
  for (const arch of ARCHS) {
    const learnable = layerSpecs(defaultConfig(arch)).filter(
      (s) => s.kind === 'conv' || s.kind === 'linear',
    );
    assert.equal(learnable.length, 8, arch);
    for (const s of learnable) {
      if (s.kind !== 'conv' && s.kind !== 'linear') continue;
      const oneBias = ['conv2', 'conv4', 'conv5', 'fc6', 'fc7'].includes(s.name);
      assert.equal(s.fillers?.paper?.bias, oneBias ? 1 : 0, `${arch} ${s.name}`);
      assert.equal(s.fillers?.caffe?.bias, oneBias ? 0.1 : 0, `${arch} ${s.name}`);
      assert.equal(s.fillers?.caffe?.std, s.name === 'fc6' || s.name === 'fc7' ? 0.005 : 0.01);
    }
  }
});

test('initialisation and multipliers follow the spec, whatever the layer is called', () => {
  const net = tiny([
    {
      kind: 'conv',
      name: 'anything',
      out: 2,
      k: 3,
      stride: 1,
      pad: 0,
      groups: 1,
      fillers: { paper: { std: 0.5, bias: 7 }, caffe: { std: 0.01, bias: -3 } },
      mult: { bias: { lr: 5, decay: 0.25 } },
    },
    { kind: 'flatten', name: 'flatten' },
    { kind: 'linear', name: 'fc6', out: 'classes' }, // named like the paper's, states nothing
  ]);
  const [w, b, fw, fb] = net.params;
  initialize(net, 'paper', 1);
  assert.ok(hostData(refBackend, b.value).every((v) => v === 7));
  const sd = Math.sqrt(hostData(refBackend, w.value).reduce((s, v) => s + v * v, 0) / w.value.size);
  assert.ok(sd > 0.3 && sd < 0.7, `weight std ${sd}`);
  assert.ok(hostData(refBackend, fb.value).every((v) => v === 0)); // no name table: bias 0
  assert.ok(Math.abs(hostData(refBackend, fw.value)[0]) < 0.1);
  initialize(net, 'caffe', 1);
  assert.ok(hostData(refBackend, b.value).every((v) => v === -3));
  assert.deepEqual(b.mult, { lr: 5, decay: 0.25 });
  assert.deepEqual(w.mult, { lr: 1, decay: 1 });
  assert.deepEqual(fb.mult, { lr: 2, decay: 0 }); // stating none: bvlc_alexnet's
  assert.deepEqual(fw.mult, { lr: 1, decay: 1 });
});
