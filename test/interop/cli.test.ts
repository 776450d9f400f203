// The import command's error contract (SPEC §5): bad input → one line on stderr, exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'interop');
const out = join(tmpdir(), `alexnet-cli-${process.pid}.safetensors`);

function run(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'alexnet.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('alexnet import: hostile, corrupt and foreign files exit 2 with one line', () => {
  const evil = join(tmpdir(), `evil-${process.pid}.pth`);
  writeFileSync(
    evil,
    Buffer.concat([
      Buffer.from('\x80\x02cos\nsystem\nX\x10\x00\x00\x00touch /tmp/pwned\x85R.', 'latin1'),
    ]),
  );
  const cases: [string[], RegExp][] = [
    [[evil, '--from', 'torchvision'], /refusing global os\.system/],
    [[join(FIX, 'not_alexnet.onnx'), '--from', 'onnx'], /conv1_softsign/],
    [
      [join(FIX, 'caffe_alexnet2012.caffemodel'), '--from', 'caffe', '--arch', 'torchvision'],
      /--arch: variant torchvision: a Caffe model imports as alexnet2012 or caffenet/,
    ],
    // the tiny fixture's widths are not the full variant's: named tensor and shapes
    [
      [join(FIX, 'tv_tiny.pth'), '--from', 'torchvision'],
      /conv1\.weight has shape \[8, 3, 11, 11\], the network needs \[64, 3, 11, 11\]/,
    ],
    [[join(FIX, 'tv_tiny.pth'), '--from', 'keras'], /keras/],
  ];
  for (const [args, re] of cases) {
    const r = run(['import', ...args, '--output', out]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
