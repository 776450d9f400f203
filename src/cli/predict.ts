// `alexnet predict`: image files → top-k labels with probabilities, each image prepared the way
// the model's training data was (its metadata's preprocess). --views 10 averages the softmax of
// the paper's ten crops (RGB models). The work is the library's classifyImages.
import { Command, Option } from 'commander';
import { defaultPreprocess } from '../data/presets.js';
import { classifyImages } from '../eval/classify.js';
import { loadModel } from '../models/checkpoint.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, precisionOption, printJson } from './options.js';
import type { Precision } from '../nn/precision.js';

interface PredictOptions {
  model: string;
  top: number;
  views: 'center' | '10';
  arch?: string;
  backend?: string;
  threads?: number;
  precision: Precision;
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
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption('fp32'))
    .option('--json', 'one JSON object per image')
    .action(async (images: string[], o: PredictOptions) => {
      const backend = backendFrom(o);
      const { net, meta } = loadModel(o.model, { backend, arch: o.arch, precision: o.precision });
      const c = meta.config;
      const pre = meta.preprocess ?? defaultPreprocess(c.channels, c.inputSize);
      if (o.views === '10' && pre.colorOrder === 'gray')
        usage(
          '--views 10: Fashion-MNIST models see whole 28×28 images, so only the centre view makes sense',
        );
      const names = meta.classNames ?? Array.from({ length: c.classes }, (_, i) => String(i));
      // One image at a time, so results appear as they are computed.
      for (const path of images) {
        const [best] = await classifyImages([net], pre, names, [path], {
          top: o.top,
          views: o.views,
        });
        if (o.json) printJson({ image: path, views: o.views, top: best });
        else
          process.stdout.write(
            `${path}\n${best.map((b) => `  ${b.probability.toFixed(4)}  ${b.label}`).join('\n')}\n`,
          );
      }
    });
}
