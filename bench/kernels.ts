// GFLOP/s of the native GEMM-based kernels at the real AlexNet shapes, against the machine's
// measured fp32 peak (never part of `npm test`). Each figure is the best of several timed runs:
// on a shared machine the minimum is the least disturbed measurement (--median: the median).
// --bf16: each layer also with a bfloat16 w (the mixed-precision kernels, BF16-CONTRACT.md),
// called through the raw binding, its GFLOP/s against the measured bfloat16 peak and the speed-up
// over fp32. --cpu: each figure also as CPU milliseconds per call (process.cpuUsage, all threads;
// the median), which a loaded machine disturbs less than the wall clock. --convs: no fc layers.
//
//   npx tsc -p . && node dist/bench/kernels.js [--threads N] [--only fashion|alexnet|torchvision]
//     [--batch N] [--forward] [--bf16] [--median] [--cpu] [--convs]   (--forward: inference only, no backward)

import { convOutputSize, type ConvGeom } from '../src/backend/backend.js';
import { nativeBackend, nativeBinding, nativeLoadError } from '../src/backend/native/index.js';
import { floatToBf16 } from '../src/backend/ref/elementwise.js';
import { Tensor } from '../src/tensor/tensor.js';

interface ConvLayer {
  name: string;
  cIn: number;
  cOut: number;
  k: number;
  stride: number;
  pad: number;
  groups: number;
}

function geom(n: number, hw: number, l: ConvLayer): ConvGeom {
  const o = convOutputSize(hw, l.k, l.stride, l.pad);
  return {
    n,
    cIn: l.cIn,
    h: hw,
    w: hw,
    cOut: l.cOut,
    kh: l.k,
    kw: l.k,
    stride: l.stride,
    pad: l.pad,
    groups: l.groups,
    ho: o,
    wo: o,
  };
}

let useMedian = false;
/** CPU milliseconds per call of the last best() (the median of its runs). */
let lastCpuMs = 0;

/** Milliseconds of one call: the best of several runs (or their median, --median). */
function best(fn: () => void, budgetMs = 600, minReps = 3): number {
  fn(); // warm up (allocates the scratch buffers)
  const ms: number[] = [];
  const cpu: number[] = [];
  const t0 = performance.now();
  for (let r = 0; r < minReps || performance.now() - t0 < budgetMs; r++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
    if (r > 200) break;
  }
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  lastCpuMs = cpu[cpu.length >> 1];
  return useMedian ? ms[ms.length >> 1] : ms[0];
}

/** best() and the CPU time of its calls. */
function timed(fn: () => void): { ms: number; cpu: number } {
  const ms = best(fn);
  return { ms, cpu: lastCpuMs };
}

function toBf16(t: Tensor): Uint16Array {
  const h = new Uint16Array(t.size);
  floatToBf16(t.data, h);
  return h;
}

function fill(len: number, v = 0.01): Tensor {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = v * (((i * 2654435761) >>> 0) / 4294967296 - 0.5);
  return new Tensor([len], a);
}

