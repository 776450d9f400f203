// Issue 16: the library's usage errors name their subject (a file, a layer, a directory), never a
// command-line flag; the error's `option` tells the CLI which flag to put in front. A guard scans
// src/ outside the command line for usage()/UsageError messages that spell a `--flag`, so the
// mixing cannot come back; and for a few mistakes the library call and the command are compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { refBackend } from '../../src/backend/ref/index.js';
import { buildNet } from '../../src/models/alexnet.js';
import { defaultConfig } from '../../src/models/config.js';
import { formatOf } from '../../src/show/figure.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { claimRunDir } from '../../src/train/run-dir.js';
import { UsageError } from '../../src/util/errors.js';
import { ROOT, runCli } from '../helpers/cli.js';

/** Where flags belong: the command line. */
const EXEMPT = ['src/cli/'];
const FLAG = /--[a-z]/;

/** The string pieces of every usage(…) / new UsageError(…) call in `source` that spell a flag,
 *  as "file:line: text". */
export function flagsInUsageCalls(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const strings = (n: ts.Node): void => {
    if (
      ts.isStringLiteralLike(n) ||
      ts.isTemplateHead(n) ||
      ts.isTemplateMiddle(n) ||
      ts.isTemplateTail(n)
    ) {
      if (FLAG.test(n.text)) {
        const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
        found.push(`${file}:${line}: ${n.text}`);
      }
    }
    n.forEachChild(strings);
  };
  const visit = (n: ts.Node): void => {
    const isUsage =
      (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'usage') ||
      (ts.isNewExpression(n) &&
        ts.isIdentifier(n.expression) &&
        n.expression.text === 'UsageError');
    if (isUsage)
      for (const a of (n as ts.CallExpression | ts.NewExpression).arguments ?? []) strings(a);
    else n.forEachChild(visit);
  };
  visit(sf);
  return found;
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('the guard finds a flag in a usage message, in every form a message is written in', () => {
  const offending = [
    'usage(`--out ${dir} holds a run already`);',
    "throw new UsageError('--port 80: cannot listen');",
    "usage('no such layer ' + name + ' (see --layer)', 'layer');",
    'usage(ok ? `${a}: fine` : `${a}: use --force`);',
  ];
  for (const line of offending)
    assert.equal(flagsInUsageCalls('x.ts', line).length, 1, `not caught: ${line}`);
  const fine = [
    "usage(`run directory ${dir} holds a run already`, 'out');",
    '// usage(`--out`) in a comment',
    "progress.note('continue with --resume');",
    "usage('a - b -- c', 'x');",
  ];
  for (const line of fine) assert.deepEqual(flagsInUsageCalls('x.ts', line), [], line);
});

test('no usage message outside the command line names a --flag', () => {
  const src = join(ROOT, 'src');
  const offenders = sourcesUnder(src)
    .map((f) => relative(ROOT, f))
    .filter((f) => !EXEMPT.some((e) => f.startsWith(e)))
    .flatMap((f) => flagsInUsageCalls(f, readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(offenders, [], `library messages that name a flag:\n${offenders.join('\n')}`);
});

test('the library names the subject and the option; the command line names the flag, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-flags-'));
  try {
    const noFlag = (f: () => unknown, option: string, subject: RegExp): void =>
      assert.throws(f, (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.doesNotMatch(e.message, FLAG);
        assert.match(e.message, subject);
        assert.equal(e.option, option);
        return true;
      });

    // A run directory that holds a run.
    writeFileSync(join(dir, 'model.safetensors'), '');
    noFlag(() => claimRunDir(dir, false), 'out', /^run directory .* holds a run already/);
    // A layer the network does not have.
    const net = buildNet(defaultConfig('d2l', { inputSize: 67, classes: 10 }), refBackend);
    const x = new Tensor([1, ...net.input]);
    noFlag(() => net.forwardTo(x, 'fc9'), 'layer', /^fc9: no such layer \(have /);
    // A figure file name that is neither .png nor .svg: the library, then the command.
    const jpg = join(dir, 'figure.jpg');
    noFlag(() => formatOf(jpg), 'output', /figure\.jpg: give a \.png or \.svg file name$/);
    const r = runCli(['show', 'curves', dir, '--output', jpg]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^alexnet: --output: .*figure\.jpg: give a \.png or \.svg file name\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
