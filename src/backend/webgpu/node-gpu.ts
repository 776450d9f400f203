// WebGPU in Node: the optional `webgpu` npm package (Dawn, its prebuilt binary inside the
// package). Where no GPU driver is installed, the CPU Vulkan driver that `npm run setup:webgpu`
// unpacks into .webgpu/ (Mesa 25's lavapipe) is offered to the Vulkan loader alongside any
// system drivers (VK_ADD_DRIVER_FILES), so a real GPU still wins when there is one. Every
// failure is one line naming what is missing. Dawn and the Vulkan drivers write their own
// warnings to standard error from native code while the device opens (a refused driver, reduced
// limits, an absent XDG_RUNTIME_DIR); that stream is pointed at /dev/null meanwhile (the small
// alexnet_stdio addon: Node has no dup2), so a user sees only our line. ALEXNET_WEBGPU_LOG=1
// keeps Dawn's log.
import { closeSync, existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../native/binding.js';
import { GpuDevice, type DeviceOptions } from './device.js';

/** .webgpu/lvp_icd.json at the package root (this file is dist/src/backend/webgpu/node-gpu.js). */
export const PROJECT_ICD = fileURLToPath(
  new URL('../../../../.webgpu/lvp_icd.json', import.meta.url),
);

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

let gpuPromise: Promise<GPU> | null = null;

async function loadDawn(): Promise<GPU> {
  let dawn: DawnModule;
  try {
    const name = 'webgpu'; // not a literal: the package is optional, tsc must not require it
    dawn = (await import(name)) as DawnModule;
  } catch (e) {
    throw new Error(
      `the webgpu backend needs the optional npm package 'webgpu' (Dawn), which did not load: ` +
        `${(e as Error).message.split('\n')[0]}`,
    );
  }
  // The kernels use the WebGPU constants (GPUBufferUsage, …) as globals, as in a browser.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  offerProjectDriver();
  return dawn.create([]);
}

/** Offers .webgpu/'s driver to the Vulkan loader (once). A worker thread's process.env is its
 *  own copy, which the loader (native getenv) never sees: the main thread calls this before it
 *  starts workers that open WebGPU devices (src/parallel/worker.ts). */
export function offerProjectDriver(): void {
  const userChoice = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  const add = process.env.VK_ADD_DRIVER_FILES;
  if (userChoice !== undefined || !existsSync(PROJECT_ICD)) return;
  if (add?.split(':').includes(PROJECT_ICD)) return;
  process.env.VK_ADD_DRIVER_FILES = add ? `${add}:${PROJECT_ICD}` : PROJECT_ICD;
}

interface StdioBinding {
  stderrTo(fd: number): number;
  stderrRestore(saved: number): void;
}

/** build/Release/alexnet_stdio.node, or null (not built: Dawn's log then stays visible). */
function loadStdio(): StdioBinding | null {
  try {
    const path = join(packageRoot(), 'build', 'Release', 'alexnet_stdio.node');
    return existsSync(path) ? (createRequire(import.meta.url)(path) as StdioBinding) : null;
  } catch {
    return null;
  }
}

/** Runs `f` with native writes to standard error discarded (see the top of this file). */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const stdio = process.env.ALEXNET_WEBGPU_LOG === '1' ? null : loadStdio();
  if (!stdio) return f();
  const devNull = openSync('/dev/null', 'w');
  const saved = stdio.stderrTo(devNull);
  closeSync(devNull);
  try {
    return await f();
  } finally {
    stdio.stderrRestore(saved);
  }
}

/** Opens a WebGPU device through Dawn; throws one line saying why when it cannot. */
export async function openNodeDevice(opts: DeviceOptions = {}): Promise<GpuDevice> {
  return quietly(() => open(opts));
}

async function open(opts: DeviceOptions): Promise<GpuDevice> {
  gpuPromise ??= loadDawn();
  let gpu: GPU;
  try {
    gpu = await gpuPromise;
  } catch (e) {
    gpuPromise = null;
    throw e;
  }
  try {
    return await GpuDevice.open(gpu, opts);
  } catch (e) {
    const chosen = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
    const hint = chosen
      ? `VK_DRIVER_FILES chose the Vulkan drivers: ${chosen}`
      : existsSync(PROJECT_ICD)
        ? `the CPU driver in .webgpu/ did not answer either`
        : `without a GPU, run 'npm run setup:webgpu' for a CPU Vulkan driver`;
    const log =
      process.env.ALEXNET_WEBGPU_LOG === '1' ? '' : "; ALEXNET_WEBGPU_LOG=1 shows Dawn's log";
    throw new Error(`the webgpu backend has no adapter (${(e as Error).message}; ${hint}${log})`);
  }
}
