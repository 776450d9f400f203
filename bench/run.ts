// `npm run bench`: alexnet-ts against the peers a user could pick on this machine, measured in
// the same run — onnxruntime-node for inference, PyTorch (Debian's python3-torch, when installed)
// for training — and printed as a table of images/s with same-run ratios. Each measurement runs
// in its own process so one's memory and threads don't disturb the next.
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

interface Row {
  arch: string;
  mode: 'infer' | 'train';
  batch: number;
  ours?: number;
  peer?: string;
  theirs?: number;
  oursRss?: number;
  theirRss?: number;
}

const cases: Row[] = [
  { arch: 'alexnet2012', mode: 'infer', batch: 32 },
  { arch: 'alexnet2012', mode: 'infer', batch: 1 },
  { arch: 'alexnet2012', mode: 'train', batch: 32 },
  { arch: 'torchvision', mode: 'infer', batch: 32 },
  { arch: 'torchvision', mode: 'infer', batch: 1 },
  { arch: 'torchvision', mode: 'train', batch: 32 },
];
if (!quick) cases.push({ arch: 'alexnet2012', mode: 'train', batch: 128 });
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

function ours(r: Row): void {
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
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out);
  r.ours = j.imagesPerSecond;
  r.oursRss = j.peakRssMB;
}

function hasTorch(): boolean {
  return (
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
  );
}

function pytorch(r: Row): void {
  const out = execFileSync(
    PYTHON,
    [
      join(root, 'bench', 'torch_bench.py'),
      '--arch',
      r.arch,
      '--mode',
      'train',
      '--batch',
      String(r.batch),
      '--threads',
      String(threads),
      '--iterations',
      String(iterations),
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out.trim().split('\n').pop()!);
  r.peer = `pytorch ${j.version}`;
  r.theirs = j.imagesPerSecond;
  r.theirRss = j.peakRssMB;
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
  r.peer = `onnxruntime ${ort.env.versions?.node ?? ''}`.trim();
  r.theirs = r.batch / times[Math.floor(times.length / 2)];
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
for (const r of selected) {
  ours(r);
  if (r.mode === 'infer') await onnxruntime(r, onnxDir);
  else if (torch) pytorch(r);
  const ratio = r.theirs ? (r.ours! / r.theirs).toFixed(2) + '×' : 'n/a';
  process.stdout.write(
    `${r.arch.padEnd(12)} ${r.mode.padEnd(5)} b${String(r.batch).padEnd(4)} alexnet-ts ${r.ours!.toFixed(1).padStart(7)} img/s` +
      `   ${(r.peer ?? 'no peer').padEnd(18)} ${r.theirs ? r.theirs.toFixed(1).padStart(7) : '    n/a'} img/s   ratio ${ratio}` +
      (r.mode === 'train' && r.oursRss
        ? `   peak RSS ${r.oursRss.toFixed(0)} MB vs ${r.theirRss?.toFixed(0) ?? '?'} MB`
        : '') +
      '\n',
  );
}
