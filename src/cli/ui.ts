// `alexnet ui RUN_DIR [--port N]`: the training dashboard for a finished run, from its files —
// OUT/dashboard.json when the run was trained with --ui, else its metrics.jsonl and conv1's
// kernels from its model file. Serves on 127.0.0.1 until interrupted.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { refBackend } from '../backend/ref/index.js';
import { loadModel } from '../models/checkpoint.js';
import { readRun } from '../show/curves.js';
import { filtersSvg } from '../show/filters.js';
import { firstConvWeights, towersOf } from '../show/net-access.js';
import { Dashboard, type DashboardState } from '../ui/dashboard.js';
import { usage } from '../util/errors.js';
import { nonNegativeInt } from './options.js';

async function stateOf(dir: string): Promise<Partial<DashboardState>> {
  const saved = join(dir, 'dashboard.json');
  if (existsSync(saved)) {
    try {
      return { ...(JSON.parse(readFileSync(saved, 'utf8')) as DashboardState), status: 'finished' };
    } catch {
      usage(`${saved}: not a dashboard state (JSON)`);
    }
  }
  const run = readRun(dir);
  const model = join(dir, 'model.safetensors');
  let filters: string | null = null;
  if (existsSync(model)) {
    const { net, meta } = loadModel(model, { backend: refBackend });
    filters = await filtersSvg(firstConvWeights(net), {
      towers: towersOf(net),
      colorOrder: meta.preprocess?.colorOrder,
    });
  }
  return { status: 'finished', epochs: run.history, filters };
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the training dashboard of a finished run on 127.0.0.1')
    .argument('<run-dir>', 'a training output directory (metrics.jsonl, model.safetensors)')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', nonNegativeInt, 8765)
    .action(async (dir: string, o: { port: number }) => {
      const dash = new Dashboard(`alexnet: ${dir}`, null, await stateOf(dir));
      const url = await dash.listen(o.port);
      process.stderr.write(`dashboard: ${url} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dash.close();
    });
}
