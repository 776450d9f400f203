// The committed whole-network goldens (test/fixtures/nets, made by tools/golden_nets.py): each
// variant at reduced width with PyTorch's weights, and its input, logits, loss and gradients.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/backend/backend.js';
import type { Arch } from '../../src/models/config.js';
import type { Net } from '../../src/nn/net.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { scaledNet } from './scaled.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/nets/', import.meta.url));

/** The golden's net on `backend` (with dropout p, default none), with PyTorch's weights loaded,
 *  and the golden's tensors by name ('input', 'logits', 'labels', 'loss', 'grad.<param>'). */
export function goldenNet(
  arch: Arch,
  backend: Backend,
  dropout = 0,
): { net: Net; get: (k: string) => Tensor } {
  const { tensors: t, metadata: m } = readSafetensors(join(FIXTURES, `${arch}.safetensors`));
  const get = (k: string): Tensor => t.get(k) ?? assert.fail(`fixture lacks ${k}`);
  const net = scaledNet(
    arch,
    Number(m.channels),
    Number(m.inputSize),
    Number(m.widthDivisor),
    Number(m.fcDivisor),
    Number(m.classes),
    backend,
    dropout,
  );
  net.loadStateDict(t, `${arch} fixture`);
  return { net, get };
}

/** max |actual − expected| / max |expected|: relative to the reference's largest magnitude. */
export function maxRelError(actual: Float32Array, expected: Float32Array): number {
  let scale = 1e-12;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i] - expected[i]));
  return err / scale;
}
