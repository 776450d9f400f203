// `alexnet show …`: the paper's figures as files (.png, or .svg where the drawing is vector).
//   filters      Figure 3: conv1's kernels, tower A above tower B
//   predictions  Figure 4 left: images with their top-5 bars
//   neighbors    Figure 4 right: each query beside its nearest images by fc7 distance
//   activations  one layer's maps for one image; curves: runs overlaid; confusion: a heat map
import { basename } from 'node:path';
import { Command } from 'commander';
import type { Backend } from '../backend/backend.js';
import { predictSplit, report } from '../eval/evaluate.js';
import { extractFeatures, listImages, nearestNeighbors, preprocessOf } from '../eval/retrieval.js';
import { topK } from '../eval/topk.js';
import { imageToInput } from '../data/image.js';
import { loadModel, type LoadedModel } from '../models/checkpoint.js';
import { activationsSvg } from '../show/activations.js';
import { confusionSvg } from '../show/confusion.js';
import { overlaySvg, readRun } from '../show/curves.js';
import { formatOf, thumbnail, writeFigure } from '../show/figure.js';
import { filtersSvg } from '../show/filters.js';
import { firstConvWeights, layerOutput, probabilities, towersOf } from '../show/net-access.js';
import { neighborsSvg } from '../show/neighbors.js';
import { predictionsSvg, THUMB } from '../show/predictions.js';
import { openData } from '../train/setup.js';
import { subsetIndices } from '../train/plan.js';
import { Tensor } from '../tensor/tensor.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt } from './options.js';

interface ModelOptions {
  model: string;
  arch?: string;
  output: string;
  backend?: string;
  threads?: number;
}

function withModel(cmd: Command): Command {
  return cmd
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .requiredOption('--output <file>', 'figure file: .png, or .svg')
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt);
}

function load(o: ModelOptions): LoadedModel & { backend: Backend } {
  formatOf(o.output);
  const backend = backendFrom(o);
  return { ...loadModel(o.model, { backend, arch: o.arch }), backend };
}

async function inputsOf(m: LoadedModel, paths: string[]): Promise<Tensor> {
  const [c, p] = [m.net.input[0], m.net.input[1]];
  const x = new Tensor([paths.length, c, p, p]);
  const pre = preprocessOf(m.meta);
  for (let i = 0; i < paths.length; i++)
    x.data.set(await imageToInput(paths[i], pre, p), i * c * p * p);
  return x;
}

function done(path: string): void {
  process.stderr.write(`wrote ${path}\n`);
}

