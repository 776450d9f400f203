// The precision a training run uses when none is named (issue #12): bf16 for fashion-quick on the
// native backend at an ISA level with bfloat16 instructions, fp32 on every other level, backend,
// preset and parallel run; a named precision always wins. The decision itself for every case on
// any machine, then the command line and the library as a user meets them on this one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from 'alexnet-ts';
import { isaInUse, nativeBackend } from '../../src/backend/native/index.js';
import type { Isa } from '../../src/backend/native/binding.js';
import { variantSchema } from '../../src/models/variants.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { defaultPrecision, trainPrecision } from '../../src/train/default-precision.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-default-precision-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const QUICK = { preset: 'fashion-quick', backend: 'native', parallel: false };

test('the default: bf16 for fashion-quick on native AMX or AVX512-BF16 only, and it says why', () => {
  const bf16 = defaultPrecision({ ...QUICK, isa: 'avx512bf16' });
  assert.deepEqual(bf16, { precision: 'bf16', reason: 'default on this CPU: AVX512-BF16' });
  const tiles = defaultPrecision({ ...QUICK, isa: 'amx' });
  assert.deepEqual(tiles, { precision: 'bf16', reason: 'default on this CPU: AMX' });
  for (const isa of ['avx512', 'avx2', 'scalar'] as Isa[]) {
    const c = defaultPrecision({ ...QUICK, isa });
    assert.equal(c.precision, 'fp32', isa);
    assert.match(c.reason ?? '', new RegExp(`run ${isa}, without bfloat16`));
  }
  // A CPU whose AVX512-BF16 is slower than its FMA runs avx512 by default, and the reason says so.
  const slower = defaultPrecision({ ...QUICK, isa: 'avx512', bf16SlowerThanFma: true });
  assert.deepEqual(slower, {
    precision: 'fp32',
    reason:
      'default on this CPU: its AVX512-BF16 is slower than its FMA, so the native kernels run avx512, without bfloat16 instructions',
  });
  for (const backend of ['ref', 'webgpu']) {
    const c = defaultPrecision({ ...QUICK, backend, isa: 'avx512bf16' });
    assert.equal(c.precision, 'fp32', backend);
    assert.match(c.reason ?? '', new RegExp(`on the ${backend} backend`));
  }
  for (const run of [
    { ...QUICK, parallel: true },
    { ...QUICK, backend: null, parallel: true },
  ]) {
    const c = defaultPrecision({ ...run, isa: 'avx512bf16' });
    assert.equal(c.precision, 'fp32');
    assert.match(c.reason ?? '', /parallel workers/);
  }
  // Presets where bf16 was not measured stay plainly fp32.
  for (const preset of ['fashion-d2l', 'imagenet-2012', 'imagefolder', null])
    assert.deepEqual(defaultPrecision({ ...QUICK, preset, isa: 'avx512bf16' }), {
      precision: 'fp32',
      reason: null,
    });
  // A named precision is used as named, with no reason to give.
  for (const given of ['fp32', 'bf16'] as const)
    assert.deepEqual(trainPrecision(given, QUICK), { precision: given, reason: null });
});

/** What the default is on this machine's native kernels. */
const BF16_NAMES: Partial<Record<Isa, string>> = { amx: 'AMX', avx512bf16: 'AVX512-BF16' };
const hereName = nativeBackend ? BF16_NAMES[isaInUse()] : undefined;
const here = hereName ? 'bf16' : 'fp32';
const TINY = ['--width', '0.125', '--epochs', '1', '--batch', '16', '--max-train', '32'];

function firstLine(args: string[], env: Record<string, string> = {}): string {
  const r = runCli(['train', ...TINY, '--max-test', '16', ...args], env);
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').find((l) => l.startsWith('training ')) ?? '';
}

test(`alexnet train without --precision trains in ${here} here, and the first line and record say so`, () => {
  const out = join(dir, 'default');
  const line = firstLine(['--out', out]);
  if (here === 'bf16')
    assert.match(
      line,
      new RegExp(
        `, precision bf16 \\(default on this CPU: ${hereName}; --precision fp32 for float32\\) → `,
      ),
    );
  else assert.match(line, /, precision fp32 \(default /);
  const record = JSON.parse(
    readSafetensors(join(out, 'model.safetensors')).metadata['alexnet.training'],
  );
  assert.equal(record.recipe.precision, here);
});

test('ALEXNET_ISA=avx512, --precision fp32 and --parallel data train in fp32 (no usage error)', () => {
  assert.match(
    firstLine(['--out', join(dir, 'avx512')], { ALEXNET_ISA: 'avx512' }),
    /, precision fp32 \(default on this CPU: (its AVX512-BF16 is slower than its FMA, so )?the native kernels run (avx512|avx2|scalar)/,
  );
  assert.match(firstLine(['--precision', 'fp32', '--out', join(dir, 'fp32')]), /precision fp32 → /);
  assert.match(
    firstLine(['--parallel', 'data', '--out', join(dir, 'par')]),
    /, precision fp32 \(default with parallel workers, which compute in fp32\) → /,
  );
});

test('train() without config.precision takes the same default and returns its reason', async () => {
  const config = {
    variant: variantSchema.parse({ width: 0.125, fc: 512 }),
    epochs: 1,
    batch: 16,
    maxTrain: 32,
    maxTest: 16,
    maxSeconds: null,
  };
  const run = await train({ config, outDir: join(dir, 'api'), plots: false });
  assert.equal(run.config.precision, here);
  assert.equal(run.model.precision, here);
  assert.equal(run.precisionReason === `default on this CPU: ${hereName}`, here === 'bf16');
  const ref = await train({ config, outDir: join(dir, 'api-ref'), backend: 'ref', plots: false });
  assert.equal(ref.config.precision, 'fp32');
  assert.match(ref.precisionReason ?? '', /on the ref backend/);
  const named = await train({
    config: { ...config, precision: 'fp32' },
    outDir: join(dir, 'api-fp32'),
    plots: false,
  });
  assert.equal(named.config.precision, 'fp32');
  assert.equal(named.precisionReason, null);
});
