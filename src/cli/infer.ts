// `alexnet infer`: .npy in (NCHW float32), the named layer's output (default: logits) out as .npy,
// in eval mode — so any tool can feed the network and compare its outputs.
import { Command } from 'commander';
import { inferBatched } from '../eval/batched.js';
import { loadModel } from '../models/checkpoint.js';
import { readNpy, writeNpy } from '../tensor/npy.js';
import { shapeString } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, precisionOption, printJson } from './options.js';
import type { Precision } from '../nn/precision.js';

interface InferOptions {
  model: string;
  arch?: string;
  classes?: number;
  input: string;
  output: string;
  layer?: string;
  batch: number;
  backend?: string;
  threads?: number;
  precision: Precision;
  json?: boolean;
}

export function registerInfer(program: Command): void {
  program
    .command('infer')
    .description("run a model on an .npy batch (NCHW float32) and write a layer's output as .npy")
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .option(
      '--classes <n>',
      'class count, when the file has no metadata (default: from fc8)',
      positiveInt,
    )
    .requiredOption('--input <x.npy>', 'input array [N, C, H, W]')
    .requiredOption('--output <y.npy>', 'where to write the output')
    .option('--layer <name>', 'layer whose output to write (default: the logits)')
    .option('--batch <n>', 'images per forward pass', positiveInt, 32)
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption('fp32'))
    .option('--json', 'print a JSON summary')
    .action(async (o: InferOptions) => {
      const backend = backendFrom(o);
      const x = readNpy(o.input);
      // A file without metadata takes its input size from the array (224 vs 227 changes conv1).
      const { net } = loadModel(o.model, {
        backend,
        arch: o.arch,
        classes: o.classes,
        inputSize: x.shape[3],
        precision: o.precision,
      });
      const per = net.input;
      if (x.shape.length !== 4 || x.shape.slice(1).some((d, i) => d !== per[i])) {
        usage(
          `${o.input}: array has shape ${shapeString(x.shape)}, the model expects [N, ${per.join(', ')}]`,
        );
      }
      const y = await inferBatched(net, x, o.batch, o.layer);
      writeNpy(o.output, y);
      if (o.json)
        printJson({
          output: o.output,
          shape: y.shape,
          layer: o.layer ?? 'logits',
          precision: o.precision,
        });
    });
}
