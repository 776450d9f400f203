// Every backend a kernel test should run against: the reference always, the native addon when it
// loads. On CI (CI=true) the native backend MUST load — a silently skipped addon would let a
// broken fast path pass the suite.

import type { Backend } from '../../src/backend/backend.js';
import type { Isa } from '../../src/backend/native/binding.js';
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

/** One way a backend computes: the ref backend, the native backend on one instruction-set path
 *  (`select` switches the addon to it), or the webgpu backend. */
export interface BackendPath {
  label: string;
  backend: Backend;
  select(): void;
}

/** Every path a whole-network test should run through: ref; native on each ISA this CPU has
 *  (amx, avx512bf16, avx512, avx2, scalar — the addon's setIsa); webgpu where an adapter opens (required on CI,
 *  as test/backend/webgpu does). `close()` restores the ISA and releases the GPU device. */
export async function everyBackendPath(): Promise<{ paths: BackendPath[]; close(): void }> {
  const paths: BackendPath[] = [{ label: 'ref', backend: refBackend, select: () => {} }];
  const { nativeBackend, nativeBinding } = await import('../../src/backend/native/index.js');
  const saved = nativeBinding?.isa();
  for (const b of await backendsUnderTest()) {
    if (b !== nativeBackend || !nativeBinding) continue;
    const order: Isa[] = ['amx', 'avx512bf16', 'avx512', 'avx2', 'scalar'];
    const best = nativeBinding.supportedIsa();
    for (const isa of order.includes(best) ? order.slice(order.indexOf(best)) : [best])
      paths.push({ label: `native[${isa}]`, backend: b, select: () => nativeBinding.setIsa(isa) });
  }
  let destroy = (): void => {};
  try {
    const { openNodeDevice } = await import('../../src/backend/webgpu/node-gpu.js');
    const { webgpuBackend } = await import('../../src/backend/webgpu/index.js');
    const dev = await openNodeDevice();
    destroy = () => dev.destroy();
    paths.push({ label: 'webgpu', backend: webgpuBackend(dev), select: () => {} });
  } catch (e) {
    if (process.env.CI === 'true') throw e;
  }
  return {
    paths,
    close: () => {
      if (saved) nativeBinding!.setIsa(saved);
      destroy();
    },
  };
}
