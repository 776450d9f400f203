// A run's output directory: the files a run writes there, and the refusal to start a new run over
// one that is there already (a finished run is not silently overwritten).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { usage } from '../util/errors.js';

export const MODEL = 'model.safetensors';
export const BEST_MODEL = 'model-best.safetensors';
export const CHECKPOINT = 'checkpoint.safetensors';
export const METRICS = 'metrics.jsonl';
export const RUN_FILES = [MODEL, BEST_MODEL, CHECKPOINT, METRICS, 'curves.svg', 'curves.png'];

/** The run files in `dir` (none when the directory is new or holds something else). */
export function runFilesIn(dir: string): string[] {
  return RUN_FILES.filter((f) => existsSync(join(dir, f)));
}

/** How the refusal names the ways on, given the run's checkpoint (a CLI names its flags). */
export type WaysOn = (checkpoint: string) => string;
const LIBRARY_WAYS: WaysOn = (ckpt) =>
  `continue it by resuming from ${ckpt}, replace it by forcing, or choose another directory`;

/** Before a fresh run into `dir`: refuses when a run is there, unless `force` — then its files
 *  are removed, so nothing of the old run (e.g. its best model) survives beside the new one. */
export function claimRunDir(dir: string, force: boolean, ways: WaysOn = LIBRARY_WAYS): void {
  const found = runFilesIn(dir);
  if (found.length === 0) return;
  if (!force)
    usage(
      `run directory ${dir} holds a run already (${found.join(', ')}): ${ways(join(dir, CHECKPOINT))}`,
      'out',
    );
  for (const f of found) rmSync(join(dir, f), { force: true });
}
