// `alexnet lab EXPERIMENT [--quick] [--data SRC] [--out DIR] [--json]`: one of the paper's claims
// as a controlled experiment; writes OUT/report.md, report.json and the plots. The setting flags
// override --quick's (or the paper's) values, e.g. for a tiny trial of the mechanics.
import { Command } from 'commander';
import { EXPERIMENT_IDS } from '../lab/experiments.js';
import { experiment, runExperiment, settingsFor } from '../lab/lab.js';
import { backendFrom, nonNegativeInt, positiveInt, positiveNumber, printJson } from './options.js';

interface LabFlags {
  quick?: boolean;
  data: string;
  out?: string;
  json?: boolean;
  epochs?: number;
  batch?: number;
  lr?: number;
  inputSize?: number;
  width?: number;
  fc?: number;
  maxTrain?: number;
  maxTest?: number;
  seed?: number;
  backend?: string;
  threads?: number;
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description(
      `one of the paper's claims as a controlled experiment (${EXPERIMENT_IDS.join(', ')})`,
    )
    .argument('<experiment>', EXPERIMENT_IDS.join(' | '))
    .option('--quick', 'reduced settings that finish in ≤ 15 minutes on a 2-core CPU')
    .option(
      '--data <src>',
      'fashion-mnist (bundled), an IDX, CIFAR-10 or ImageFolder directory',
      'fashion-mnist',
    )
    .option('--out <dir>', 'output directory (default: lab/<experiment>)')
    .option('--json', 'print the report as one JSON object')
    .option('--epochs <n>', 'epochs per run', positiveInt)
    .option('--batch <n>', 'batch size', positiveInt)
    .option('--lr <x>', 'learning rate', positiveNumber)
    .option('--input-size <n>', 'network input side', positiveInt)
    .option('--width <x>', 'conv channels × x', positiveNumber)
    .option('--fc <n>', 'fc6/fc7 outputs', positiveInt)
    .option(
      '--max-train <n>',
      'training images (a seeded subset, the same for every run)',
      positiveInt,
    )
    .option('--max-test <n>', 'test images (a seeded subset)', positiveInt)
    .option('--seed <n>', 'the seed', nonNegativeInt)
    .option('--backend <id>', 'ref or native (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .action(async (id: string, o: LabFlags) => {
      const e = experiment(id);
      const backend = backendFrom(o);
      const s = settingsFor(e, o.quick ?? false, o.data, {
        epochs: o.epochs,
        batch: o.batch,
        lr: o.lr,
        inputSize: o.inputSize,
        width: o.width,
        fc: o.fc,
        maxTrain: o.maxTrain,
        maxTest: o.maxTest,
        seed: o.seed,
      });
      const out = o.out ?? `lab/${e.id}`;
      const report = await runExperiment(e, s, o.quick ?? false, {
        out,
        backend,
        log: (line) => process.stderr.write(line + '\n'),
      });
      if (o.json) printJson(report);
      else {
        process.stdout.write(`${e.id}: ${report.verdict}\n`);
        for (const r of report.rows)
          process.stdout.write(`  ${r.quantity}: ours ${r.ours} | paper ${r.paper}\n`);
        process.stdout.write(`report: ${out}/report.md (${report.seconds.toFixed(0)} s)\n`);
      }
    });
}
