// Every input file the program reads goes through readInputFile: it opens the path without
// blocking (a FIFO with no writer would otherwise hang the open forever), asks the open
// descriptor what it is (fstat: no race between the check and the read), accepts regular files
// only (/dev/zero or /dev/urandom would be read without end) and reads exactly the size fstat
// gave, refusing before allocating when that size is over the caller's bound.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { usage } from './errors.js';

/** The largest file any reader accepts: 2 GiB (a torchvision AlexNet is 233 MiB). */
export const MAX_INPUT_BYTES = 2 ** 31;

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a plain file';
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  return `${n.toLocaleString('en-US')} bytes`;
}

/** The whole content of the regular file at `path`, or a one-line UsageError naming it. */
export function readInputFile(path: string, maxBytes = MAX_INPUT_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return usage(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) usage(`${path}: not a regular file (${kindOf(st)}); give a file`);
    if (st.size > maxBytes)
      usage(`${path}: ${formatBytes(st.size)} is over the ${formatBytes(maxBytes)} input bound`);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break; // the file shrank while being read
      off += n;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } catch (e) {
    if ((e as Error).name === 'UsageError') throw e;
    return usage(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    closeSync(fd);
  }
}

/** Text content of a regular file (UTF-8), with readInputFile's checks. */
export function readInputText(path: string, maxBytes = MAX_INPUT_BYTES): string {
  return readInputFile(path, maxBytes).toString('utf8');
}
