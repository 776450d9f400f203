// WebGPU in Node: the optional `webgpu` npm package (Dawn, its prebuilt binary inside the
// package). Where no GPU driver is installed, the CPU Vulkan driver that `npm run setup:webgpu`
// unpacks into .webgpu/ (Mesa 25's lavapipe) is offered to the Vulkan loader alongside any
// system drivers (VK_ADD_DRIVER_FILES), so a real GPU still wins when there is one. Every
// failure is one line naming what is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  const userChoice = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (userChoice === undefined && existsSync(PROJECT_ICD)) {
    const add = process.env.VK_ADD_DRIVER_FILES;
    process.env.VK_ADD_DRIVER_FILES = add ? `${add}:${PROJECT_ICD}` : PROJECT_ICD;
  }
  return dawn.create([]);
}

/** Opens a WebGPU device through Dawn; throws one line saying why when it cannot. */
export async function openNodeDevice(opts: DeviceOptions = {}): Promise<GpuDevice> {
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
    throw new Error(`the webgpu backend has no adapter (${(e as Error).message}; ${hint})`);
  }
}
