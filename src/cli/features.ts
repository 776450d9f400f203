// `alexnet features --model M IMAGE... --output F.npy [--layer fc7]`: a layer's activations
// (default fc7, the paper's 4096-d image descriptor) for each image, rows in argument order.
import { Command } from 'commander';
import { extractFeatures } from '../eval/retrieval.js';
import { loadModel } from '../models/checkpoint.js';
import { writeNpy } from '../tensor/npy.js';
import { progressFor, taskCallback } from '../train/progress.js';
import { backendFrom, positiveInt, precisionOption, printJson } from './options.js';
import type { Precision } from '../nn/precision.js';

interface FeaturesOptions {
  model: string;
  arch?: string;
  output: string;
  layer: string;
  batch: number;
  backend?: string;
  threads?: number;
  precision: Precision;
  json?: boolean;
  quiet?: boolean;
}

export function registerFeatures(program: Command): void {
  program
    .command('features')
    .description(
      "write a layer's activations (default fc7) for image files as an .npy array [N, …]",
    )
    .argument('<images...>', 'image files')
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .requiredOption('--output <f.npy>', 'where to write the features')
    .option('--layer <name>', 'layer whose output to write', 'fc7')
    .option('--batch <n>', 'images per forward pass', positiveInt, 16)
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption('fp32'))
    .option('--json', 'print a JSON summary')
    .option('--quiet', 'no progress on stderr')
    .action(async (images: string[], o: FeaturesOptions) => {
      const { net, meta } = loadModel(o.model, {
        backend: backendFrom(o),
        arch: o.arch,
        precision: o.precision,
      });
      const { features } = await extractFeatures(
        net,
        meta,
        images,
        o.layer,
        o.batch,
        false,
        taskCallback(progressFor(o), 'features'),
      );
      writeNpy(o.output, features);
      if (o.json)
        printJson({
          output: o.output,
          layer: o.layer,
          shape: features.shape,
          images,
          precision: o.precision,
        });
      else
        process.stdout.write(
          `${o.layer} features of ${images.length} image${images.length === 1 ? '' : 's'}: [${features.shape.join(', ')}] → ${o.output}\n`,
        );
    });
}
