// Option parsers shared by the commands: each rejects a bad value with a one-line message
// naming the flag (exit code 2).
import { InvalidArgumentError } from 'commander';
import { selectBackend } from '../backend/index.js';
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

/** --backend ref|native and --threads N, as every compute command takes them. */
export function backendFrom(opts: { backend?: string; threads?: number }): Backend {
  if (opts.backend !== undefined && opts.backend !== 'ref' && opts.backend !== 'native') {
    usage(`--backend ${opts.backend}: choose ref or native`);
  }
  try {
    return selectBackend(opts.backend as 'ref' | 'native' | undefined, opts.threads);
  } catch (e) {
    return usage(`--backend ${opts.backend}: ${(e as Error).message}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
