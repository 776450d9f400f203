// How the distributed tests start Open MPI jobs, and whether they can: mpirun on the PATH and the
// MPI module built (build/Release/alexnet_mpi.node). The flags are the ones this machine needs:
// root, more ranks than cores, no pinning (both ranks landed on core 0), no busy polling, and -q
// so that a failing job shows our one line rather than mpirun's banners.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

export const MPIRUN_FLAGS = [
  '-q',
  '--allow-run-as-root',
  '--oversubscribe',
  '--bind-to',
  'none',
  '--mca',
  'mpi_yield_when_idle',
  '1',
];

/** Why the MPI tests cannot run here, or null when they can. */
export function mpiSkipReason(): string | null {
  try {
    execFileSync('mpirun', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)';
  }
  if (!existsSync(join(ROOT, 'build', 'Release', 'alexnet_mpi.node')))
    return 'the MPI module was not built (rebuild the addon with Open MPI installed)';
  return null;
}

export interface JobResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to its end or `timeoutSeconds` (then kills it: the test fails on that). */
export function runJob(
  command: string,
  args: string[],
  timeoutSeconds: number,
  opts: { onStart?: (pid: number) => void; env?: Record<string, string> } = {},
): Promise<JobResult> {
  const t0 = performance.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
  opts.onStart?.(child.pid!);
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** mpirun -np N node SCRIPT ARGS (SCRIPT relative to the package root). */
export function mpirun(
  ranks: number,
  script: string,
  args: string[],
  timeoutSeconds: number,
  opts: { extra?: string[]; onStart?: (pid: number) => void } = {},
): Promise<JobResult> {
  return runJob(
    'mpirun',
    [
      ...MPIRUN_FLAGS,
      ...(opts.extra ?? []),
      '-np',
      String(ranks),
      process.execPath,
      join(ROOT, script),
      ...args,
    ],
    timeoutSeconds,
    opts,
  );
}
