// Backend selection. The native addon is optional at run time: when it cannot load, the
// TypeScript reference kernels run and the user is told once, on stderr, why.

import type { Backend } from './backend.js';
import { nativeBackend, nativeLoadError } from './native/index.js';
import { refBackend } from './ref/index.js';

export type BackendId = 'ref' | 'native';

let fallbackReported = false;

/** undefined → native if it loaded, else ref (one line to stderr per process);
 *  'native' that cannot load → an Error saying why. `threads` (≥ 1) is applied when given. */
export function selectBackend(id: BackendId | undefined, threads?: number): Backend {
  let backend: Backend;
  if (id === 'ref') {
    backend = refBackend;
  } else if (id === 'native') {
    if (!nativeBackend) throw new Error(`the native backend is unavailable: ${nativeLoadError}`);
    backend = nativeBackend;
  } else if (id === undefined) {
    if (nativeBackend) {
      backend = nativeBackend;
    } else {
      if (!fallbackReported) {
        fallbackReported = true;
        process.stderr.write(
          `alexnet: native backend unavailable (${nativeLoadError}); using the ref backend\n`,
        );
      }
      backend = refBackend;
    }
  } else {
    throw new Error(`unknown backend '${String(id)}' (expected 'ref' or 'native')`);
  }
  if (threads !== undefined) {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`threads must be a positive integer, got ${threads}`);
    }
    backend.setThreads(threads);
  }
  return backend;
}
