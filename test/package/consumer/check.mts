// Type-checked (never run) by test/package/pack.test.ts against the installed tarball's .d.ts files.
import {
  Model,
  Tensor,
  train,
  type ClassScore,
  type ModelConfig,
  type Preprocess,
  type TrainRun,
} from 'alexnet-ts';

export async function use(): Promise<number> {
  const model = await Model.load('model.safetensors', { backend: 'ref' });
  const config: ModelConfig = model.config;
  const pre: Preprocess = model.preprocess;
  const top: ClassScore[][] = await model.predict(['cat.jpg', new Uint8Array(10)], { top: 3 });
  const y: Tensor = await model.run({
    data: new Float32Array(3 * 224 * 224),
    shape: [1, 3, 224, 224],
  });
  const run: TrainRun = await train({ outDir: 'runs/x', signal: AbortSignal.timeout(1000) });
  // @ts-expect-error: not a variant — the types are real, not `any`
  Model.create('vgg16');
  return config.classes + pre.resize + top.length + y.size + run.history.length;
}
