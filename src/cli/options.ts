// Option parsers shared by the commands: each rejects a bad value with a one-line message
// naming the flag (exit code 2).
import { InvalidArgumentError, Option } from 'commander';
import { openBackend, selectBackend, type BackendId } from '../backend/index.js';
import type { Backend } from '../backend/backend.js';
import type { z } from 'zod';
import { PRECISIONS, type Precision } from '../nn/precision.js';
import { usage } from '../util/errors.js';
import { issueText, valueAt } from '../util/zod-message.js';

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
  let backend: Backend;
  try {
    backend = selectBackend(opts.backend as BackendId | undefined);
  } catch (e) {
    return usage(`--backend ${opts.backend}: ${(e as Error).message}`);
  }
  if (opts.threads !== undefined) {
    try {
      backend.setThreads(opts.threads);
    } catch (e) {
      // the addon's own words, e.g. "threads must be at most 256"
      usage(`--threads ${opts.threads}: ${(e as Error).message.replace(/^.*?: /, '')}`);
    }
  }
  return backend;
}

/** --precision fp32|bf16 (src/nn/precision.ts), with `dflt` as its default where given; commander
 *  refuses any other value in one line naming the flag (exit 2). */
export function precisionOption(dflt?: Precision): Option {
  const o = new Option(
    '--precision <p>',
    'fp32, or bf16: conv/linear inputs in bfloat16, float32 accumulation (mixed precision)',
  ).choices(PRECISIONS);
  return dflt ? o.default(dflt) : o;
}

/** `input` parsed by `schema`, or a one-line error naming the flag behind the first bad value
 *  (flagFor maps the value's path in the object to its flag) — never zod's dump. */
export function parseFlags<T>(
  schema: z.ZodType<T>,
  input: unknown,
  flagFor: (path: readonly PropertyKey[]) => string,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const value = valueAt(input, issue.path);
  return usage(
    `${flagFor(issue.path)}${value === undefined ? '' : ` ${String(value)}`}: ${issueText(issue)}`,
  );
}

/** The flag of a camel-cased option name: stepSize → --step-size. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
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
