// A WebGPU device for a test file, or why there is none: the webgpu tests skip, saying why,
// where no adapter opens, but under CI=true (which installs lavapipe) a missing device fails.
import type { GpuDevice } from '../../src/backend/webgpu/device.js';
import { openNodeDevice } from '../../src/backend/webgpu/node-gpu.js';

export async function openTestDevice(): Promise<{ dev: GpuDevice | null; skip: string | false }> {
  try {
    return { dev: await openNodeDevice(), skip: false };
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    return { dev: null, skip: (e as Error).message };
  }
}
