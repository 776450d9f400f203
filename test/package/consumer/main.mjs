// Run by test/package/pack.test.ts inside an empty project where the packed tarball was installed:
// the public API through the package's own entry point, as a user's ESM script would use it.
import { Model, Tensor, preprocessPreset, selectBackend, softmaxRows } from 'alexnet-ts';

const backend = selectBackend('native'); // throws when the addon did not build
const model = Model.create('d2l', { inputSize: 67, backend, seed: 1 });
const logits = await model.run(new Tensor([2, 1, 67, 67]));
const pixels = { data: new Uint8Array(40 * 30 * 3).fill(200), width: 40, height: 30, channels: 3 };
const [top] = await model.predict([pixels], { top: 3 });
const probs = softmaxRows(logits.data, 2, 10);
process.stdout.write(
  JSON.stringify({
    backend: backend.name,
    logitsShape: logits.shape,
    top: top.length,
    rowSum: probs.slice(0, 10).reduce((a, b) => a + b, 0),
    nonzeroWeights: (await model.weights()).get('conv1.weight').data.some((v) => v !== 0),
    torchvisionResample: preprocessPreset('torchvision').resample,
  }) + '\n',
);
