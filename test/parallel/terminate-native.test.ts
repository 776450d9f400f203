// A worker terminated while it calls native kernels ends quietly. The addon's calls then fail
// inside node-addon-api ("cannot run JS"); without NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
// (binding.gyp) that failure was rethrown as a C++ exception nobody could catch and the whole
// process aborted with "terminate called after throwing an instance of 'Napi::Error'" — seen
// when a data-parallel group terminated its replicas after one failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { nativeBackend } from '../../src/backend/native/index.js';

const native = new URL('../../src/backend/native/index.js', import.meta.url).href;
const tensor = new URL('../../src/tensor/tensor.js', import.meta.url).href;

// Tiny conv calls in a loop: most of each call is the addon reading its arguments, where a
// termination lands.
const loop = `
const { parentPort } = require('node:worker_threads');
(async () => {
  const { nativeBackend: b } = await import(${JSON.stringify(native)});
  const { Tensor } = await import(${JSON.stringify(tensor)});
  const g = { n: 1, cIn: 2, h: 3, w: 3, cOut: 2, kh: 1, kw: 1, stride: 1, pad: 0, groups: 1,
              ho: 3, wo: 3, relu: false };
  const x = Tensor.of('float32', [1, 2, 3, 3]), w = Tensor.of('float32', [2, 2, 1, 1]);
  const y = Tensor.of('float32', [1, 2, 3, 3]);
  parentPort.postMessage('ready');
  for (;;) b.conv2dForward({ x, w, b: null, y }, g);
})();`;

test(
  'workers terminated in the middle of native calls do not abort the process',
  { skip: !nativeBackend && 'the native addon did not load', timeout: 60000 },
  async () => {
    for (let i = 0; i < 40; i++) {
      const worker = new Worker(loop, { eval: true });
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 2 + (i % 7) * 3));
      assert.equal(await worker.terminate(), 1);
    }
  },
);
