// onnxruntime-node's time per node, to set against `alexnet bench --layers`: the variant is
// exported to ONNX by alexnet-ts itself, run with onnxruntime's profiler on, and each node's
// kernel time (median over the timed runs) printed in milliseconds, with the whole run's.
//   node dist/bench/ort-layers.js [--arch torchvision] [--batch 32] [--threads 2] [--iterations 5]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { refBackend } from '../src/backend/ref/index.js';
import { buildNet } from '../src/models/alexnet.js';
import { saveModel } from '../src/models/checkpoint.js';
import { type Arch, defaultConfig } from '../src/models/config.js';
import { initialize } from '../src/models/init.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const arch = opt('--arch', 'torchvision') as Arch;
const batch = Number(opt('--batch', '32'));
const threads = Number(opt('--threads', '2'));
const iterations = Number(opt('--iterations', '5'));

const dir = mkdtempSync(join(tmpdir(), 'alexnet-ort-layers-'));
const config = defaultConfig(arch);
const net = buildNet(config, refBackend);
initialize(net, 'kaiming', 0);
saveModel(join(dir, 'model.safetensors'), net, { config });
const onnx = join(dir, 'model.onnx');
execFileSync(process.execPath, [
  join(root, 'bin', 'alexnet.js'),
  'export',
  join(dir, 'model.safetensors'),
  '--to',
  'onnx',
  '--output',
  onnx,
]);

const ort = await import('onnxruntime-node');
const session = await ort.InferenceSession.create(onnx, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableProfiling: true,
  profileFilePrefix: join(dir, 'profile'),
});
const size = config.inputSize;
const data = new Float32Array(batch * 3 * size * size).map(() => Math.random() - 0.5);
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, size, size]) };
await session.run(feeds);
const runs: number[] = [];
for (let i = 0; i < iterations; i++) {
  const t0 = performance.now();
  await session.run(feeds);
  runs.push(performance.now() - t0);
}
session.endProfiling(); // writes profile_<time>.json into dir
const file = join(dir, readdirSync(dir).find((f) => f.startsWith('profile')) ?? 'profile.json');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
const perNode = new Map<string, { op: string; durs: number[] }>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const name = e.name.slice(0, -'_kernel_time'.length);
  const entry = perNode.get(name) ?? { op: e.args?.op_name ?? '?', durs: [] };
  entry.durs.push(e.dur / 1000);
  perNode.set(name, entry);
}
process.stdout.write(
  `onnxruntime ${ort.env.versions?.node ?? ''} ${arch} infer batch ${batch} (${threads} threads): ` +
    `${median(runs).toFixed(1)} ms/batch, ${((batch * 1000) / median(runs)).toFixed(1)} images/s\n`,
);
for (const [name, { op, durs }] of perNode) {
  // the first run is the warm-up
  process.stdout.write(
    `  ${name.padEnd(28)} ${op.padEnd(16)} ${median(durs.slice(1)).toFixed(2)} ms\n`,
  );
}
