// The browser demo (bundled by esbuild into app.js, served by `alexnet serve-demo`): trains the
// d2l net on Fashion-MNIST with the webgpu backend on the browser's own WebGPU, showing loss and
// accuracy after every step. Query parameters override the reduced defaults (train-steps.ts):
// ?steps=N&batch=B&width=W&size=S&lr=X&seed=K. The results also go to window.demo for tests.
import { GpuDevice } from '../backend/webgpu/device.js';
import { webgpuBackend } from '../backend/webgpu/index.js';
import { DEMO_DEFAULTS, DemoTrainer, decodeDemoData, type StepResult } from './train-steps.js';

interface DemoState {
  done: boolean;
  error: string | null;
  adapter: string;
  steps: StepResult[];
}

const state: DemoState = { done: false, error: null, adapter: '', steps: [] };
(window as unknown as { demo: DemoState }).demo = state;

const q = new URLSearchParams(location.search);
const num = (k: string, d: number) => (q.has(k) ? Number(q.get(k)) : d);
const $ = (id: string) => document.getElementById(id)!;

function draw(): void {
  const c = $('chart') as HTMLCanvasElement;
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(2.5, ...state.steps.map((s) => s.loss));
  g.strokeStyle = '#c33';
  g.beginPath();
  state.steps.forEach((s, i) => {
    const x = (i / Math.max(1, state.steps.length - 1)) * (c.width - 10) + 5;
    const y = c.height - 5 - (s.loss / max) * (c.height - 10);
    if (i) g.lineTo(x, y);
    else g.moveTo(x, y);
  });
  g.stroke();
}

async function run(): Promise<void> {
  const o = {
    inputSize: num('size', DEMO_DEFAULTS.inputSize),
    width: num('width', DEMO_DEFAULTS.width),
    batch: num('batch', DEMO_DEFAULTS.batch),
    lr: num('lr', DEMO_DEFAULTS.lr),
    seed: num('seed', DEMO_DEFAULTS.seed),
  };
  const steps = num('steps', 200);
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu)');
  const dev = await GpuDevice.open(navigator.gpu);
  state.adapter = dev.adapterName;
  const data = decodeDemoData(await (await fetch('data.bin')).arrayBuffer());
  $('status').textContent =
    `training d2l at ${o.inputSize}×${o.inputSize}, width ${o.width}, batch ${o.batch}, lr ${o.lr} ` +
    `on ${data.labels.length} Fashion-MNIST images, ${dev.adapterName}`;
  const trainer = new DemoTrainer(webgpuBackend(dev), data, o);
  for (let i = 0; i < steps; i++) {
    const r = await trainer.next();
    state.steps.push(r);
    const recent = state.steps.slice(-20);
    const acc = recent.reduce((s, x) => s + x.accuracy, 0) / recent.length;
    $('progress').textContent =
      `step ${r.step}/${steps}: loss ${r.loss.toFixed(4)}, accuracy ${r.accuracy.toFixed(3)} ` +
      `(last ${recent.length} steps: ${acc.toFixed(3)})`;
    draw();
  }
}

run()
  .catch((e: unknown) => {
    state.error = (e as Error).message;
    $('status').textContent = `error: ${state.error}`;
  })
  .finally(() => {
    state.done = true;
  });
