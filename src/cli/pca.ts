// `alexnet pca`: the RGB covariance's eigenvectors and eigenvalues over an ImageFolder's training
// set (paper §4.1), written as JSON for `train --data DIR` (which otherwise computes them itself).
import { Command, InvalidArgumentError } from 'commander';
import { openImageFolder } from '../data/imagefolder.js';
import { writePca } from '../data/pca.js';
import { progressFor, taskCallback } from '../train/progress.js';
import { nonNegativeInt, printJson } from './options.js';

interface PcaOptions {
  data: string;
  output: string;
  valFraction: number;
  seed: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerPca(program: Command): void {
  program
    .command('pca')
    .description(
      'compute the PCA of RGB pixel values over an ImageFolder training set (for colour noise)',
    )
    .requiredOption(
      '--data <dir>',
      'ImageFolder root: DIR/train/<class>/… (+ DIR/val/…) or DIR/<class>/…',
    )
    .requiredOption('--output <pca.json>', 'where to write the eigenvalues and eigenvectors')
    .option(
      '--val-fraction <x>',
      'for a single tree: fraction held out (as train uses)',
      parseFraction,
      0.1,
    )
    .option('--seed <n>', 'seed of the train/val split of a single tree', nonNegativeInt, 0)
    .option('--json', 'print the statistics as one JSON object')
    .option('--quiet', 'no progress on stderr')
    .action(async (o: PcaOptions) => {
      const ds = await openImageFolder(o.data, {
        inputSize: 224,
        valFraction: o.valFraction,
        seed: o.seed,
        workers: 0,
        onCache: taskCallback(progressFor(o), 'caching images'),
      });
      try {
        const pca = ds.stats.pca;
        writePca(o.output, pca);
        if (o.json) {
          printJson({
            output: o.output,
            images: ds.stats.images,
            skipped: ds.skipped.length,
            ...pca,
          });
        } else {
          const f = (x: number): string => x.toFixed(6);
          process.stdout.write(
            `${ds.stats.images} training images (${ds.skipped.length} skipped), ${pca.pixels} pixels\n` +
              pca.eigenvectors
                .map(
                  (p, i) =>
                    `λ${i + 1} = ${f(pca.eigenvalues[i])}  p${i + 1} = [${p.map(f).join(', ')}]`,
                )
                .join('\n') +
              `\nwritten to ${o.output}\n`,
          );
        }
      } finally {
        await ds.close();
      }
    });
}

function parseFraction(value: string): number {
  const x = Number(value);
  if (!(x >= 0 && x < 1)) throw new InvalidArgumentError('must be in [0, 1)');
  return x;
}