function main(): void {
  if (!nativeBackend || !nativeBinding) {
    console.error(`native addon unavailable: ${nativeLoadError}`);
    process.exit(1);
  }
  const args = process.argv.slice(2);
  const ti = args.indexOf('--threads');
  if (ti >= 0) nativeBackend.setThreads(Number(args[ti + 1]));
  const oi = args.indexOf('--only');
  const only = oi >= 0 ? args[oi + 1] : undefined;
  const bi = args.indexOf('--batch');
  const batch = bi >= 0 ? Number(args[bi + 1]) : undefined;
  const forwardOnly = args.includes('--forward');
  const bf16 = args.includes('--bf16');
  useMedian = args.includes('--median');
  const showCpu = args.includes('--cpu');
  const convsOnly = args.includes('--convs');
  const nb = nativeBackend;
  const raw = nativeBinding.kernels;
  const peak = Math.max(nativeBinding.peakGflops(0.3), nativeBinding.peakGflops(0.3));
  const peak16 = bf16
    ? Math.max(nativeBinding.peakBf16Gflops(0.3), nativeBinding.peakBf16Gflops(0.3))
    : Number.NaN;
  console.log(
    `isa ${nativeBinding.isa()}, threads ${nb.getThreads()}, measured peak ${peak.toFixed(1)} GFLOP/s` +
      (bf16 ? `, bfloat16 peak ${peak16.toFixed(1)} GFLOP/s` : '') +
      `; ${useMedian ? 'median' : 'best'} of several runs`,
  );
  type Time = { ms: number; cpu: number };
  const cpuCol = (t: Time): string => (showCpu ? ` cpu ${t.cpu.toFixed(2).padStart(8)} ms` : '');
  const row = (name: string, t: Time, flops: number, t16?: Time): void => {
    const gf = flops / t.ms / 1e6;
    let line = `${name.padEnd(44)} ${t.ms.toFixed(2).padStart(9)} ms${cpuCol(t)} ${gf.toFixed(1).padStart(7)} GFLOP/s ${((100 * gf) / peak).toFixed(0).padStart(4)}% of peak`;
    if (t16 !== undefined) {
      const gf16 = flops / t16.ms / 1e6;
      line += ` | bf16 ${t16.ms.toFixed(2).padStart(8)} ms${cpuCol(t16)} ${gf16.toFixed(1).padStart(7)} GFLOP/s ${((100 * gf16) / peak16).toFixed(0).padStart(4)}% ×${(t.ms / t16.ms).toFixed(2)}`;
      if (showCpu) line += ` cpu ×${(t.cpu / t16.cpu).toFixed(2)}`;
    }
    console.log(line);
  };
  const none: Time = { ms: 0, cpu: 0 };

  const nets: { id: string; n: number; hw: number; convs: ConvLayer[]; fcs: [number, number][] }[] =
    [
      {
        id: 'fashion',
        n: 128,
        hw: 67,
        convs: [
          { name: 'conv1', cIn: 1, cOut: 96, k: 11, stride: 4, pad: 1, groups: 1 },
          { name: 'conv2', cIn: 96, cOut: 256, k: 5, stride: 1, pad: 2, groups: 1 },
          { name: 'conv3', cIn: 256, cOut: 384, k: 3, stride: 1, pad: 1, groups: 1 },
          { name: 'conv4', cIn: 384, cOut: 384, k: 3, stride: 1, pad: 1, groups: 1 },
          { name: 'conv5', cIn: 384, cOut: 256, k: 3, stride: 1, pad: 1, groups: 1 },
        ],
        fcs: [
          [256, 4096],
          [4096, 4096],
          [4096, 10],
        ],
      },
      {
        id: 'alexnet',
        n: 32,
        hw: 227,
        convs: [
          { name: 'conv1', cIn: 3, cOut: 96, k: 11, stride: 4, pad: 0, groups: 1 },
          { name: 'conv2', cIn: 96, cOut: 256, k: 5, stride: 1, pad: 2, groups: 2 },
          { name: 'conv3', cIn: 256, cOut: 384, k: 3, stride: 1, pad: 1, groups: 1 },
          { name: 'conv4', cIn: 384, cOut: 384, k: 3, stride: 1, pad: 1, groups: 2 },
          { name: 'conv5', cIn: 384, cOut: 256, k: 3, stride: 1, pad: 1, groups: 2 },
        ],
        fcs: [
          [9216, 4096],
          [4096, 4096],
          [4096, 1000],
        ],
      },
      {
        id: 'torchvision',
        n: 32,
        hw: 224,
        convs: [
          { name: 'conv1', cIn: 3, cOut: 64, k: 11, stride: 4, pad: 2, groups: 1 },
          { name: 'conv2', cIn: 64, cOut: 192, k: 5, stride: 1, pad: 2, groups: 1 },
          { name: 'conv3', cIn: 192, cOut: 384, k: 3, stride: 1, pad: 1, groups: 1 },
          { name: 'conv4', cIn: 384, cOut: 256, k: 3, stride: 1, pad: 1, groups: 1 },
          { name: 'conv5', cIn: 256, cOut: 256, k: 3, stride: 1, pad: 1, groups: 1 },
        ],
        fcs: [
          [9216, 4096],
          [4096, 4096],
          [4096, 1000],
        ],
      },
    ];
  for (const net of nets) {
    if (only && only !== net.id) continue;
    if (batch) net.n = batch;
    console.log(`\n${net.id}: batch ${net.n}, input ${net.hw}`);
    let hw = net.hw;
    let total = 0;
    for (const l of net.convs) {
      const g = geom(net.n, hw, l);
      const x = fill(g.n * g.cIn * g.h * g.w, 1);
      const w = fill(g.cOut * (g.cIn / g.groups) * g.kh * g.kw);
      const b = fill(g.cOut);
      const y = new Tensor([g.n * g.cOut * g.ho * g.wo]);
      const dy = fill(y.size, 1);
      const dx = l.name === 'conv1' ? null : new Tensor([x.size]);
      const dw = new Tensor([w.size]);
      const db = new Tensor([b.size]);
      const flops = 2 * g.n * g.cOut * g.ho * g.wo * (g.cIn / g.groups) * g.kh * g.kw;
      const shape = `${l.name} ${g.cIn}→${g.cOut} k${l.k} s${l.stride} G${l.groups} ${g.h}→${g.ho}`;
      const f = timed(() => nb.conv2dForward({ x, w, b, y }, { ...g, relu: true }));
      const bw = forwardOnly ? none : timed(() => nb.conv2dBackward({ x, w, dy, dx, dw, db }, g));
      const w16 = toBf16(w);
      const args16 = [x.data, w16, dy.data, dx?.data ?? null, dw.data, db.data];
      const f16 = bf16
        ? timed(() => raw.conv2dForward!([x.data, w16, b.data, y.data], { ...g, relu: true }))
        : undefined;
      const bw16 = bf16 && !forwardOnly ? timed(() => raw.conv2dBackward!(args16, g)) : undefined;
      row(`${shape} fwd`, f, flops, f16);
      if (!forwardOnly) row(`${shape} bwd${dx ? '' : ' (no dx)'}`, bw, flops * (dx ? 2 : 1), bw16);
      total += f.ms + bw.ms;
      hw = g.ho;
      if (l.name === 'conv1' || l.name === 'conv2' || l.name === 'conv5')
        hw = convOutputSize(hw, 3, 2, 0);
    }
    for (const [d, f] of convsOnly ? [] : net.fcs) {
      const x = fill(net.n * d, 1);
      const w = fill(f * d);
      const b = fill(f);
      const y = new Tensor([net.n * f]);
      const dy = fill(net.n * f, 1);
      const dx = new Tensor([x.size]);
      const dw = new Tensor([w.size]);
      const db = new Tensor([f]);
      const flops = 2 * net.n * d * f;
      const dims = { n: net.n, d, f };
      const tf = timed(() => nb.linearForward({ x, w, b, y }, { ...dims, relu: true }));
      const tb = forwardOnly
        ? none
        : timed(() => nb.linearBackward({ x, w, dy, dx, dw, db }, dims));
      const w16 = toBf16(w);
      const args16 = [x.data, w16, dy.data, dx.data, dw.data, db.data];
      const tf16 = bf16
        ? timed(() => raw.linearForward!([x.data, w16, b.data, y.data], { ...dims, relu: true }))
        : undefined;
      const tb16 =
        bf16 && !forwardOnly ? timed(() => raw.linearBackward!(args16, dims)) : undefined;
      row(`fc ${d}→${f} fwd`, tf, flops, tf16);
      if (!forwardOnly) row(`fc ${d}→${f} bwd`, tb, 2 * flops, tb16);
      total += tf.ms + tb.ms;
    }
    console.log(
      `conv+fc forward+backward total ${total.toFixed(1)} ms → ≤ ${((1000 * net.n) / total).toFixed(0)} images/s (GEMM layers only)`,
    );
  }
}

main();
