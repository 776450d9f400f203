// torchvision-exact photo preprocessing for imported torchvision weights: PIL's antialiased
// bilinear Resize(256), CenterCrop(224), ToTensor, Normalize — checked bit for bit on PIL's own
// resize of a pattern, on the prepared pixels of real JPEG photos (scikit-image's samples) and on
// the logits of a reduced-width torchvision AlexNet against PyTorch's. Fixtures:
// tools/golden_photos.py (test/fixtures/photos/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageToInput, preprocessPreset, readNpy, Tensor, type DecodedImage } from 'alexnet-ts';
import { resizePilBilinear, torchvisionCropOffset } from '../../src/data/pil-resize.js';
import { readTorchFile, stateDictTensors } from '../../src/interop/torch-file.js';
import { mapTorchvisionKeys } from '../../src/interop/torchvision.js';
import { tinyConfig, tinyNet } from '../interop/tiny.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'photos');
const crops = JSON.parse(readFileSync(join(FIX, 'crops.json'), 'utf8')) as Record<
  string,
  { size: [number, number]; sha256: string; sum: number }
>;
const NAMES = Object.keys(crops).sort();
const TV = preprocessPreset('torchvision');

test("PIL's bilinear resize, bit for bit: downscale, upscale, and both at once", () => {
  const files = readdirSync(FIX).filter((f) => f.startsWith('pil_'));
  assert.equal(files.length, 3);
  for (const f of files) {
    const [, w, h, ow, oh] = f.match(/pil_(\d+)x(\d+)_to_(\d+)x(\d+)/)!.map(Number);
    const src = new Uint8Array(w * h * 3);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7919 + Math.floor(i / 3) * 31) % 256;
    const want = readNpy(join(FIX, f));
    const got = resizePilBilinear(src, w, h, 3, ow, oh);
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want.data[i]));
    assert.equal(diff, 0, `${f}: max difference ${diff}`);
  }
});

test("CenterCrop's offset rounds half to even, as Python's round", () => {
  assert.deepEqual(
    [256, 257, 259, 384, 385, 351].map((s) => torchvisionCropOffset(s, 224)),
    [16, 16, 18, 80, 80, 64],
  );
});

/** The [224, 224, 3] uint8 crop behind a prepared input x: [3, 224, 224] (undoing Normalize). */
function cropBytes(x: Float32Array): Buffer {
  const out = Buffer.alloc(224 * 224 * 3);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < 224 * 224; i++)
      out[i * 3 + c] = Math.round((x[c * 224 * 224 + i] * TV.std[c] + TV.mean[c]) * 255);
  return out;
}

test('real JPEG photos prepare to exactly the pixels torchvision + PIL give', async () => {
  for (const name of NAMES) {
    const x = await imageToInput(join(FIX, `${name}.jpg`), TV, 224);
    const bytes = cropBytes(x);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), crops[name].sha256, name);
  }
});

test('encoded bytes and decoded pixels prepare exactly as the file does', async () => {
  const path = join(FIX, 'chelsea.jpg');
  const fromFile = await imageToInput(path, TV, 224);
  const fromBytes = await imageToInput(readFileSync(path), TV, 224);
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const pixels: DecodedImage = {
    data: new Uint8Array(data),
    width: info.width,
    height: info.height,
    channels: info.channels as 3,
  };
  const fromPixels = await imageToInput(pixels, TV, 224);
  assert.deepEqual(fromBytes, fromFile);
  assert.deepEqual(fromPixels, fromFile);
});

test("a torchvision AlexNet's logits on the photos match PyTorch's within 1% of the largest", async () => {
  const file = join(ROOT, 'test', 'fixtures', 'interop', 'tv_tiny.pth');
  const net = tinyNet(tinyConfig('torchvision'));
  net.loadStateDict(mapTorchvisionKeys(stateDictTensors(readTorchFile(file), file), file), file);
  const x = new Tensor([NAMES.length, 3, 224, 224]);
  for (const [i, name] of NAMES.entries())
    x.data.set(await imageToInput(join(FIX, `${name}.jpg`), TV, 224), i * 3 * 224 * 224);
  const got = (await net.backend.download(net.forward(x, false))).data;
  const want = readNpy(join(FIX, 'tv_tiny_logits.npy')).data;
  for (const [i, name] of NAMES.entries()) {
    const row = (a: Float32Array): Float32Array => a.subarray(i * 10, (i + 1) * 10);
    const scale = Math.max(...row(want).map(Math.abs));
    const err = Math.max(...row(got).map((v, j) => Math.abs(v - row(want)[j]))) / scale;
    console.log(`# ${name}: max logit error ${err.toExponential(2)} of the largest`);
    assert.ok(err < 0.01, `${name}: ${err}`);
  }
});
