// The addon builds on arm64: every native source cross-compiles with aarch64-linux-gnu-g++ (Debian's
// g++-aarch64-linux-gnu) using binding.gyp's own defines, include dirs and flags, and the objects
// of alexnet_native link into a shared object that leaves no anative:: symbol undefined (an x86
// path guarded out on one side but still called on the other would load on arm64 as "undefined
// symbol"). The x86 intrinsics, <immintrin.h> and the target attributes are all inside
// `#if defined(__x86_64__) || defined(_M_X64)`; elsewhere only the portable path is compiled and
// the ISA is always "scalar" (native/isa.h). mpi.cc is syntax-checked only, against the host's
// Open MPI headers (there is no arm64 libmpi to link; the headers are the same on both LP64 ABIs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const NATIVE = join(ROOT, 'native');
const CXX = 'aarch64-linux-gnu-g++';
const NM = 'aarch64-linux-gnu-nm';

interface GypTarget {
  target_name: string;
  sources?: string[];
  include_dirs?: string[];
  defines?: string[];
  cflags?: string[];
  cflags_cc?: string[];
}

const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')) as {
  targets: GypTarget[];
};
const addon = gyp.targets.find((t) => t.target_name === 'alexnet_native')!;

/** A gyp string with command expansions (`<!(cmd)`, `<!@(cmd)`) evaluated as gyp does. */
function expand(s: string): string[] {
  const m = /^<!(@?)\((.*)\)$/.exec(s);
  if (!m) return [s];
  const out = execSync(m[2], { cwd: ROOT, encoding: 'utf8' }).trim();
  return m[1] ? out.split(/\s+/).filter(Boolean) : [out];
}

function nodeHeaders(): string | null {
  const candidates = [
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

const haveCxx = spawnSync(CXX, ['--version']).status === 0;
const headers = nodeHeaders();
const skip = !haveCxx
  ? `${CXX} not found (apt-get install g++-aarch64-linux-gnu; .ci/run installs it)`
  : !headers
    ? `no Node headers (node_api.h) beside ${process.execPath} or in ~/.cache/node-gyp`
    : false;

function run(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(CXX, args, { cwd: ROOT });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Runs the jobs, `limit` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

test('binding.gyp passes no -m (ISA) flag to every architecture', () => {
  // The x86 paths carry per-function target attributes; an -mavx… flag here would apply to all
  // of the addon on every architecture (and fail on arm64). It belongs in a target_arch condition.
  for (const f of [...(addon.cflags ?? []), ...(addon.cflags_cc ?? [])])
    assert.doesNotMatch(f, /^-m/, `binding.gyp's common flags hold ${f}`);
});

test('every native source cross-compiles for arm64 and the addon links', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-arm64-'));
  try {
    const includes = (addon.include_dirs ?? []).flatMap(expand).map((d) => `-I${d}`);
    // -O1 rather than binding.gyp's -O3: the same code paths, in a fraction of the time.
    const flags = [
      ...(addon.cflags_cc ?? []).map((f) => (/^-O/.test(f) ? '-O1' : f)),
      '-fPIC',
      ...(addon.defines ?? []).map((d) => `-D${d}`),
      `-I${headers}`,
      ...includes,
    ];
    const sources = readdirSync(NATIVE)
      .filter((f) => f.endsWith('.cc'))
      .sort();
    const inAddon = new Set((addon.sources ?? []).map((s) => s.replace(/^native\//, '')));
    // Sources of the other targets (alexnet_stdio's stdio.cc) compile here too, unlinked.
    const elsewhere = new Set(
      gyp.targets.flatMap((t) => (t === addon ? [] : (t.sources ?? []))).map((s) => s.slice(7)),
    );
    for (const s of sources)
      if (s !== 'mpi.cc' && !elsewhere.has(s))
        assert.ok(inAddon.has(s), `native/${s} is not in binding.gyp's sources`);
    const mpiIncludes = expand('<!@(node scripts/mpi-config.cjs incdirs)');
    const jobs = sources
      .filter((s) => s !== 'mpi.cc' || mpiIncludes.length > 0)
      .map((s) => () => {
        const out = join(dir, s.replace(/\.cc$/, '.o'));
        const args =
          s === 'mpi.cc'
            ? [
                ...flags,
                '-DOMPI_SKIP_MPICXX=1',
                ...mpiIncludes.map((d) => `-I${d}`),
                '-fsyntax-only',
              ]
            : [...flags, '-c', '-o', out];
        return run([...args, join('native', s)]).then((r) => ({ source: s, ...r }));
      });
    const results = await pool(jobs, availableParallelism());
    const failed = results.filter((r) => r.status !== 0);
    assert.deepEqual(
      failed.map((r) => r.source),
      [],
      failed
        .map((r) => `native/${r.source}:\n${r.stderr.split('\n').slice(0, 8).join('\n')}`)
        .join('\n'),
    );
    const objects = (addon.sources ?? []).map((s) =>
      join(dir, s.replace(/^native\//, '').replace(/\.cc$/, '.o')),
    );
    const lib = join(dir, 'alexnet_native.node');
    const link = await run(['-shared', '-pthread', '-o', lib, ...objects]);
    assert.equal(link.status, 0, `linking for arm64 failed:\n${link.stderr}`);
    const nm = spawnSync(NM, ['-u', '-C', lib], { encoding: 'utf8' });
    assert.equal(nm.status, 0, nm.stderr);
    const missing = nm.stdout.split('\n').filter((l) => l.includes('anative::'));
    assert.deepEqual(missing, [], 'the arm64 addon references anative:: symbols no source defines');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
