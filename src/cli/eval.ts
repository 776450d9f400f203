// `alexnet eval`: top-1/top-5, per-class accuracy and the confusion matrix of a model (or the
// softmax-averaged ensemble of several, as the paper's 5- and 7-CNN results) on a test split —
// by default the dataset named in the model's metadata (the bundled Fashion-MNIST test split).
// Which images of an ImageFolder tree are the test split:
//   - the tree the model was trained on (no --data, or --data naming it): the part its training
//     held out, found again from the split recorded in the model (its seed and fraction), never
//     the images it trained on;
//   - any other single tree: all of it; a tree with train/ and val/: val/.
// An evaluation over no images is an error.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { predictSplit, report } from '../eval/evaluate.js';
import { loadEnsemble } from '../eval/ensemble.js';
import { normalizeFrom } from '../data/views.js';
import type { SplitRecord } from '../data/dataset.js';
import { SCHEMA_VERSION } from '../train/metrics.js';
import { progressFor, taskCallback } from '../train/progress.js';
import { readTrainingRecord, type TrainingRecord } from '../train/record.js';
import { dataKind, openData } from '../train/setup.js';
import type { BackendId } from '../backend/index.js';
import { mainThreadBackend, startStepWorkers } from '../parallel/start.js';
import type { StepWorkers } from '../parallel/step-workers.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, precisionOption, printJson } from './options.js';
import type { Precision } from '../nn/precision.js';

interface EvalOptions {
  model: string;
  ensemble?: string[];
  data?: string;
  views: 'center' | '10';
  arch?: string;
  batch: number;
  backend?: string;
  threads?: number;
  precision: Precision;
  workers: boolean;
  json?: boolean;
  quiet?: boolean;
  parallel?: 'towers';
}

/** The held-out share of an ImageFolder tree to evaluate on: the recorded split when `src` is
 *  the tree the model trained on, else the whole tree (valFraction 1). */
