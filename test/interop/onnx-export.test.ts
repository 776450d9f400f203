// ONNX export: every variant (reduced widths) runs in onnxruntime with outputs equal to our
// forward pass within 1e-4 relative, at two batch sizes (the batch dimension is dynamic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { netToOnnx } from '../../src/interop/onnx-export.js';
import { encodeModel } from '../../src/interop/onnx-proto.js';
import type { ModelConfig } from '../../src/models/config.js';
import { UsageError } from '../../src/util/errors.js';
import { maxRelError, randomInput, tinyConfig, tinyNet } from './tiny.js';
import { hostTensor } from '../../src/backend/backend.js';

const cases: [string, ModelConfig][] = [
  ['alexnet2012 at 227', tinyConfig('alexnet2012')],
  [
    'alexnet2012 at 224 (conv1 pad 2), classic dropout, absolute LRN alpha',
    tinyConfig('alexnet2012', {
      inputSize: 224,
      dropoutMode: 'classic',
      lrnAlphaScaling: 'absolute',
    }),
  ],
  ['caffenet with k = 1', tinyConfig('caffenet', { lrnK: 1 })],
  ['torchvision at 224', tinyConfig('torchvision')],
  ['d2l (1 channel)', tinyConfig('d2l')],
];

for (const [name, config] of cases) {
  test(`ONNX export runs in onnxruntime and matches forward: ${name}`, async () => {
    const net = tinyNet(config);
    const bytes = encodeModel(netToOnnx(net, { config }));
    const session = await ort.InferenceSession.create(bytes);
    for (const n of [1, 3]) {
      const x = randomInput([n, config.channels, config.inputSize, config.inputSize], 11 + n);
      const want = hostTensor(net.backend, net.forward(x, false));
      const got = await session.run({ input: new ort.Tensor('float32', x.data, [...x.shape]) });
      const y = got.logits;
      assert.deepEqual(y.dims, [n, config.classes]);
      const err = maxRelError(y.data as Float32Array, want.data);
      assert.ok(err < 1e-4, `batch ${n}: max relative error ${err}`);
    }
  });
}

test('ONNX export refuses an adaptive pool with uneven windows', () => {
  const config = tinyConfig('torchvision', { inputSize: 256 });
  assert.throws(
    () => netToOnnx(tinyNet(config), { config }),
    (e: unknown) => e instanceof UsageError && /uneven windows/.test((e as Error).message),
  );
});