export function registerShow(program: Command): void {
  const show = program
    .command('show')
    .description(
      "the paper's figures: filters, predictions, neighbors, activations, curves, confusion",
    );

  withModel(show.command('filters'))
    .description("Figure 3: conv1's kernels, each contrast-normalised; tower A above tower B")
    .action(async (o: ModelOptions) => {
      const m = load(o);
      const svg = await filtersSvg(firstConvWeights(m.net), {
        towers: towersOf(m.net),
        colorOrder: m.meta.preprocess?.colorOrder,
        title: `${basename(o.model)}: conv1, ${m.meta.config.arch}`,
      });
      await writeFigure(o.output, svg);
      done(o.output);
    });

  withModel(show.command('predictions'))
    .description('Figure 4 left: each image with its five most probable labels')
    .argument('<image...>', 'image files')
    .option('--top <k>', 'bars per image', positiveInt, 5)
    .action(async (images: string[], o: ModelOptions & { top: number }) => {
      const m = load(o);
      const probs = probabilities(m.net, await inputsOf(m, images));
      const l = m.meta.config.classes;
      const names = m.meta.classNames ?? Array.from({ length: l }, (_, i) => String(i));
      const cards = [];
      for (let i = 0; i < images.length; i++)
        cards.push({
          title: basename(images[i]),
          png: await thumbnail(images[i], THUMB),
          top: topK(probs, i, l, Math.min(o.top, l)).map((t) => ({
            label: names[t.index],
            probability: t.score,
          })),
        });
      await writeFigure(o.output, predictionsSvg(cards));
      done(o.output);
    });

  withModel(show.command('neighbors'))
    .description('Figure 4 right: each query beside its nearest images by fc7 distance')
    .argument('<queries...>', 'query image files')
    .requiredOption('--index <dir>', 'directory of images to search (recursively)')
    .option('--k <n>', 'neighbours per query', positiveInt, 6)
    .option('--layer <name>', 'layer whose activations are compared', 'fc7')
    .action(
      async (queries: string[], o: ModelOptions & { index: string; k: number; layer: string }) => {
        const m = load(o);
        const files = listImages(o.index);
        if (files.length === 0) usage(`--index ${o.index}: no image files found`);
        const index = await extractFeatures(m.net, m.meta, files, o.layer, 16, true);
        for (const s of index.skipped) process.stderr.write(`alexnet: skipped ${s.reason}\n`);
        if (index.paths.length === 0) usage(`--index ${o.index}: none of the images could be read`);
        const q = await extractFeatures(m.net, m.meta, queries, o.layer);
        const d = q.features.size / queries.length;
        const rows = [];
        for (let i = 0; i < queries.length; i++) {
          const near = nearestNeighbors(
            index.features,
            q.features.data.subarray(i * d, (i + 1) * d),
            o.k,
          );
          const neighbors = [];
          for (const n of near)
            neighbors.push({
              title: basename(index.paths[n.index]),
              png: await thumbnail(index.paths[n.index], 112),
              distance: n.distance,
            });
          rows.push({
            query: { title: basename(queries[i]), png: await thumbnail(queries[i], 112) },
            neighbors,
          });
        }
        await writeFigure(o.output, neighborsSvg(rows, o.layer));
        done(o.output);
      },
    );

  withModel(show.command('activations'))
    .description("one layer's output maps for one image")
    .argument('<image>', 'image file')
    .requiredOption('--layer <name>', 'layer, e.g. conv1, relu2, pool5, fc7')
    .action(async (image: string, o: ModelOptions & { layer: string }) => {
      const m = load(o);
      const y = layerOutput(m.net, await inputsOf(m, [image]), o.layer);
      await writeFigure(o.output, await activationsSvg(y, `${basename(image)}: ${o.layer}`));
      done(o.output);
    });

  show
    .command('curves')
    .description('several training runs overlaid: training loss and validation top-1 per epoch')
    .argument('<runs...>', 'run directories (holding metrics.jsonl) or .jsonl files')
    .requiredOption('--output <file>', 'figure file: .png, or .svg')
    .option('--title <text>', 'title above the plots', 'training runs')
    .action(async (runs: string[], o: { output: string; title: string }) => {
      formatOf(o.output);
      await writeFigure(o.output, overlaySvg(runs.map(readRun), o.title));
      done(o.output);
    });

  withModel(show.command('confusion'))
    .description('the confusion matrix on a test split as a heat map')
    .option('--data <src>', "test data (default: the dataset in the model's metadata)")
    .option('--max-test <n>', 'a seeded subset of n test images', positiveInt)
    .action(async (o: ModelOptions & { data?: string; maxTest?: number }) => {
      const m = load(o);
      const src = o.data ?? m.meta.dataset;
      if (src === undefined)
        usage(`${o.model}: the model names no dataset in its metadata; give --data`);
      const pre = m.meta.preprocess;
      const dataset = await openData(src, {
        inputSize: m.meta.config.inputSize,
        normalize: pre ? !(pre.mean.every((v) => v === 0) && pre.std.every((v) => v === 1)) : true,
        augment: false,
        stats: pre?.colorOrder === 'gray' ? { mean: pre.mean[0], std: pre.std[0] } : undefined,
      });
      try {
        if (dataset.classNames.length !== m.meta.config.classes)
          usage(
            `--data ${src}: ${dataset.classNames.length} classes, the model has ${m.meta.config.classes}`,
          );
        const indices = subsetIndices(dataset.test.size, o.maxTest ?? null, 0, 1);
        const r = report(
          await predictSplit([m.net], dataset.test, { indices }),
          dataset.classNames,
        );
        const title = `${basename(o.model)} on ${basename(dataset.id)}: top-1 ${r.top1.toFixed(4)} (${r.samples} images)`;
        await writeFigure(
          o.output,
          confusionSvg(r.confusion, m.meta.classNames ?? dataset.classNames, title),
        );
        done(o.output);
      } finally {
        await dataset.close();
      }
    });
  for (const c of show.commands) c.exitOverride();
}
