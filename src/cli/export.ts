// `alexnet export CKPT --to onnx|safetensors --output OUT`: an ONNX graph (opset 11, dynamic
// batch) that onnxruntime runs with the same outputs as `alexnet infer`, or a clean safetensors
// re-write with the metadata.
import { Command, Option } from 'commander';
import { loadModel, saveModel } from '../models/checkpoint.js';
import { exportOnnx } from '../interop/onnx-export.js';
import { backendFrom, positiveInt, printJson } from './options.js';

interface ExportOptions {
  to: 'onnx' | 'safetensors';
  output: string;
  arch?: string;
  classes?: number;
  json?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a model file to ONNX or safetensors')
    .argument('<ckpt>', 'model file (.safetensors)')
    .addOption(
      new Option('--to <format>', 'output format')
        .choices(['onnx', 'safetensors'])
        .makeOptionMandatory(),
    )
    .requiredOption('--output <out>', 'where to write it')
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .option(
      '--classes <n>',
      'class count, when the file has no metadata (default: from fc8)',
      positiveInt,
    )
    .option('--json', 'print a JSON summary')
    .action((ckpt: string, o: ExportOptions) => {
      const { net, meta } = loadModel(ckpt, {
        backend: backendFrom({ backend: 'ref' }),
        arch: o.arch,
        classes: o.classes,
      });
      if (o.to === 'onnx') exportOnnx(o.output, net, meta);
      else saveModel(o.output, net, meta);
      if (o.json) printJson({ output: o.output, format: o.to, arch: meta.config.arch });
      else
        process.stdout.write(`exported ${ckpt} (${meta.config.arch}) as ${o.to} → ${o.output}\n`);
    });
}
