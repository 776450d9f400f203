// `alexnet import SRC --from torchvision|caffe|onnx [--arch ID] --output OUT.safetensors`:
// pretrained weights from another framework → a native model file with config, ImageNet class
// names and the framework's preprocessing in its metadata.
import { Command, Option } from 'commander';
import { IMPORT_FORMATS, importModel, type ImportFormat } from '../interop/import.js';
import { backendFrom, printJson } from './options.js';

interface ImportCliOptions {
  from: ImportFormat;
  arch?: string;
  prototxt?: string;
  output: string;
  json?: boolean;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'import pretrained weights (torchvision .pth, Caffe .caffemodel, ONNX) as a model file',
    )
    .argument('<src>', 'the file to import')
    .addOption(
      new Option('--from <format>', 'what the file is')
        .choices([...IMPORT_FORMATS])
        .makeOptionMandatory(),
    )
    .option('--arch <id>', 'the variant to import as (default: recognised from the file)')
    .option('--prototxt <file>', 'Caffe: the deploy prototxt, to confirm the layer order')
    .requiredOption('--output <out.safetensors>', 'where to write the model')
    .option('--json', 'print a JSON summary')
    .action((src: string, o: ImportCliOptions) => {
      const { net, meta } = importModel(
        src,
        o.output,
        { from: o.from, arch: o.arch, prototxt: o.prototxt },
        backendFrom({ backend: 'ref' }),
      );
      const summary = {
        output: o.output,
        arch: meta.config.arch,
        classes: meta.config.classes,
        inputSize: meta.config.inputSize,
        params: net.paramCount,
        colorOrder: meta.preprocess?.colorOrder,
      };
      if (o.json) printJson(summary);
      else {
        process.stdout.write(
          `imported ${src} (${o.from}) as ${meta.config.arch}: ${net.paramCount.toLocaleString('en-US')} parameters, ` +
            `${meta.config.classes} classes, ${meta.config.inputSize}×${meta.config.inputSize} ${meta.preprocess?.colorOrder.toUpperCase()} input → ${o.output}\n`,
        );
      }
    });
}
