// Data-parallel training under Open MPI on this machine: for 1, 2 and 4 ranks (4 oversubscribed
// on 2 cores) the training step of a real network with random data, per-rank batch fixed (the
// global batch grows with the ranks), and how much of the gradient allreduce backward hides.
//   node dist/bench/distributed.js [--arch ID] [--batch B] [--steps S] [--ranks 1,2,4]
// Per step, on rank 0: forward + loss, backward (buckets are queued as layers finish), the wait
// for the buckets still in flight after backward (exposed communication), the SGD step. The
// allreduce alone (all gradients, same buckets, no compute) gives the share hidden:
//   hidden = 1 − exposed / allreduce alone.
// Images/s count the global batch; efficiency = images/s(N) / images/s(1) on the same cores
// (one machine: the ranks share its cores, so this measures the overheads, not a speed-up).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeBackend } from '../src/backend/native/index.js';
import { buildNet } from '../src/models/alexnet.js';
import { ARCHS, defaultConfig, type Arch } from '../src/models/config.js';
import { initialize } from '../src/models/init.js';
import { SoftmaxLoss } from '../src/nn/loss.js';
import { Sgd } from '../src/optim/sgd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Distributed } from '../src/train/distributed.js';

const args = process.argv.slice(2);
const value = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const arch = value('--arch', 'alexnet2012') as Arch;
const batch = Number(value('--batch', '16'));
const steps = Number(value('--steps', '4'));
if (!ARCHS.includes(arch)) throw new Error(`--arch ${arch}: choose ${ARCHS.join(', ')}`);

interface RankReport {
  ranks: number;
  threads: number;
  step: number;
  forward: number;
  backward: number;
  exposed: number;
  sgd: number;
  allreduceAlone: number;
  gradientMB: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rank(): Promise<void> {
  const backend = nativeBackend;
  if (!backend) throw new Error('the native addon is not built');
  const threads = Number(value('--threads', '1'));
  backend.setThreads(threads);
  const par = await Distributed.start({ timeoutSeconds: 600 });
  const config = defaultConfig(arch, { classes: 1000 });
  const net = buildNet(config, backend, 1);
  initialize(net, 'paper', 1);
  const sgd = new Sgd(net.params, backend, { momentum: 0.9, weightDecay: 5e-4 });
  const x = new Tensor([batch, config.channels, config.inputSize, config.inputSize]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37 + par.rank);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 37 + par.rank) % 1000);
  const lossFn = new SoftmaxLoss(backend);
  const rows: { step: number; forward: number; backward: number; exposed: number; sgd: number }[] =
    [];
  for (let s = 0; s <= steps; s++) {
    const t0 = performance.now();
    const logits = net.forward(x, true);
    lossFn.run(logits, labels, 0, true);
    await lossFn.read();
    const t1 = performance.now();
    await par.backward(net, lossFn.dlogits!, batch * par.size);
    const t2 = performance.now();
    sgd.step(0.001);
    const t3 = performance.now();
    if (s > 0)
      rows.push({
        step: (t3 - t0) / 1000,
        forward: (t1 - t0) / 1000,
        backward: par.lastStep.backward,
        exposed: par.lastStep.wait,
        sgd: (t3 - t2) / 1000,
      });
  }
  const alone: number[] = [];
  for (let s = 0; s < 3; s++) {
    await par.sum([0]); // line the ranks up first
    await par.backward(net, null, batch * par.size);
    alone.push(par.lastStep.wait);
  }
  if (par.writer) {
    const report: RankReport = {
      ranks: par.size,
      threads,
      step: median(rows.map((r) => r.step)),
      forward: median(rows.map((r) => r.forward)),
      backward: median(rows.map((r) => r.backward)),
      exposed: median(rows.map((r) => r.exposed)),
      sgd: median(rows.map((r) => r.sgd)),
      allreduceAlone: median(alone),
      gradientMB: (net.paramCount * 4) / 1e6,
    };
    console.log(JSON.stringify(report));
  }
  await par.close();
}

function drive(): void {
  const script = fileURLToPath(import.meta.url);
  const cores = cpus().length;
  const counts = value('--ranks', '1,2,4').split(',').map(Number);
  const reports: RankReport[] = [];
  for (const n of counts) {
    const threads = Math.max(1, Math.floor(cores / n));
    const r = spawnSync(
      'mpirun',
      [
        ...['-q', '--allow-run-as-root', '--oversubscribe', '--bind-to', 'none'],
        ...['--mca', 'mpi_yield_when_idle', '1', '-np', String(n)],
        ...[process.execPath, script, '--rank', '--threads', String(threads)],
        ...['--arch', arch, '--batch', String(batch), '--steps', String(steps)],
      ],
      { encoding: 'utf8', cwd: join(dirname(script), '..', '..') },
    );
    if (r.status !== 0) throw new Error(`mpirun -np ${n} failed: ${r.stderr}`);
    reports.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as RankReport);
  }
  const base = reports[0];
  const ips = (r: RankReport): number => (batch * r.ranks) / r.step;
  console.log(
    `${arch}, per-rank batch ${batch}, ${steps} steps (median), ${base.gradientMB.toFixed(0)} MB of gradients, ${cores} cores\n`,
  );
  console.log(
    '| ranks | threads/rank | step s | forward s | backward s | exposed wait s | SGD s | allreduce alone s | hidden | images/s | efficiency |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of reports) {
    const hidden = r.ranks > 1 ? `${(100 * (1 - r.exposed / r.allreduceAlone)).toFixed(0)} %` : '—';
    console.log(
      `| ${r.ranks} | ${r.threads} | ${r.step.toFixed(3)} | ${r.forward.toFixed(3)} | ${r.backward.toFixed(3)} | ${r.exposed.toFixed(3)} | ${r.sgd.toFixed(3)} | ${r.allreduceAlone.toFixed(3)} | ${hidden} | ${ips(r).toFixed(1)} | ${(ips(r) / ips(base)).toFixed(2)} |`,
    );
  }
}

if (args.includes('--rank')) await rank();
else drive();
