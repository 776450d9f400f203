// Backend selection. The native addon is optional at run time: when it cannot load, the
// TypeScript reference kernels run and the user is told once, on stderr, why.

import type { Backend } from './backend.js';
import { nativeBackend, nativeLoadError } from './native/index.js';
import { refBackend } from './ref/index.js';

export type BackendId = 'ref' | 'native' | 'webgpu';

let fallbackReported = false;
/** The webgpu backend once openBackend('webgpu') has opened its device (asynchronous). */
let webgpu: Backend | null = null;

/** selectBackend for every id, opening the webgpu device first when asked for (Dawn in Node;
 *  a one-line Error saying why when the package or an adapter is missing). */
export async function openBackend(id: BackendId | undefined, threads?: number): Promise<Backend> {
  if (id === 'webgpu' && !webgpu) {
    const { openNodeDevice } = await import('./webgpu/node-gpu.js');
    const { webgpuBackend } = await import('./webgpu/index.js');
    webgpu = webgpuBackend(await openNodeDevice());
  }
  return selectBackend(id, threads);
}

/** undefined → native if it loaded, else ref (one line to stderr per process);
 *  'native' that cannot load → an Error saying why. `threads` (≥ 1) is applied when given. */
export function selectBackend(id: BackendId | undefined, threads?: number): Backend {
  let backend: Backend;
  if (id === 'ref') {
    backend = refBackend;
  } else if (id === 'native') {
    if (!nativeBackend) throw new Error(`the native backend is unavailable: ${nativeLoadError}`);
    backend = nativeBackend;
  } else if (id === 'webgpu') {
    if (!webgpu)
      throw new Error(`the webgpu backend is not open (await openBackend('webgpu') first)`);
    backend = webgpu;
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
    throw new Error(`unknown backend '${String(id)}' (expected 'ref', 'native' or 'webgpu')`);
  }
  if (threads !== undefined) {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`threads must be a positive integer, got ${threads}`);
    }
    backend.setThreads(threads);
  }
  return backend;
}
