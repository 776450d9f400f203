// The GPU bench kit's CLI (bench/gpu/bundle-cli.mjs: the built CLI as one esbuild bundle, run on
// a GPU machine with no package tree around it) starts: it answers --version with the package's
// version and `bench --help`, and a bad flag is one line, exit 2. (Before the version was inlined
// the bundle died reading /package.json, and every row of bench/gpu/run.sh said "failed".)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cli.js';

describe('the GPU bench kit', () => {
  it('its bundled CLI runs without the package tree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-kit-'));
    try {
      const out = join(dir, 'alexnet.mjs');
      const bundle = spawnSync(process.execPath, ['bench/gpu/bundle-cli.mjs', out], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(bundle.status, 0, bundle.stderr);
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [out, ...args], { cwd: dir, encoding: 'utf8' });
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
      const v = run('--version');
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stdout.trim(), version);
      const help = run('bench', '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /--backend <id>/);
      const bad = run('bench', '--frobnicate');
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr, "error: unknown option '--frobnicate'\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
