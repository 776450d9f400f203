// examples/library.mjs runs as the README shows it, against the package's own entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('examples/library.mjs: build, run, train stopped by an AbortSignal, evaluate, classify', () => {
  const out = mkdtempSync(join(tmpdir(), 'alexnet-example-'));
  try {
    const stdout = execFileSync(process.execPath, [join(ROOT, 'examples', 'library.mjs'), out], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.match(stdout, /^logits of a fresh d2l: \[2, 10\]$/m);
    assert.match(stdout, /^trained 1920 images \(stopped by the AbortSignal\)$/m);
    assert.match(stdout, /^test top-1 0\.\d{3} on 300 images$/m);
    assert.match(stdout, /^a vertical bar looks like: .+ 0\.\d\d, .+ 0\.\d\d, .+ 0\.\d\d$/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
