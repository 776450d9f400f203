// `alexnet neighbors --model M --index DIR QUERY... [--k 5] [--json]`: for each query image, the
// k images under DIR whose fc7 features are nearest in Euclidean distance (paper Figure 4).
import { Command } from 'commander';
import { extractFeatures, listImages, nearestNeighbors } from '../eval/retrieval.js';
import { loadModel } from '../models/checkpoint.js';
import { progressFor, taskCallback } from '../train/progress.js';
import { usage } from '../util/errors.js';
import { backendFrom, positiveInt, printJson } from './options.js';

interface NeighborsOptions {
  model: string;
  arch?: string;
  index: string;
  k: number;
  layer: string;
  batch: number;
  backend?: string;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerNeighbors(program: Command): void {
  program
    .command('neighbors')
    .description('find the images under --index nearest to each query by fc7 features (Euclidean)')
    .argument('<queries...>', 'query image files')
    .requiredOption('--model <ckpt>', 'model file (.safetensors)')
    .option('--arch <id>', 'network variant, when the file has no alexnet metadata')
    .requiredOption('--index <dir>', 'directory of images to search (recursively)')
    .option('--k <n>', 'neighbours per query', positiveInt, 5)
    .option('--layer <name>', 'layer whose activations are compared', 'fc7')
    .option('--batch <n>', 'images per forward pass', positiveInt, 16)
    .option('--backend <id>', 'ref, native or webgpu (default: native when it loads)')
    .option('--threads <n>', 'kernel threads (default: the number of cores)', positiveInt)
    .option('--json', 'print the results as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (queries: string[], o: NeighborsOptions) => {
      const { net, meta } = loadModel(o.model, { backend: backendFrom(o), arch: o.arch });
      const files = listImages(o.index);
      if (files.length === 0) usage(`--index ${o.index}: no image files found`);
      const progress = progressFor(o);
      const index = await extractFeatures(
        net,
        meta,
        files,
        o.layer,
        o.batch,
        true,
        taskCallback(progress, 'indexing'),
      );
      for (const s of index.skipped) process.stderr.write(`alexnet: skipped ${s.reason}\n`);
      if (index.paths.length === 0)
        usage(`--index ${o.index}: none of the ${files.length} images could be read`);
      const q = await extractFeatures(
        net,
        meta,
        queries,
        o.layer,
        o.batch,
        false,
        taskCallback(progress, 'queries'),
      );
      const d = q.features.size / Math.max(1, queries.length);
      const results = queries.map((query, i) => ({
        query,
        neighbors: nearestNeighbors(
          index.features,
          q.features.data.subarray(i * d, (i + 1) * d),
          o.k,
        ).map((n) => ({ path: index.paths[n.index], distance: n.distance })),
      }));
      if (o.json) {
        printJson({
          layer: o.layer,
          indexed: index.paths.length,
          skipped: index.skipped.length,
          results,
        });
        return;
      }
      for (const r of results) {
        process.stdout.write(`${r.query}\n`);
        r.neighbors.forEach((n, j) =>
          process.stdout.write(`  ${j + 1}. ${n.path}  ${n.distance.toFixed(3)}\n`),
        );
      }
    });
}
