// Image files in: read as regular files (util/input-file.ts), then decoded by sharp within two
// bounds that are checked on the header, before any pixel is decoded —
//   the image itself: at most MAX_IMAGE_PIXELS (sharp's limitInputPixels backs this up);
//   its resize: a 60000×1 PNG of 115 bytes, its shorter side scaled to 256, would be 15,360,000
//   × 256 pixels (11 GB), so the resized image may hold at most MAX_RESIZED_PIXELS.
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { sharp } from './sharp.js';
import { usage } from '../util/errors.js';
import { readInputFile } from '../util/input-file.js';

/** 2^26 pixels (8192×8192, 201 MB as RGB bytes): more than any photo a classifier needs. */
export const MAX_IMAGE_PIXELS = 2 ** 26;
/** 2^24 pixels (4096×4096) after the shorter side is resized: aspect ratios up to 256:1 at 256. */
export const MAX_RESIZED_PIXELS = 2 ** 24;
/** Image files over 256 MiB are refused unread. */
const MAX_IMAGE_BYTES = 2 ** 28;

export interface ImageFile {
  path: string;
  bytes: Buffer;
  /** Stored width and height, and those after EXIF orientation. */
  width: number;
  height: number;
  orientedWidth: number;
  orientedHeight: number;
}

/** A new sharp pipeline over the file's bytes, with the pixel bound as its limit. */
export function decoder(img: ImageFile, opts: SharpOptions = {}): Sharp {
  return sharp(img.bytes, { limitInputPixels: MAX_IMAGE_PIXELS, ...opts });
}

/** Reads an image file and its header; a file that is no image, or too large, is a UsageError
 *  naming it. */
export async function openImage(path: string): Promise<ImageFile> {
  return imageFromBytes(readInputFile(path, MAX_IMAGE_BYTES), path);
}

/** The same checks for an encoded image already in memory; `path` is what messages call it. */
export async function imageFromBytes(bytes: Buffer, path: string): Promise<ImageFile> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    return usage(`${path}: cannot read image (${String((e as Error).message).split('\n')[0]})`);
  }
  const { width, height } = meta;
  if (!width || !height) usage(`${path}: cannot read image (no dimensions)`);
  if (width * height > MAX_IMAGE_PIXELS)
    usage(
      `${path}: a ${width}×${height} image is over the ${MAX_IMAGE_PIXELS.toLocaleString('en-US')}-pixel bound`,
    );
  return {
    path,
    bytes,
    width,
    height,
    orientedWidth: meta.autoOrient?.width ?? width,
    orientedHeight: meta.autoOrient?.height ?? height,
  };
}

/** Refuses a resize of a w×h image whose shorter side becomes `shorter` when the result would
 *  hold more than MAX_RESIZED_PIXELS. */
export function checkResize(img: ImageFile, w: number, h: number, shorter: number): void {
  const scale = shorter / Math.min(w, h);
  const rw = Math.max(shorter, Math.round(w * scale));
  const rh = Math.max(shorter, Math.round(h * scale));
  if (rw * rh > MAX_RESIZED_PIXELS)
    usage(
      `${img.path}: a ${w}×${h} image resized to ${rw}×${rh} would be over the ${MAX_RESIZED_PIXELS.toLocaleString('en-US')}-pixel bound (its sides differ too much)`,
    );
}
