// `alexnet info MODEL`: what a model file says about itself — variant, classes, input,
// preprocessing (alexnet.meta), and for a model trained here its training record: dataset and
// split, recipe, validation accuracy, seed, date and package version. Older files, and files of
// other tools, show what they have.
import { Command, Option } from 'commander';
import { ARCHS } from '../models/config.js';
import { resolveMeta } from '../models/checkpoint.js';
import { readSafetensors } from '../tensor/safetensors.js';
import { SCHEMA_VERSION } from '../train/metrics.js';
import { describeConfig } from '../train/presets.js';
import { readTrainingRecord, type TrainingRecord } from '../train/record.js';
import type { ModelMeta } from '../models/config.js';
import { printJson } from './options.js';

interface InfoOptions {
  arch?: string;
  json?: boolean;
}

function splitText(r: TrainingRecord): string {
  const s = r.dataset.split;
  switch (s.kind) {
    case 'files':
      return 'separate train and test files';
    case 'folders':
      return `train/ for training, ${s.val}/ for validation`;
    case 'fraction':
      return `one tree, ${s.valFraction} of each class held out for validation by seed ${s.seed}`;
  }
}

function lines(
  path: string,
  meta: ModelMeta | null,
  params: number,
  r: TrainingRecord | null,
): string[] {
  const out = [`${path}`];
  const row = (k: string, v: string): void => {
    out.push(`  ${k.padEnd(14)}${v}`);
  };
  row('parameters', params.toLocaleString('en-US'));
  if (!meta) {
    row('metadata', 'none (give --arch to read the variant from the tensors)');
    return out;
  }
  const c = meta.config;
  row('variant', c.arch);
  row(
    'classes',
    `${c.classes}${meta.classNames ? ` (${meta.classNames.slice(0, 5).join(', ')}${c.classes > 5 ? ', …' : ''})` : ''}`,
  );
  row('input', `${c.channels}×${c.inputSize}×${c.inputSize}`);
  const p = meta.preprocess;
  if (p)
    row(
      'preprocessing',
      `${p.colorOrder}, resize ${p.resize}, crop ${p.cropSize}, ${Math.abs(p.pixelScale * 255 - 1) < 1e-9 ? '/255' : `×${p.pixelScale}`}, mean [${p.mean.map((m) => +m.toFixed(4)).join(', ')}], std [${p.std.map((s) => +s.toFixed(4)).join(', ')}]${p.invert ? ', dark-on-light inverted' : ''}`,
    );
  if (meta.dataset) row('dataset', meta.dataset);
  if (!r) {
    row('training', 'no training record (an imported model, or one saved before records)');
    return out;
  }
  row(
    'split',
    `${splitText(r)}; trained on ${r.dataset.trainImages}, validated on ${r.dataset.valImages} images`,
  );
  row('recipe', `${r.preset ? `preset ${r.preset}: ` : ''}${describeConfig(r.recipe)}`);
  row(
    'accuracy',
    r.result
      ? `validation top-1 ${r.result.val.top1.toFixed(4)}, top-5 ${r.result.val.top5.toFixed(4)}, loss ${r.result.val.loss.toFixed(4)} (${r.result.val.samples} images, epoch ${r.result.epoch}, step ${r.result.step})`
      : 'not validated (saved by an interrupt)',
  );
  row('seed', String(r.recipe.seed));
  row('date', r.date);
  row('written by', `${r.package.name} ${r.package.version}`);
  return out;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description(
      'what a model file holds: variant, classes, input, preprocessing, data, recipe, accuracy',
    )
    .argument('<model>', 'model file (.safetensors)')
    .addOption(
      new Option('--arch <id>', 'network variant, when the file has no alexnet metadata').choices(
        ARCHS,
      ),
    )
    .option('--json', 'one JSON object: meta, training, parameters')
    .action((path: string, o: InfoOptions) => {
      const { tensors, metadata } = readSafetensors(path);
      const hasMeta = metadata['alexnet.meta'] !== undefined;
      const meta =
        hasMeta || o.arch ? resolveMeta(path, tensors, metadata, { arch: o.arch }) : null;
      const record = readTrainingRecord(path, metadata);
      let params = 0;
      for (const [name, t] of tensors)
        if (!name.startsWith('momentum.')) params += t.shape.reduce((a, b) => a * b, 1);
      if (o.json)
        printJson({
          schemaVersion: SCHEMA_VERSION,
          model: path,
          parameters: params,
          meta,
          training: record,
        });
      else process.stdout.write(lines(path, meta, params, record).join('\n') + '\n');
    });
}
