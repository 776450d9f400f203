// Runs the built CLI on a hostile input as a user would, and judges the outcome by the CLI's
// contract: exit code 2, one line on stderr that names the file or flag, no stack trace, no hang,
// a bounded peak memory, and no output (or temporary) file left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

const PROBE = join(ROOT, 'dist', 'test', 'hostile', 'rss-probe.js');
const probeDir = mkdtempSync(join(tmpdir(), 'alexnet-rss-'));
let runs = 0;

export interface Outcome {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB, or NaN when the process died without exiting. */
  peakMiB: number;
  timedOut: boolean;
}

export function runHostile(args: string[], timeoutMs = 30_000): Promise<Outcome> {
  const rssFile = join(probeDir, `rss-${runs++}`);
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      ['--import', PROBE, join(ROOT, 'bin', 'alexnet.js'), ...args],
      {
        env: { ...process.env, ALEXNET_RSS_FILE: rssFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const kib = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN;
      done({ status, signal, stdout, stderr, peakMiB: kib / 1024, timedOut });
    });
  });
}

export interface Expectation {
  /** What the one line must contain: the file's path (or the flag). */
  names: string;
  /** A second string the message must contain (an ONNX node's name, say). */
  alsoNames?: string;
  /** A pattern the message must match (the reason). */
  says?: RegExp;
  /** Peak memory bound in MiB. */
  maxMiB: number;
  /** Output paths that must not exist afterwards (nor their temporary files). */
  outputs?: string[];
}

/** Every way the outcome breaks the contract, empty when it is clean. */
export function judge(o: Outcome, e: Expectation): string[] {
  const why: string[] = [];
  if (o.timedOut) why.push('hung (killed after the timeout)');
  if (o.signal) why.push(`died of ${o.signal}`);
  if (o.status !== 2) why.push(`exit code ${o.status}, not 2`);
  const lines = o.stderr.trimEnd().split('\n');
  if (lines.length !== 1) why.push(`${lines.length} lines on stderr`);
  const line = lines[0] ?? '';
  if (!line.startsWith('alexnet: ')) why.push(`stderr does not start with "alexnet: "`);
  if (/internal error|\n\s+at |Error:/.test(o.stderr)) why.push('a stack trace or raw error');
  if (!line.includes(e.names)) why.push(`the message does not name ${e.names}`);
  if (e.alsoNames && !line.includes(e.alsoNames))
    why.push(`the message does not name ${e.alsoNames}`);
  if (e.says && !e.says.test(line)) why.push(`the message does not say ${e.says}`);
  if (!(o.peakMiB <= e.maxMiB))
    why.push(`peak memory ${o.peakMiB.toFixed(0)} MiB > ${e.maxMiB} MiB`);
  for (const out of e.outputs ?? []) {
    if (existsSync(out)) why.push(`${out} was written`);
    const tmp = `.${basename(out)}.`;
    if (existsSync(dirname(out)) && readdirSync(dirname(out)).some((n) => n.startsWith(tmp)))
      why.push(`a temporary file of ${out} was left`);
  }
  if (why.length) why.push(`stderr: ${o.stderr.slice(0, 300)}`);
  return why;
}
