// Every backend a kernel test should run against: the reference always, the native addon when it
// loads. On CI (CI=true) the native backend MUST load — a silently skipped addon would let a
// broken fast path pass the suite.

import type { Backend } from '../../src/backend/backend.js';
import { refBackend } from '../../src/backend/ref/index.js';

export async function backendsUnderTest(): Promise<Backend[]> {
  const backends: Backend[] = [refBackend];
  try {
    // A variable specifier keeps this compiling (and loading) before the native binding exists.
    const specifier = '../../src/backend/native/index.js';
    const mod = (await import(specifier)) as { nativeBackend?: Backend };
    if (!mod.nativeBackend) throw new Error('src/backend/native/index.js exports no nativeBackend');
    backends.push(mod.nativeBackend);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (process.env.CI === 'true') {
      throw new Error(`CI=true but the native backend did not load: ${e.message}`);
    }
    // Not built yet is normal on a developer's machine; anything else deserves a word.
    if (e.code !== 'ERR_MODULE_NOT_FOUND') console.warn(`native backend not tested: ${e.message}`);
  }
  return backends;
}
