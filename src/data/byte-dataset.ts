// A Dataset over in-memory grayscale byte images (bundled Fashion-MNIST, IDX files): both splits
// share one batch worker; inputs are normalised with the TRAINING split's mean and std.
import { preprocessPreset, type Preprocess } from './presets.js';
import {
  ByteImageSplit,
  byteMeanStd,
  planFor,
  shareBytes,
  type ByteImages,
} from './byte-images.js';
import type { Dataset } from './dataset.js';
import { FillPool } from './fill-pool.js';

export interface ByteDatasetOptions {
  /** Network input side P (the 28×28 images are resized bilinearly to P×P). */
  inputSize: number;
  /** Subtract the training mean and divide by its std (default true); else pixel/255. */
  normalize?: boolean;
  /** Prepare batches on a worker thread (default true). */
  workers?: boolean;
  /** Use these statistics (a model's, at evaluation) instead of the training split's. */
  stats?: { mean: number; std: number };
}

export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export class ByteDataset implements Dataset {
  readonly train: ByteImageSplit;
  readonly test: ByteImageSplit;
  readonly preprocess: Preprocess;
  private readonly pool: FillPool | null;

  constructor(
    readonly id: string,
    readonly classNames: string[],
    train: ByteImages,
    test: ByteImages,
    readonly skipped: { where: string; why: string }[],
    opts: ByteDatasetOptions,
  ) {
    const { mean, std } =
      opts.stats ?? (opts.normalize === false ? { mean: 0, std: 1 } : byteMeanStd(train.images));
    const plan = planFor(opts.inputSize, mean, std);
    let pool: FillPool | null = null;
    if (opts.workers !== false) {
      train = { ...train, images: shareBytes(train.images) };
      test = { ...test, images: shareBytes(test.images) };
      pool = new FillPool();
      pool.register('train', train.images, train.side);
      pool.register('test', test.images, test.side);
    }
    this.pool = pool;
    this.train = new ByteImageSplit(train, plan, pool, 'train');
    this.test = new ByteImageSplit(test, plan, pool, 'test');
    // An image file is made to look like the dataset: gray, 28×28 (then resized to P as in
    // training), light object on black — dark-on-light photos are inverted.
    this.preprocess = preprocessPreset('fashion-mnist', {
      resize: train.side,
      cropSize: train.side,
      mean: [mean],
      std: [std],
    });
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
