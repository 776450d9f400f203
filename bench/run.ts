// `npm run bench`: alexnet-ts against the peers a user could pick on this machine, measured in
// the same run — onnxruntime-node for inference, PyTorch (Debian's python3-torch, when installed)
// in its precisions fp32, autocast bf16 and autocast bf16 with channels_last — and printed as
// images/s per row with the ratio of each alexnet-ts precision (fp32, bf16) to the fastest peer
// configuration of the row, and every peak RSS. Each measurement runs in its own process so one's
// memory and threads don't disturb the next.
//   npm run bench -- [--quick] [--iterations N] [--threads N] [--only ARCH:MODE:BATCH[,…]]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { refBackend } from '../src/backend/ref/index.js';
import { buildNet } from '../src/models/alexnet.js';
import { saveModel } from '../src/models/checkpoint.js';
import { defaultConfig } from '../src/models/config.js';
import { initialize } from '../src/models/init.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = args.includes('--quick');
const iterations = flag('--iterations', quick ? 3 : 5);
const threads = flag('--threads', cpus().length);
const PYTHON = '/usr/bin/python3';

/** One measurement: who, images/s and peak RSS. */
interface Measured {
  name: string;
  imagesPerSecond: number;
  rssMB?: number;
}

interface Row {
  arch: string;
  mode: 'infer' | 'train';
  batch: number;
  /** alexnet-ts, one per precision. */
  ours: Measured[];
  /** onnxruntime (inference) and PyTorch in each of its precisions. */
  peers: Measured[];
}

/** alexnet-ts's precisions, and PyTorch's: fp32, autocast bf16 (NCHW) and autocast bf16 with
 *  channels_last (torch_bench.py). */
const OUR_PRECISIONS = ['fp32', 'bf16'] as const;
const TORCH_PRECISIONS = ['fp32', 'bf16', 'bf16-cl'] as const;

const row = (arch: string, mode: Row['mode'], batch: number): Row => ({
  arch,
  mode,
  batch,
  ours: [],
  peers: [],
});
const cases: Row[] = [
  row('alexnet2012', 'infer', 32),
  row('alexnet2012', 'infer', 1),
  row('alexnet2012', 'train', 32),
  row('torchvision', 'infer', 32),
  row('torchvision', 'infer', 1),
  row('torchvision', 'train', 32),
];
if (!quick) cases.push(row('alexnet2012', 'train', 128));
// --only torchvision:infer:32,alexnet2012:train:32 keeps just those rows.
const onlyArg = args.includes('--only') ? (args[args.indexOf('--only') + 1] ?? '') : undefined;
const only = onlyArg?.split(',').filter((x) => x !== '');
const selected = only
  ? cases.filter((r) => only.includes(`${r.arch}:${r.mode}:${r.batch}`))
  : cases;
if (only && selected.length === 0) {
  process.stderr.write(
    `bench: --only '${onlyArg}' matches no row (ARCH:MODE:BATCH, e.g. torchvision:infer:32)\n`,
  );
  process.exit(2);
}

function ours(r: Row, precision: (typeof OUR_PRECISIONS)[number]): void {
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'bin', 'alexnet.js'),
      'bench',
      '--json',
      '--arch',
      r.arch,
      '--mode',
      r.mode,
      '--batch',
      String(r.batch),
      '--iterations',
      String(iterations),
      '--threads',
      String(threads),
      '--precision',
      precision,
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out);
  r.ours.push({ name: precision, imagesPerSecond: j.imagesPerSecond, rssMB: j.peakRssMB });
}

function hasTorch(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
  );
}

/** PyTorch in one precision, in a process of its own (so its peak RSS is its own). */
function pytorch(r: Row, precision: (typeof TORCH_PRECISIONS)[number]): void {
  const out = execFileSync(
    PYTHON,
    [
      join(root, 'bench', 'torch_bench.py'),
      '--arch',
      r.arch,
      '--mode',
      r.mode,
      '--batch',
      String(r.batch),
      '--threads',
      String(threads),
      '--iterations',
      String(iterations),
      '--precision',
      precision,
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out.trim().split('\n').pop()!);
  r.peers.push({
    name: `pytorch ${j.version} ${precision}`,
    imagesPerSecond: j.imagesPerSecond,
    rssMB: j.peakRssMB,
  });
}

async function onnxruntime(r: Row, onnxDir: string): Promise<void> {
  const file = join(onnxDir, `${r.arch}.onnx`);
  if (!existsSync(file)) return;
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const size = r.arch === 'torchvision' ? 224 : 227;
  const data = new Float32Array(r.batch * 3 * size * size).map(() => Math.random() - 0.5);
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor('float32', data, [r.batch, 3, size, size]),
  };
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  r.peers.push({
    name: `onnxruntime ${ort.env.versions?.node ?? ''}`.trim(),
    imagesPerSecond: r.batch / times[Math.floor(times.length / 2)],
  });
}

/** ONNX files for onnxruntime: PyTorch's exporter when torch is here, else alexnet-ts's own. */
function makeOnnx(torch: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-bench-'));
  if (torch) {
    execFileSync(
      PYTHON,
      [
        join(root, 'bench', 'torch_bench.py'),
        '--export',
        dir,
        '--mode',
        'infer',
        '--iterations',
        '1',
        '--batch',
        '1',
      ],
      { stdio: 'ignore' },
    );
    return dir;
  }
  for (const arch of ['alexnet2012', 'torchvision'] as const) {
    const model = join(dir, `${arch}.safetensors`);
    const net = buildNet(defaultConfig(arch), refBackend);
    initialize(net, 'kaiming', 0);
    saveModel(model, net, { config: defaultConfig(arch) });
    spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'alexnet.js'),
        'export',
        model,
        '--to',
        'onnx',
        '--output',
        join(dir, `${arch}.onnx`),
      ],
      { stdio: 'ignore' },
    );
  }
  return dir;
}

const torch = hasTorch();
const onnxDir = makeOnnx(torch);
const mb = (m: Measured): string => (m.rssMB ? `${m.rssMB.toFixed(0)} MB` : '?');
for (const r of selected) {
  for (const p of OUR_PRECISIONS) ours(r, p);
  if (r.mode === 'infer') await onnxruntime(r, onnxDir);
  if (torch) for (const p of TORCH_PRECISIONS) pytorch(r, p);
  // Each alexnet-ts precision against the fastest peer configuration of the row.
  const best = r.peers.reduce<Measured | null>(
    (b, m) => (!b || m.imagesPerSecond > b.imagesPerSecond ? m : b),
    null,
  );
  const ips = (m: Measured): string => `${m.imagesPerSecond.toFixed(1)} img/s`;
  const lines = [
    `${r.arch.padEnd(12)} ${r.mode.padEnd(5)} b${String(r.batch).padEnd(4)} ` +
      r.ours.map((m) => `alexnet-ts ${m.name} ${ips(m)}`).join(', ') +
      (best
        ? `   vs fastest peer ${best.name} ${ips(best)}: ratio ${r.ours.map((m) => `${m.name} ${(m.imagesPerSecond / best.imagesPerSecond).toFixed(2)}×`).join(', ')}`
        : '   no peer'),
    `    peers: ${r.peers.map((m) => `${m.name} ${ips(m)}`).join(', ') || 'none'}`,
    `    peak RSS: ${[...r.ours.map((m) => `alexnet-ts ${m.name} ${mb(m)}`), ...r.peers.filter((m) => m.rssMB).map((m) => `${m.name} ${mb(m)}`)].join(', ')}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
