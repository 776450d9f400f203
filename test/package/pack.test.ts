// The package as a user gets it: `npm pack` holds the compiled code with its type declarations, the
// native sources and binding.gyp, README and LICENSE, and none of the tests, fixtures, tools or
// benchmarks; installed into an empty project (offline, from npm's cache) it builds the addon, runs
// an ESM script and the CLI, and passes a `tsc` type check through the package's own entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CONSUMER = join(ROOT, 'test', 'package', 'consumer');

interface Packed {
  filename: string;
  integrity: string;
  size: number;
  files: { path: string }[];
}

function npm(args: string[], cwd: string): { stdout: string; stderr: string } {
  // JOBS: node-gyp compiles the addon's sources in parallel.
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, JOBS: 'max' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** A lock file for a project depending on the tarball alone: the tarball's entry plus this
 *  repository's locked production dependencies, so `npm ci --offline` installs from the cache. */
function consumerLock(packed: Packed): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const spec = `file:../${packed.filename}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'alexnet-ts': spec } },
    'node_modules/alexnet-ts': {
      version: pkg.version,
      resolved: spec,
      integrity: packed.integrity,
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      engines: pkg.engines,
      bin: pkg.bin,
    },
  };
  for (const [k, v] of Object.entries(lock.packages as Record<string, { dev?: boolean }>))
    if (k !== '' && !v.dev) packages[k] = v;
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

test('npm pack: compiled code, types, native sources, README, LICENSE; no tests, tools, benchmarks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-pack-'));
  try {
    const { stdout, stderr } = npm(
      ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
      ROOT,
    );
    assert.doesNotMatch(stderr, /Unknown (project|user) config/);
    const [packed] = JSON.parse(stdout) as Packed[];
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'bin/alexnet.js',
      'binding.gyp',
      'native/gemm.cc',
      'native/addon.cc',
      'README.md',
      'LICENSE',
      'package.json',
    ])
      assert.ok(files.includes(f), `${f} is missing from the tarball`);
    const stray = files.filter(
      (f) => /^(test|tools|bench|src|dist\/test|dist\/bench|build)\//.test(f) || f.endsWith('.map'),
    );
    assert.deepEqual(stray, []);
    console.log(`# tarball ${packed.filename}: ${packed.size} bytes, ${files.length} files`);
    assert.ok(packed.size < 1_000_000, `the tarball is ${packed.size} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the packed tarball installs offline, builds the addon, runs ESM, the CLI and a type check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-consumer-'));
  try {
    const [packed] = JSON.parse(
      npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT).stdout,
    ) as Packed[];
    const proj = join(dir, 'proj');
    mkdirSync(proj);
    writeFileSync(
      join(proj, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { 'alexnet-ts': `file:../${packed.filename}` },
      }),
    );
    writeFileSync(join(proj, 'package-lock.json'), JSON.stringify(consumerLock(packed)));
    npm(['ci', '--offline', '--no-audit', '--no-fund'], proj);

    copyFileSync(join(CONSUMER, 'main.mjs'), join(proj, 'main.mjs'));
    const out = JSON.parse(
      execFileSync(process.execPath, ['main.mjs'], { cwd: proj, encoding: 'utf8' }),
    );
    assert.equal(out.backend, 'native');
    assert.deepEqual(out.logitsShape, [2, 10]);
    assert.equal(out.top, 3);
    assert.ok(Math.abs(out.rowSum - 1) < 1e-5);
    assert.equal(out.nonzeroWeights, true);
    assert.equal(out.torchvisionResample, 'pil-bilinear');

    const cli = JSON.parse(
      execFileSync(
        join(proj, 'node_modules', '.bin', 'alexnet'),
        ['summary', '--arch', 'd2l', '--json'],
        { cwd: proj, encoding: 'utf8' },
      ),
    );
    assert.equal(cli.params, 46_764_746);

    copyFileSync(join(CONSUMER, 'check.mts'), join(proj, 'check.mts'));
    writeFileSync(
      join(proj, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['check.mts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', proj],
      { encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `tsc found errors:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
