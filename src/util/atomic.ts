// Atomic writes: a checkpoint or output is written to a temporary file beside its target and
// renamed over it, so an interrupted write never leaves a half-written file under the real name.
// A write that fails (no such directory, no permission, a directory in the way, disk full) is
// one line naming the file, and leaves neither the temporary file nor a changed target behind.
// A process killed mid-write leaves its `.NAME.<pid>.tmp` behind; the next write of NAME removes
// those of processes that no longer exist.
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, usage } from './errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EEXIST: 'a file is in the way',
};

/** "CODE: what it means" for a failed file operation. */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code) return (e as Error).message ?? String(e);
  return REASONS[code] ? `${code}: ${REASONS[code]}` : code;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

export function writeFileAtomic(path: string, chunks: Uint8Array | Uint8Array[]): void {
  const parts = Array.isArray(chunks) ? chunks : [chunks];
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    /* absent: the usual case */
  }
  if (isDir) usage(`${path}: cannot write (it is a directory; give a file name)`);
  removeStaleTemps(path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    return usage(`${path}: cannot write (${reason(e)})`);
  }
  try {
    for (const part of parts) {
      let off = 0;
      while (off < part.length) off += writeSync(fd, part, off, part.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    removeQuietly(tmp);
    if (e instanceof UsageError) throw e;
    usage(`${path}: cannot write (${reason(e)})`);
  }
}

/** Refuses, before any work that would end by writing into `dir` (a training run learned of an
 *  unwritable --out only after an epoch), a `dir` that is a file, lies under a file, or cannot be
 *  written or created; creates nothing. `flag` names it in the one-line error. */
export function checkWritableDir(dir: string, flag: string): void {
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(at) !== at) {
        at = dirname(at); // not there yet: its nearest existing ancestor must take it
        continue;
      }
      return usage(`${flag} ${dir}: cannot write there (${reason(e)})`);
    }
    if (!isDir)
      usage(
        at === resolve(dir)
          ? `${flag} ${dir}: not a directory (a file is in the way)`
          : `${flag} ${dir}: ${at} is a file, not a directory`,
      );
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
      // access() says yes to root everywhere: a real (empty, removed) directory proves it, and
      // finds the file systems that take no new entries (/proc, /sys: where Node's recursive
      // mkdir would loop forever).
      rmdirSync(mkdtempSync(join(at, '.alexnet-probe-')));
    } catch (e) {
      usage(`${flag} ${dir}: cannot write into ${at} (${reason(e)})`);
    }
    return;
  }
}

/** mkdir -p `dir`, or a one-line error naming it. */
export function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    usage(`${dir}: cannot create the directory (${reason(e)})`);
  }
}

/** Removes `.NAME.<pid>.tmp` files beside `path` whose writer process is gone. */
export function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // the write itself will report a missing directory
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length, -'.tmp'.length));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      /* another process removed it first */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