export function heldOutSplit(
  src: string,
  record: TrainingRecord | null,
): {
  seed: number;
  valFraction: number;
  recorded: Extract<SplitRecord, { kind: 'fraction' }> | null;
} {
  const split = record?.dataset.split;
  if (split?.kind === 'fraction' && resolve(src) === resolve(record!.dataset.id))
    return { seed: split.seed, valFraction: split.valFraction, recorded: split };
  return { seed: 0, valFraction: 1, recorded: null };
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('top-1/top-5 accuracy, per-class accuracy and confusion matrix on a test split')
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .option('--ensemble <ckpt...>', "more models whose softmax outputs are averaged with --model's")
    .option('--data <src>', "test data (default: the dataset in the model's metadata)")
    .addOption(
      new Option(
        '--views <mode>',
        "test-time views: the centre, or the paper's 10 (ImageFolder data only)",
      )
        .choices(['center', '10'])
        .default('center'),
    )
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .option('--batch <n>', 'images per forward pass', positiveInt, 128)
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .addOption(precisionOption('fp32'))
    .option('--no-workers', 'prepare batches on the main thread')
    .option('--json', 'one JSON object: top1, top5, loss, samples, perClass, confusion')
    .option('--quiet', 'no progress on stderr')
    .addOption(
      new Option(
        '--parallel <scheme>',
        "towers: the paper's two towers (alexnet2012, caffenet) on two worker threads (--threads each, default 1; with --backend webgpu one WebGPU device each)",
      ).choices(['towers']),
    )
    .action(async (o: EvalOptions) => {
      if (o.parallel && o.ensemble) usage(`--ensemble: not with --parallel ${o.parallel}`);
      if (o.parallel && o.precision === 'bf16')
        usage(`--precision bf16: not with --parallel ${o.parallel} (its workers compute in fp32)`);
      // --parallel towers: the towers run on the chosen backend (webgpu: a device each), this
      // thread's network on a CPU one (src/parallel/start.ts).
      const chosen = backendFrom(o);
      const backend = o.parallel ? mainThreadBackend(chosen) : chosen;
      const paths = [o.model, ...(o.ensemble ?? [])];
      const models = loadEnsemble(paths, backend, o.arch);
      for (const m of models) m.net.setPrecision(o.precision);
      const meta = models[0].meta;
      const record = readTrainingRecord(o.model, models[0].metadata);
      const src = o.data ?? meta.dataset;
      if (src === undefined)
        usage(`${o.model}: the model names no dataset in its metadata; give --data`);
      const pre = meta.preprocess;
      const folder = dataKind(src) === 'imagefolder';
      if (folder && !pre)
        usage(
          `${o.model}: the file records no preprocessing, so images cannot be prepared as its training prepared them`,
        );
      const held = folder ? heldOutSplit(src, record) : null;
      const normalize = pre
        ? !(pre.mean.every((m) => m === 0) && pre.std.every((s) => s === 1))
        : true;
      if (o.views === '10' && meta.config.channels === 1) {
        usage(
          '--views 10: Fashion-MNIST models see whole 28×28 images resized, so only the centre view makes sense',
        );
      }
      // Grey data is normalised exactly as the model's training data was (its stored mean/std).
      const stats = pre?.colorOrder === 'gray' ? { mean: pre.mean[0], std: pre.std[0] } : undefined;
      const progress = progressFor(o);
      const dataset = await openData(src, {
        inputSize: meta.config.inputSize,
        normalize,
        workers: o.workers,
        augment: false,
        stats,
        seed: held?.seed,
        valFraction: held?.valFraction,
        onCache: taskCallback(progress, 'caching images'),
        modelNormalize: folder && pre && pre.colorOrder !== 'gray' ? normalizeFrom(pre) : undefined,
      });
      let workers: StepWorkers | null = null;
      try {
        if (dataset.test.size === 0)
          usage(
            `--data ${src}: no test images${held?.recorded ? ` (the split recorded in ${o.model} holds out none)` : ''}; nothing to evaluate`,
          );
        if (dataset.classNames.length !== meta.config.classes) {
          usage(
            `--data ${src}: ${dataset.classNames.length} classes, the model has ${meta.config.classes}`,
          );
        }
        if (o.parallel) {
          workers = await startStepWorkers(o.parallel, models[0].net, {
            backend: chosen.name as BackendId,
            threads: o.threads,
            maxBatch: o.batch,
          });
          await workers.push();
        }
        const w = workers;
        const task = progress.task('evaluating', dataset.test.size);
        const probs = await predictSplit(
          models.map((m) => m.net),
          dataset.test,
          {
            batch: o.batch,
            views: o.views,
            onBatch: (done) => task.update(done),
            forward: w ? (_, x) => w.forward(x, false) : undefined,
          },
        );
        task.stop();
        const r = report(probs, meta.classNames ?? dataset.classNames);
        const split = held?.recorded ?? dataset.split ?? { kind: 'files' };
        if (o.json) {
          printJson({
            schemaVersion: SCHEMA_VERSION,
            models: paths,
            data: dataset.id,
            split,
            views: o.views,
            precision: o.precision,
            ...r,
          });
          return;
        }
        const out: string[] = [];
        const which = held?.recorded
          ? `the ${r.samples} images its training held out: seed ${held.recorded.seed}, fraction ${held.valFraction}`
          : `${r.samples} test images`;
        out.push(
          `${paths.length > 1 ? `ensemble of ${paths.length}` : o.model} on ${dataset.id} (${which}, ${o.views} view${o.views === '10' ? 's' : ''}):`,
        );
        out.push(
          `top-1 accuracy ${r.top1.toFixed(4)} (error ${(1 - r.top1).toFixed(4)}), top-5 accuracy ${r.top5.toFixed(4)} (error ${(1 - r.top5).toFixed(4)}), loss ${r.loss.toFixed(4)}`,
        );
        if (r.perClass.length <= 50) {
          const w = Math.max(5, ...r.perClass.map((c) => c.name.length));
          out.push('', `${'class'.padEnd(w)}  accuracy  images`);
          for (const c of r.perClass)
            out.push(
              `${c.name.padEnd(w)}  ${c.accuracy.toFixed(4).padStart(8)}  ${String(c.count).padStart(6)}`,
            );
        }
        if (r.confusion.length <= 20) {
          out.push('', 'confusion (rows: true class, columns: predicted)');
          const cw = Math.max(4, ...r.confusion.flat().map((v) => String(v).length));
          out.push('    ' + r.confusion.map((_, j) => String(j).padStart(cw)).join(' '));
          r.confusion.forEach((row, i) =>
            out.push(
              String(i).padStart(3) + ' ' + row.map((v) => String(v).padStart(cw)).join(' '),
            ),
          );
        }
        process.stdout.write(out.join('\n') + '\n');
      } finally {
        await workers?.close();
        await dataset.close();
      }
    });
}
