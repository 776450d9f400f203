// sharp, the image library, loaded when the first image is decoded or rendered rather than when
// a module that uses it is imported (util/lazy-require.ts says why).
import type sharpLib from 'sharp';
import type { Sharp, SharpInput, SharpOptions } from 'sharp';
import { lazyRequire } from '../util/lazy-require.js';

const load = lazyRequire<typeof sharpLib>('sharp');

/** sharp(input, options): a pipeline over the image, as the package's own call. */
export function sharp(input?: SharpInput, options?: SharpOptions): Sharp {
  return load()(input, options);
}
