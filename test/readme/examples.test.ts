// The README's runnable examples run as written. Every fenced block tagged `sh runnable` in
// README.md is split into commands (comments dropped, `\` continuations joined) and each command
// runs through bash, in a temporary directory holding a copy of examples/, as a user in a fresh
// clone would — `alexnet` is the built bin/alexnet.js. One substitution keeps this fast: an
// `alexnet train` on the bundled Fashion-MNIST (no --data) trains on a 40-image IDX directory for
// one epoch instead, writing to the same --out, so what follows it finds a real model there.
// Each command must exit 0 and print something on stdout; every --output it names must exist;
// a --json command prints JSON; predict and neighbors print every query they were given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { writeIdxDir } from '../helpers/idx.js';

/** The commands of README.md's `sh runnable` blocks, in order. */
export function runnableCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh runnable\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter((line) => line !== ''),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'alexnet-readme-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
const idx = join(dir, 'tiny-idx');
writeIdxDir(idx, 40);

const commands = runnableCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

function run(command: string): { status: number | null; stdout: string; stderr: string } {
  const quick = /^alexnet train\b/.test(command) && !/\s--data\s/.test(command);
  const line = quick ? `${command} --data ${idx} --epochs 1 --batch 20 --max-seconds 0` : command;
  const script = `alexnet() { "${process.execPath}" "${join(ROOT, 'bin', 'alexnet.js')}" "$@"; }\n${line}\n`;
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the README has runnable examples for every command that needs no files of the user', () => {
  for (const cmd of [
    'summary',
    'train',
    'eval',
    'predict',
    'info',
    'pca',
    'features',
    'neighbors',
    'export',
    'import',
  ])
    assert.ok(
      commands.some((c) => c.startsWith(`alexnet ${cmd} `)),
      `no runnable \`alexnet ${cmd}\` in README.md`,
    );
});

for (const command of commands) {
  test(`README: ${command}`, () => {
    const r = run(command);
    assert.equal(r.status, 0, `${command}\n${r.stderr}`);
    assert.notEqual(r.stdout.trim(), '', `${command} printed nothing on stdout`);
    const words = command.split(/\s+/);
    const output = words[words.indexOf('--output') + 1];
    if (words.includes('--output'))
      assert.ok(existsSync(join(dir, output)) && statSync(join(dir, output)).size > 0, output);
    if (words.includes('--json')) JSON.parse(r.stdout);
    if (/^alexnet (predict|neighbors) /.test(command))
      for (const image of words.filter((w) => /\.(png|jpg)$/.test(w)))
        assert.ok(r.stdout.includes(image), `${image} missing from\n${r.stdout}`);
  });
}
