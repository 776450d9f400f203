// The CLI contract for summary and infer (SPEC §5): totals, JSON, exit code 2 with a one-line
// message naming the flag or file, and infer's layer outputs equal to the library's.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { defaultConfig } from '../../src/models/config.js';
import { initialize } from '../../src/models/init.js';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { writeSafetensors } from '../../src/tensor/safetensors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';
import { runCli } from '../helpers/cli.js';
import { hostTensor } from '../../src/backend/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-cli-'));

function oneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit code ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `more than one line: ${r.stderr}`);
}

test("summary --json gives the paper's totals", () => {
  const r = runCli(['summary', '--arch', 'alexnet2012', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.params, 60_965_224);
  assert.equal(j.macs, 724_406_816);
  assert.equal(j.layers.find((l: { name: string }) => l.name === 'conv2').params, 307_456);
  const t = JSON.parse(runCli(['summary', '--arch', 'torchvision', '--json']).stdout);
  assert.equal(t.params, 61_100_840);
  assert.equal(t.macs, 714_188_480);
});

test('summary prints a table with totals', () => {
  const r = runCli(['summary', '--arch', 'alexnet2012']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /total\s+60,965,224\s+724,406,816/);
  assert.match(r.stdout, /fc6 sees 9,216 features/);
});

test('bad flags and sizes are one-line errors with exit code 2', () => {
  oneLineError(runCli(['summary', '--arch', 'vgg16']), /--arch/);
  oneLineError(runCli(['summary', '--input-size', 'abc']), /--input-size/);
  oneLineError(runCli(['summary', '--arch', 'd2l', '--input-size', '50']), /vanishes/);
  oneLineError(runCli(['frobnicate']), /unknown command/);
});

// A small d2l model (input 67) saved with metadata; infer must equal the library's forward.
const config = defaultConfig('d2l', { inputSize: 67 });
const net = buildNet(config, refBackend);
initialize(net, 'kaiming', 3);
const modelPath = join(dir, 'd2l.safetensors');
saveModel(modelPath, net, { config });
const rng = new Rng(4);
const x = new Tensor([3, 1, 67, 67]);
for (let i = 0; i < x.size; i++) x.data[i] = rng.normal();
const xPath = join(dir, 'x.npy');
writeNpy(xPath, x);

test('infer writes the logits and any named layer (fc7, conv1 pre-ReLU, relu1)', () => {
  for (const layer of [undefined, 'fc7', 'conv1', 'relu1']) {
    const out = join(dir, `y-${layer ?? 'logits'}.npy`);
    const r = runCli([
      'infer',
      '--model',
      modelPath,
      '--input',
      xPath,
      '--output',
      out,
      '--backend',
      'ref',
      '--batch',
      '2',
      ...(layer ? ['--layer', layer] : []),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const y = readNpy(out);
    const expected = hostTensor(
      net.backend,
      layer ? net.forwardTo(x, layer) : net.forward(x, false),
    );
    assert.deepEqual(y.shape, expected.shape);
    let err = 0;
    for (let i = 0; i < y.size; i++) err = Math.max(err, Math.abs(y.data[i] - expected.data[i]));
    assert.ok(err < 1e-5, `${layer ?? 'logits'}: max error ${err}`);
  }
  const conv1 = readNpy(join(dir, 'y-conv1.npy'));
  assert.ok(
    conv1.data.some((v) => v < 0),
    'conv1 output should be taken before its ReLU',
  );
  assert.ok(readNpy(join(dir, 'y-relu1.npy')).data.every((v) => v >= 0));
});

test('infer: wrong input shape, wrong tensor shapes and missing --arch name the culprit', () => {
  const bad = join(dir, 'bad.npy');
  writeNpy(bad, new Tensor([2, 3, 67, 67]));
  oneLineError(
    runCli([
      'infer',
      '--model',
      modelPath,
      '--input',
      bad,
      '--output',
      join(dir, 'o.npy'),
      '--backend',
      'ref',
    ]),
    /bad\.npy.*\[2, 3, 67, 67\].*\[N, 1, 67, 67\]/,
  );
  // A PyTorch-style file (no metadata) whose fc7 has the wrong shape.
  const sd = net.stateDict();
  sd.set('fc7.weight', new Tensor([10, 10]));
  const plain = join(dir, 'plain.safetensors');
  writeSafetensors(plain, sd);
  oneLineError(
    runCli([
      'infer',
      '--model',
      plain,
      '--input',
      xPath,
      '--output',
      join(dir, 'o.npy'),
      '--backend',
      'ref',
    ]),
    /--arch: .*no alexnet metadata; say which variant it holds/,
  );
  oneLineError(
    runCli([
      'infer',
      '--model',
      plain,
      '--arch',
      'd2l',
      '--input',
      xPath,
      '--output',
      join(dir, 'o.npy'),
      '--backend',
      'ref',
    ]),
    /fc7\.weight has shape \[10, 10\]/,
  );
  oneLineError(
    runCli([
      'infer',
      '--model',
      join(dir, 'nope.safetensors'),
      '--input',
      xPath,
      '--output',
      join(dir, 'o.npy'),
    ]),
    /nope\.safetensors: cannot read/,
  );
  oneLineError(
    runCli([
      'infer',
      '--model',
      modelPath,
      '--input',
      xPath,
      '--output',
      join(dir, 'o.npy'),
      '--layer',
      'fc9',
      '--backend',
      'ref',
    ]),
    /--layer: fc9: no such layer/,
  );
});
