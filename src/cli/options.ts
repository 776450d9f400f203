// Option parsers shared by the commands: each rejects a bad value with a one-line message
// naming the flag (exit code 2).
import { InvalidArgumentError } from 'commander';
import { openBackend, selectBackend, type BackendId } from '../backend/index.js';
import type { Backend } from '../backend/backend.js';
import { usage } from '../util/errors.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

const BACKENDS = ['ref', 'native', 'webgpu'];

/** --backend ref|native|webgpu and --threads N, as every compute command takes them (webgpu's
 *  device is opened before the command runs: see prepareBackend). */
export function backendFrom(opts: { backend?: string; threads?: number }): Backend {
  if (opts.backend !== undefined && !BACKENDS.includes(opts.backend)) {
    usage(`--backend ${opts.backend}: choose ref, native or webgpu`);
  }
  try {
    return selectBackend(opts.backend as BackendId | undefined, opts.threads);
  } catch (e) {
    return usage(`--backend ${opts.backend}: ${(e as Error).message}`);
  }
}

/** Opening a WebGPU device is asynchronous and the commands pick their backend synchronously, so
 *  `--backend webgpu` (or `--backend=webgpu`) opens it before the command line is parsed; a
 *  missing package or adapter is the usual one-line error (exit 2). */
export async function prepareBackend(argv: readonly string[]): Promise<void> {
  const i = argv.indexOf('--backend');
  if (argv[i + 1] !== 'webgpu' && !argv.includes('--backend=webgpu')) return;
  try {
    await openBackend('webgpu');
  } catch (e) {
    usage(`--backend webgpu: ${(e as Error).message}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
