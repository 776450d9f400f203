// `alexnet predict`: image files → top-k labels with probabilities, each image prepared the way
// the model's training data was (its metadata's preprocess). --views 10 averages the softmax of
// the paper's ten crops (RGB models).
import { Command, Option } from 'commander';
import { imageToInput, DEFAULT_GRAY, DEFAULT_RGB } from '../data/image.js';
import { loadImage256, viewsFor } from '../data/views.js';
import { topK } from '../eval/topk.js';
import { loadModel } from '../models/checkpoint.js';
import { SoftmaxLoss } from '../nn/loss.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, printJson } from './options.js';

interface PredictOptions {
  model: string;
  top: number;
  views: 'center' | '10';
  arch?: string;
  backend?: string;
  threads?: number;
  json?: boolean;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('classify image files: top-k labels with probabilities')
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .argument('<image...>', 'PNG/JPEG/WebP files')
    .option('--top <k>', 'labels to show per image', positiveInt, 5)
    .addOption(
      new Option('--views <mode>', "the centre view, or the paper's 10 views averaged (RGB models)")
        .choices(['center', '10'])
        .default('center'),
    )
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .option('--backend <id>', 'ref or native (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .option('--json', 'one JSON object per image')
    .action(async (images: string[], o: PredictOptions) => {
      const backend = backendFrom(o);
      const { net, meta } = loadModel(o.model, { backend, arch: o.arch });
      const c = meta.config;
      const pre =
        meta.preprocess ??
        (c.channels === 1 ? DEFAULT_GRAY : { ...DEFAULT_RGB, cropSize: c.inputSize });
      if (o.views === '10' && pre.colorOrder === 'gray')
        usage(
          '--views 10: Fashion-MNIST models see whole 28×28 images, so only the centre view makes sense',
        );
      const softmax = new SoftmaxLoss(net.backend);
      const names = meta.classNames ?? Array.from({ length: c.classes }, (_, i) => String(i));
      const per = c.channels * c.inputSize * c.inputSize;
      for (const path of images) {
        const views =
          o.views === '10'
            ? viewsFor(await loadImage256(path, pre.resize), c.inputSize, '10', pre)
            : [await imageToInput(path, pre, c.inputSize)];
        const x = new Tensor([views.length, c.channels, c.inputSize, c.inputSize]);
        views.forEach((v, i) => x.data.set(v.subarray(0, per), i * per));
        softmax.run(net.forward(x, false), new Int32Array(views.length), 0, false);
        const { probs } = await softmax.read();
        const mean = new Float32Array(c.classes);
        for (let v = 0; v < views.length; v++)
          for (let j = 0; j < c.classes; j++) mean[j] += probs[v * c.classes + j] / views.length;
        const best = topK(mean, 0, c.classes, o.top).map((t) => ({
          label: names[t.index],
          index: t.index,
          probability: t.score,
        }));
        if (o.json) printJson({ image: path, views: o.views, top: best });
        else
          process.stdout.write(
            `${path}\n${best.map((b) => `  ${b.probability.toFixed(4)}  ${b.label}`).join('\n')}\n`,
          );
      }
    });
}
