// Non-temporal stores of a large, written-once GEMM output (native/gemm_bf16.cc STREAM_MIN_BYTES,
// amx_tiles.h): a bfloat16 linear layer's dW at a batch ≤ 256 (one depth slice) whose part is
// above 4 MB goes out around the caches where its rows start on a cache line. The native
// backend allocates large float32 tensors on a cache line for it. Streamed or not, the sums are
// the same: dW into an aligned tensor must equal, bit for bit, dW into a misaligned one (plain
// stores), at every ISA level and thread count, edge column panels included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nativeBackend, nativeBinding, nativeLoadError } from '../../src/backend/native/index.js';
import type { Isa } from '../../src/backend/native/binding.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/util/rng.js';

const required = process.env.CI === 'true';
const skip = !nativeBinding && !required ? `native addon unavailable: ${nativeLoadError}` : false;
const ISA_ORDER: Isa[] = ['scalar', 'avx2', 'avx512', 'avx512bf16', 'amx'];

function rand(len: number, rng: Rng): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

function lineOffset(a: Float32Array): number {
  return (nativeBinding!.lineOffset(a.buffer as ArrayBuffer) + a.byteOffset) % 64;
}

describe('streamed GEMM outputs', { skip }, () => {
  it('the native backend puts large float32 tensors on a cache line', () => {
    const big = nativeBackend!.alloc([1 << 17], 'float32') as Tensor;
    assert.equal(lineOffset(big.data), 0);
    assert.equal(big.data.length, 1 << 17);
    assert.ok(
      big.data.every((v) => v === 0),
      'zero-filled',
    );
    const small = nativeBackend!.alloc([3, 5], 'float32') as Tensor;
    assert.equal(small.data.length, 15);
  });

  it('dW streamed into an aligned tensor equals dW stored into a misaligned one', () => {
    const b = nativeBinding!;
    const before = b.isa();
    const threads = nativeBackend!.getThreads();
    // 1100 × 2064 floats: 9 MB, two parts of 4.5 MB; 2064 = 64·32 + 16, so each row's last
    // panel is 16 columns wide (plain stores) and every other starts on a line
    const [n, d, f] = [32, 2064, 1100];
    const rng = new Rng(3);
    const x = rand(n * d, rng);
    const dy = rand(n * f, rng);
    const w = Tensor.of('bfloat16', [f, d]);
    nativeBackend!.cast({ x: new Tensor([f, d], rand(f * d, rng)), y: w }, {});
    const supported = ISA_ORDER.indexOf(b.supportedIsa());
    try {
      for (const isa of ISA_ORDER.slice(2, supported + 1))
        for (const t of [1, 2]) {
          b.setIsa(isa);
          nativeBackend!.setThreads(t);
          const aligned = (nativeBackend!.alloc([f * d], 'float32') as Tensor).data;
          const misaligned = new Float32Array(f * d + 1).subarray(1);
          assert.equal(lineOffset(aligned), 0);
          assert.notEqual(lineOffset(misaligned) % 64, 0);
          for (const dw of [aligned, misaligned])
            b.kernels.linearBackward!([x, w.data, dy, null, dw, null], { n, d, f });
          const p = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length);
          const q = new Uint32Array(misaligned.buffer, misaligned.byteOffset, misaligned.length);
          for (let i = 0; i < p.length; i++)
            if (p[i] !== q[i])
              assert.fail(`${isa}, ${t} threads: dW[${i}] ${aligned[i]} against ${misaligned[i]}`);
          assert.ok(
            aligned.some((v) => v !== 0),
            `${isa}: dW written`,
          );
        }
    } finally {
      b.setIsa(before);
      nativeBackend!.setThreads(threads);
    }
  });
});
