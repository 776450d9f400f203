// --precision fp32|bf16 on every compute command (issue #12), run as a user would: a tiny bf16
// training run whose record says bf16 and whose files stay float32; eval, predict, infer,
// features and bench in bf16 on its model; an unknown value, or bf16 with --parallel, is one line
// naming the flag and exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-precision-'));
const out = join(dir, 'run');
const model = join(out, 'model.safetensors');
const photo = join(ROOT, 'test', 'fixtures', 'photos', 'chelsea.jpg');
// d2l at 67 px, an eighth of its width: seconds even with the bf16 GEMMs on ref.
const TINY = ['--width', '0.125', '--epochs', '1', '--batch', '16', '--max-train', '32'];

/** The dtype of every tensor in a safetensors file, from its JSON header. */
function dtypesOf(path: string): Set<string> {
  const buf = readFileSync(path);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString());
  delete header.__metadata__;
  return new Set(Object.values(header as Record<string, { dtype: string }>).map((e) => e.dtype));
}

test('train --precision bf16: the run says so first, its record says bf16, its files stay F32', () => {
  const r = runCli(['train', ...TINY, '--max-test', '16', '--precision', 'bf16', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const first = r.stderr.split('\n').find((l) => l.startsWith('training '));
  assert.match(first ?? '', /, precision bf16 → /);
  const record = JSON.parse(readSafetensors(model).metadata['alexnet.training']);
  assert.equal(record.recipe.precision, 'bf16');
  assert.deepEqual(dtypesOf(model), new Set(['F32']));
  assert.deepEqual(dtypesOf(join(out, 'checkpoint.safetensors')), new Set(['F32']));
});

test('--precision: an unknown value, or bf16 with --parallel, is one line naming the flag, exit 2', () => {
  for (const args of [
    ['train', '--precision', 'fp16', '--out', join(dir, 'bad')],
    ['eval', '--model', model, '--precision', 'half'],
    ['bench', '--precision', 'bf8'],
    ['eval', '--model', model, '--precision', 'bf16', '--parallel', 'towers'],
    ['bench', '--precision', 'bf16', '--parallel', 'towers'],
  ]) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), /^[^\n]*--precision[^\n]*$/);
  }
  const par = runCli([
    'train',
    ...TINY,
    '--precision',
    'bf16',
    '--parallel',
    'data',
    '--out',
    join(dir, 'par'),
  ]);
  assert.equal(par.status, 2, par.stderr);
  assert.match(par.stderr.trim(), /^alexnet: --precision bf16: not with --parallel data[^\n]*$/);
});

test('eval, predict and features --precision bf16 run the model in bf16', () => {
  const ev = runCli(['eval', '--model', model, '--precision', 'bf16', '--json', '--quiet']);
  assert.equal(ev.status, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.precision, 'bf16');
  assert.ok(e.top1 >= 0 && e.top1 <= 1 && e.samples > 0);

  const pr = runCli([
    'predict',
    '--model',
    model,
    photo,
    '--precision',
    'bf16',
    '--json',
    '--top',
    '3',
  ]);
  assert.equal(pr.status, 0, pr.stderr);
  const top = JSON.parse(pr.stdout).top as { probability: number }[];
  assert.equal(top.length, 3);

  const feats = join(dir, 'fc7.npy');
  const fe = runCli([
    'features',
    '--model',
    model,
    photo,
    '--output',
    feats,
    '--precision',
    'bf16',
    '--json',
    '--quiet',
  ]);
  assert.equal(fe.status, 0, fe.stderr);
  assert.equal(JSON.parse(fe.stdout).precision, 'bf16');
  assert.equal(readNpy(feats).shape[0], 1);
});

test('infer --precision bf16 is close to fp32 and not equal to it', () => {
  const rng = new Rng(4);
  const x = new Tensor([3, 1, 67, 67]);
  for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
  const input = join(dir, 'x.npy');
  writeNpy(input, x);
  const outputs = ['fp32', 'bf16'].map((p) => {
    const y = join(dir, `y-${p}.npy`);
    const r = runCli([
      'infer',
      '--model',
      model,
      '--input',
      input,
      '--output',
      y,
      '--precision',
      p,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).precision, p);
    return readNpy(y).data;
  });
  const [full, mixed] = outputs;
  assert.notDeepEqual(mixed, full);
  const scale = Math.max(...full.map(Math.abs));
  for (let i = 0; i < full.length; i++)
    assert.ok(
      Math.abs(mixed[i] - full[i]) <= 2e-2 * scale,
      `logit ${i}: ${mixed[i]} vs ${full[i]}`,
    );
});

test('bench --precision bf16 --json says bf16 and the share of its bfloat16 engine peak (null below AVX-512)', async () => {
  const r = runCli([
    'bench',
    '--arch',
    'd2l',
    '--input-size',
    '67',
    '--batch',
    '2',
    '--iterations',
    '1',
    '--precision',
    'bf16',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.equal(b.precision, 'bf16');
  assert.ok(b.imagesPerSecond > 0 && b.peakRssMB > 0);
  const { nativeBinding } = await import('../../src/backend/native/index.js');
  const engines: Record<string, string> = {
    amx: 'the AMX tiles',
    avx512bf16: 'vdpbf16ps',
    avx512: 'the FMA',
  };
  const engine = engines[nativeBinding?.isa() ?? ''];
  if (b.backend === 'native' && engine) {
    assert.ok(b.bf16PeakFraction > 0 && b.bf16PeakFraction < 1.5, String(b.bf16PeakFraction));
    assert.equal(b.bf16Engine, engine);
  } else if (b.backend === 'native') assert.equal(b.bf16PeakFraction, null);
  else assert.ok(!('bf16PeakFraction' in b));
});
