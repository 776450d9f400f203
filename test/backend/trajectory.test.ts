// Loss trajectories against PyTorch (as llm.c's test_gpt2.c): ten SGD steps of every variant at
// reduced width (convs ÷8, fc ÷32, 67 px, 10 classes, batch 2), from the parameters, batch and
// labels of the whole-network fixtures, with the paper's recipe (momentum 0.9, weight decay 5e-4,
// lr 1e-3, the multipliers the layer specs declare) and dropout on (p = 0.5), through Net, SoftmaxLoss
// and Sgd on every backend path: ref, native on each ISA this CPU has, webgpu where it opens.
// Each of the ten losses must match PyTorch's (float64) to TOLERANCE relative.
//
// Dropout masks: PyTorch cannot reproduce our generator, so tools/golden_trajectory.py draws the
// masks and stores them; the test feeds them to our Dropout layers through the net's generator.
// For p = 0.5 drawMask (src/nn/dropout.ts) takes one mask entry per bit of each nextU32(), low
// bit first, so a generator that returns the stored masks packed 32 to a word makes our Dropout
// draw exactly PyTorch's masks. Fixtures: tools/golden_trajectory.py.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Arch } from '../../src/models/config.js';
import { SoftmaxLoss } from '../../src/nn/loss.js';
import { Sgd } from '../../src/optim/sgd.js';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { everyBackendPath } from '../helpers/backends.js';
import { goldenNet } from '../helpers/golden-nets.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
/** |ours − PyTorch| ≤ TOLERANCE·|PyTorch| for every step's loss. Measured worst: 3.1e-6 (float32
 *  against float64). Each of these breaks every variant on every path, by at least: momentum
 *  0.9 → 0.891, 1.6e-2; the biases' lr multiplier 2 → 1, 2.4e-2; weight decay 5e-4 → 0, 6.6e-5. */
const TOLERANCE = 1e-5;

/** The stored 0/1 masks of `layers` for every step, in the order our net draws them, packed as
 *  drawMask unpacks them: 32 entries per word, low bit first, each mask starting a new word. */
function maskWords(t: Map<string, Tensor>, layers: string[], steps: number): number[] {
  const words: number[] = [];
  for (let s = 0; s < steps; s++)
    for (const layer of layers) {
      const m = t.get(`mask.${layer}.${s}`) ?? assert.fail(`fixture lacks mask.${layer}.${s}`);
      for (let i = 0; i < m.size; i += 32) {
        let w = 0;
        for (let j = Math.min(m.size, i + 32) - 1; j >= i; j--) w = (w << 1) | m.data[j];
        words.push(w >>> 0);
      }
    }
  return words;
}

const { paths, close } = await everyBackendPath();
after(close);

for (const arch of ['alexnet2012', 'caffenet', 'torchvision', 'd2l'] as Arch[]) {
  const { tensors: traj, metadata: tm } = readSafetensors(
    join(FIXTURES, 'trajectory', `${arch}.safetensors`),
  );
  assert.equal(tm.net, `nets/${arch}.safetensors`, 'the trajectory starts from the net golden');
  const want = traj.get('loss')!.data;
  const steps = Number(tm.steps);
  assert.equal(want.length, steps);

  for (const { label, backend, select } of paths) {
    test(`${arch} (÷8, 67 px): ${steps} SGD steps with dropout reproduce PyTorch's losses on ${label}`, async (tc) => {
      select();
      const { net, get } = goldenNet(arch, backend, Number(tm.dropout));
      assert.equal(tm.dropoutMode, 'inverted');
      const words = maskWords(traj, ['drop6', 'drop7'], steps);
      let next = 0;
      net.rng.nextU32 = () => words[next++] ?? assert.fail('the net drew more masks than stored');
      const sgd = new Sgd(net.params, backend, {
        momentum: Number(tm.momentum),
        weightDecay: Number(tm.weightDecay),
        multipliers: tm.multipliers === 'caffe' ? 'caffe' : 'none',
      });
      const lossFn = new SoftmaxLoss(backend);
      const x = get('input');
      const labels = Int32Array.from(get('labels').data);
      const got: number[] = [];
      for (let s = 0; s < steps; s++) {
        // As the trainer does: the whole step is queued before the loss is read.
        lossFn.run(net.forward(x, true), labels, 0, true);
        net.backward(lossFn.dlogits!);
        sgd.step(Number(tm.lr));
        got.push((await lossFn.read()).loss);
      }
      assert.equal(next, words.length, 'every stored mask was used');
      const rel = got.map((g, s) => Math.abs(g - want[s]) / Math.abs(want[s]));
      const worst = Math.max(...rel);
      tc.diagnostic(`max rel error of the ${steps} losses: ${worst.toExponential(2)}`);
      assert.ok(
        rel.every((r) => r <= TOLERANCE),
        `max rel error ${worst.toExponential(2)} > ${TOLERANCE} at step ${rel.indexOf(worst) + 1}:\n` +
          got.map((g, s) => `  step ${s + 1}: ${g} vs PyTorch ${want[s]}`).join('\n'),
      );
    });
  }
}
