// `npm run bench:parallel`: images/s of alexnet2012 for training and inference under each
// --parallel scheme the CLI offers (towers, data, hybrid — whichever `alexnet bench --help`
// lists; each on 2 workers × 1 kernel thread) and without one (1 worker × 2 threads, 1 worker × 1
// thread), at batch 32 and 128, with the bytes the workers exchanged in a step as the
// implementation counted them, beside the arithmetic of the layer shapes (src/parallel/bytes.ts).
// Each row runs in its own process (`alexnet bench --json`), so one row's memory and threads do
// not disturb the next.
//   npm run bench:parallel -- [--iterations N | --quick] [--only SCHEME:MODE:BATCH[,…]]
// --quick: one timed step per row after the warm-up (default 3).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { refBackend } from '../src/backend/ref/index.js';
import { buildNet } from '../src/models/alexnet.js';
import { defaultConfig } from '../src/models/config.js';
import { dataBytes, hybridBytes, towersBytes } from '../src/parallel/bytes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'bin', 'alexnet.js');
const args = process.argv.slice(2);
const value = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const iterations = args.includes('--quick') ? 1 : Number(value('--iterations') ?? 3);
const started = performance.now();
const only = value('--only')
  ?.split(',')
  .filter((x) => x !== '');

interface Scheme {
  name: string;
  flags: string[];
  /** Workers × kernel threads each, for the table. */
  layout: string;
}

// The schemes this build's `alexnet bench` knows (the --parallel choices in its help).
const help = execFileSync(process.execPath, [cli, 'bench', '--help'], { encoding: 'utf8' });
const offered = /--parallel <scheme>[^]*?\(choices: ([^)]*)\)/.exec(help)?.[1] ?? '';
const schemes: Scheme[] = [
  { name: 'none', flags: ['--threads', '1'], layout: '1 × 1' },
  { name: 'none', flags: ['--threads', '2'], layout: '1 × 2' },
];
for (const s of ['towers', 'data', 'hybrid'])
  if (offered.includes(`"${s}"`))
    schemes.push({ name: s, flags: ['--parallel', s, '--threads', '1'], layout: '2 × 1' });

const net = buildNet(defaultConfig('alexnet2012'), refBackend);
const params = net.paramCount;

interface Row {
  scheme: string;
  layout: string;
  mode: 'train' | 'infer';
  batch: number;
  imagesPerSecond: number;
  msPerBatch: number;
  bytesPerStep: number | null;
}

const rows: Row[] = [];
process.stdout.write(
  `alexnet2012 (${(params / 1e6).toFixed(1)} M parameters), ${iterations} timed steps per row after one warm-up, median\n\n` +
    '| scheme | workers × threads | mode | batch | images/s | ms/batch | vs 1 × 2 | bytes/step (measured) | bytes/step (arithmetic) |\n' +
    '|---|---|---|---|---|---|---|---|---|\n',
);
for (const mode of ['train', 'infer'] as const)
  for (const batch of [32, 128])
    for (const s of schemes) {
      if (only && !only.includes(`${s.name}:${mode}:${batch}`)) continue;
      const out = execFileSync(
        process.execPath,
        [
          ...[cli, 'bench', '--json', '--arch', 'alexnet2012', '--mode', mode],
          ...['--batch', String(batch), '--iterations', String(iterations), ...s.flags],
        ],
        { encoding: 'utf8' },
      );
      const j = JSON.parse(out) as {
        imagesPerSecond: number;
        secondsPerBatch: number;
        bytesPerStep?: number;
      };
      const row: Row = {
        scheme: s.name,
        layout: s.layout,
        mode,
        batch,
        imagesPerSecond: j.imagesPerSecond,
        msPerBatch: 1000 * j.secondsPerBatch,
        bytesPerStep: j.bytesPerStep ?? null,
      };
      rows.push(row);
      print(row);
    }

function print(r: Row): void {
  const base = rows.find(
    (x) => x.scheme === 'none' && x.layout === '1 × 2' && x.mode === r.mode && x.batch === r.batch,
  );
  const arithmetic =
    r.scheme === 'data'
      ? dataBytes(net, 2, r.mode)
      : r.scheme === 'towers'
        ? towersBytes(net, r.batch, r.mode)
        : r.scheme === 'hybrid'
          ? hybridBytes(net, r.batch, 2, r.mode)
          : null;
  const mb = (b: number | null): string =>
    b === null ? '—' : b < 1e4 ? `${b} B` : `${(b / 1e6).toFixed(2)} MB`;
  process.stdout.write(
    `| ${r.scheme.padEnd(6)} | ${r.layout} | ${r.mode.padEnd(5)} | ${String(r.batch).padStart(3)} | ` +
      `${r.imagesPerSecond.toFixed(1).padStart(6)} | ${r.msPerBatch.toFixed(0).padStart(6)} | ` +
      `${base ? (r.imagesPerSecond / base.imagesPerSecond).toFixed(2) + '×' : '—'} | ` +
      `${mb(r.bytesPerStep)} | ${mb(arithmetic)} |\n`,
  );
}

process.stdout.write(
  `\n${rows.length} rows in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
