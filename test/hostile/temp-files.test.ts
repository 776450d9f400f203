// A process killed during an atomic write leaves `.NAME.<pid>.tmp` behind; the next write of NAME
// removes those of processes that no longer exist, and leaves a live writer's alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic.js';

test('a write removes the temporary files of killed writers, not those of live ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-temp-'));
  const out = join(dir, 'model.safetensors');
  // A writer killed mid-write: it creates its temporary file, then is killed before the rename.
  const child = spawn(process.execPath, [
    '-e',
    `require('fs').writeFileSync(process.argv[1] + '/.model.safetensors.' + process.pid + '.tmp', 'half');
     console.log('written'); setInterval(() => {}, 1000);`,
    dir,
  ]);
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  const dead = join(dir, `.model.safetensors.${child.pid}.tmp`);
  assert.ok(existsSync(dead));
  const live = join(dir, `.model.safetensors.${process.ppid}.tmp`); // the test runner: alive
  writeFileSync(live, 'in progress');
  const other = join(dir, `.other.safetensors.${child.pid}.tmp`); // another file's: not ours
  writeFileSync(other, 'x');
  writeFileAtomic(out, new TextEncoder().encode('done'));
  assert.equal(readFileSync(out, 'utf8'), 'done');
  assert.ok(!existsSync(dead), 'the killed writer’s temporary file is still there');
  assert.ok(existsSync(live), 'a live writer’s temporary file was removed');
  assert.ok(existsSync(other), 'another file’s temporary file was removed');
  assert.deepEqual(
    readdirSync(dir).sort(),
    [
      `.model.safetensors.${process.ppid}.tmp`,
      `.other.safetensors.${child.pid}.tmp`,
      'model.safetensors',
    ].sort(),
  );
});
