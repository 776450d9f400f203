// Packed, cache-blocked SGEMM in the BLIS style.
//
// Loops (per thread, on its own part of C): jc over N in NC-column blocks, pc over K in KC-deep
// slices (the packed KC×NC B block stays in L2), ic over MC rows of A, then ir over A
// micro-panels (one KC×MR micro-panel stays in L1) and jr over B micro-panels (streamed from L2).
// Operands are packed into zero-padded micro-panels (gemm_pack.h), so the micro-kernel
// (gemm_kernels.h) always runs a full MR×NR register tile with unit-stride loads; edge tiles
// go through a small scratch tile. Few rows times a transposed matrix go to the GEMV (gemv.h).
#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "buffer.h"
#include "gemm_kernels.h"
#include "gemm_pack.h"
#include "gemv.h"
#include "isa.h"
#include "relu.h"
#include "simd.h"
#include "threadpool.h"

namespace anative {
namespace {

// Per-thread packing buffers: each thread runs a whole serial GEMM on its part of C.
thread_local Buffer tPackA, tPackB, tWide;

// KC: depth slice; a 14×256 A micro-panel (14 KB) stays in L1 through the jr loop.
// NC: a packed 256×512 B block (512 KB) stays in the 1 MB L2 and streams through the kernel.
// MC: rows of A packed at a time (only bounds the buffer; each micro-panel is used from L1).
constexpr long KC = 256;
constexpr long NC = 512;
constexpr long MC_PANELS = 16;

// C[i0:i1, j0:j1] of the product, serially. Rows ≥ i1 and columns ≥ j1 are zero-padded in the
// packed panels and never written.
// prepackedA: all of A (packedM rows) already packed by packWholeA, or null; then i0 is a
// multiple of MR.
void gemmPart(const KernelSpec& ks, bool transA, bool transB, long i0, long i1, long j0, long j1,
              long K, const float* A, long lda, const float* B, long ldb, bool accumulate, float* C,
              long ldc, const float* prepackedA = nullptr, const BPanelSource* srcB = nullptr,
              const float* rowBias = nullptr, bool relu = false, long packedM = 0) {
  const int mr = ks.mr, nr = ks.nr;
  float* bufA = prepackedA ? nullptr : tPackA.get(static_cast<size_t>(MC_PANELS) * mr * KC);
  float* bufB = tPackB.get(static_cast<size_t>((NC + nr - 1) / nr) * nr * KC);
  const long mPanelsAll = ((packedM > 0 ? packedM : i1) + mr - 1) / mr;
  // Column blocks of equal width (≤ NC, whole micro-panels), so that N = 539 does not leave a
  // 27-column block that repacks all of A for one panel.
  const long nBlocks = (j1 - j0 + NC - 1) / NC;
  const long ncStep = ((j1 - j0 + nBlocks - 1) / nBlocks + nr - 1) / nr * nr;
  for (long jc = j0; jc < j1; jc += ncStep) {
    const long nc = std::min(ncStep, j1 - jc);
    const long nPanels = (nc + nr - 1) / nr;
    for (long pc = 0; pc < K; pc += KC) {
      const long kc = std::min(KC, K - pc);
      const bool acc = pc > 0 || accumulate;
      const bool last = pc + kc >= K;  // the epilogue goes with the last depth slice
      if (!srcB && !transB) {
        packBRows(B, ldb, j1, jc, nc, pc, kc, nr, bufB);
      } else {
        for (long p = 0; p < nPanels; p++) {
          if (srcB)
            srcB->pack(jc + p * nr, std::min<long>(nr, j1 - jc - p * nr), pc, kc,
                       bufB + p * nr * kc);
          else
            packB(transB, B, ldb, j1, jc + p * nr, pc, kc, nr, bufB + p * nr * kc, ks.avx512);
        }
      }
      for (long ic = i0; ic < i1; ic += MC_PANELS * mr) {
        const long mPanels = std::min<long>(MC_PANELS, (i1 - ic + mr - 1) / mr);
        const float* blockA;
        if (prepackedA) {
          blockA = prepackedA + pc * mPanelsAll * mr + (ic / mr) * mr * kc;
        } else {
          for (long q = 0; q < mPanels; q++)
            packA(transA, A, lda, i1, ic + q * mr, pc, kc, mr, bufA + q * mr * kc, ks.avx512);
          blockA = bufA;
        }
        for (long q = 0; q < mPanels; q++) {
          const float* ap = blockA + q * mr * kc;
          const long i = ic + q * mr;
          const long rows = std::min<long>(mr, i1 - i);
          const float* bias = nullptr;
          alignas(64) float biasTile[16] = {};
          if (last && rowBias) {
            if (rows == mr) {
              bias = rowBias + i;
            } else {  // the panel's rows past i1 read zeros, not past the end of the bias
              for (long r = 0; r < rows; r++) biasTile[r] = rowBias[i + r];
              bias = biasTile;
            }
          }
          const bool rl = last && relu;
          for (long p = 0; p < nPanels; p++) {
            const float* bp = bufB + p * nr * kc;
            const long j = jc + p * nr;
            const long cols = std::min<long>(nr, j1 - j);
            kernelTile(ks, kc, ap, bp, C + i * ldc + j, ldc, rows, cols, acc, bias, rl);
          }
        }
      }
    }
  }
}

// ---- tall and skinny: many rows of A, few columns of B (fc layers, transposed, batch ≤ 64) ----
// yᵀ[F, N] = w[F, D]·xᵀ streams all of w (fc6: 151 MB) once per call. gemmPart's loop order —
// depth slices outside row blocks — reads w in 1 KB pieces scattered over every row, which the
// prefetchers follow badly (fc6 at batch 32: ~9 GB/s, 16 ms). Here all of B (K × ≤ 64 floats,
// ≤ 2.4 MB) is packed once, and each task carries 14-row panels of A through the whole depth:
// 14 sequential streams of w, with C's tile accumulated across the depth slices. On AVX-512 with
// whole 32-column panels (batch 32, 64) the micro-kernel reads w in place, unpacked
// (kernelAvx512RowsA): packing it, one use per element, was a third of fc6's time.
constexpr long TALL_MAX_N = 64;
constexpr long TALL_PANELS_PER_TASK = 2;

// op(B) [K, N] packed whole: depth slice s at bufB + s·nPanels·nr·KC, panel p at p·nr·kc inside
// it; over the pool, serially inside a pool task.
float* packWholeB(const KernelSpec& ks, bool transB, const float* B, long ldb, long N, long K) {
  const int nr = ks.nr;
  const long nPanels = (N + nr - 1) / nr, slices = (K + KC - 1) / KC;
  const long sliceStride = nPanels * nr * KC;
  float* bufB = tPackB.get(static_cast<size_t>(std::max(1L, slices * sliceStride)));
  parallelFor(static_cast<int>(slices * nPanels), [&](int t, int) {
    const long s = t / nPanels, p = t % nPanels, pc = s * KC, kc = std::min(KC, K - pc);
    packB(transB, B, ldb, N, p * nr, pc, kc, nr, bufB + s * sliceStride + p * nr * kc, ks.avx512);
  });
  return bufB;
}

// Rows [0, rows) of a bfloat16 A (row stride lda, at the slice's first depth) over depth [0, kc)
// as float32 rows of stride KC in dst, with the same rows of the next slice (`next`, or null)
// prefetched: tall-skinny's A read as it goes (sgemmTallSkinnyBf16A).
ANATIVE_INLINE void widenSliceBody(const uint16_t* A, long lda, long rows, long kc,
                                   const uint16_t* next, float* dst) {
  for (long r = 0; r < rows; r++) {
    if (next)
      for (long k = 0; k < KC; k += 32) __builtin_prefetch(next + r * lda + k);
    const uint16_t* src = A + r * lda;
    uint32_t* d = reinterpret_cast<uint32_t*>(dst + r * KC);
    for (long k = 0; k < kc; k++) d[k] = static_cast<uint32_t>(src[k]) << 16;
  }
}
ANATIVE_MULTIVERSION(widenSlice,
                     (const uint16_t* A, long lda, long rows, long kc, const uint16_t* next,
                      float* dst),
                     (A, lda, rows, kc, next, dst))

// A float32 (read in place) or bfloat16 (each panel's slice widened first, into rows of stride
// KC: then the same kernels on the same values, the same sums).
template <class TA>
void gemmTallSkinny(const KernelSpec& ks, bool transB, long M, long N, long K, const TA* A,
                    long lda, const float* B, long ldb, bool accumulate, float* C, long ldc) {
  constexpr bool wide = sizeof(TA) == 2;
  const int mr = ks.mr, nr = ks.nr;
  const long nPanels = (N + nr - 1) / nr, slices = (K + KC - 1) / KC;
  const long sliceStride = nPanels * nr * KC;  // floats per packed depth slice of B
  const float* bufB = packWholeB(ks, transB, B, ldb, N, K);
  const long mPanels = (M + mr - 1) / mr;
  const long tasks = (mPanels + TALL_PANELS_PER_TASK - 1) / TALL_PANELS_PER_TASK;
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    float* ap = tPackA.get(static_cast<size_t>(mr) * KC);
    float* widened = wide ? tWide.get(static_cast<size_t>(mr) * KC) : nullptr;
    const long q1 = std::min(mPanels, (t + 1) * TALL_PANELS_PER_TASK);
    for (long q = t * TALL_PANELS_PER_TASK; q < q1; q++) {
      const long i = q * mr, rows = std::min<long>(mr, M - i);
      for (long s = 0; s < slices; s++) {
        const long pc = s * KC, kc = std::min(KC, K - pc);
        // what to prefetch meanwhile: this panel's next slice, or the next panel's first
        const TA* next = s + 1 < slices    ? A + i * lda + pc + KC
                         : q + 1 < mPanels ? A + (i + mr) * lda
                                           : nullptr;
        // this slice of the panel's rows: A's in place, or widened (prefetching `next`)
        const float* rowsA;
        long ldr;
        if constexpr (wide) {
          widenSlice(A + i * lda + pc, lda, rows, kc, next, widened);
          rowsA = widened;
          ldr = KC;
        } else {
          rowsA = A + i * lda + pc;
          ldr = lda;
        }
        const float* pf = wide ? nullptr : reinterpret_cast<const float*>(next);
        // Whole row panels times whole column panels read the rows in place where the ISA has
        // such a kernel (no pack).
        const bool inPlace = ks.rowsA && rows == mr && N % nr == 0;
        if (!inPlace) packA(false, rowsA, ldr, rows, 0, 0, kc, mr, ap, ks.avx512);
        for (long p = 0; p < nPanels; p++) {
          const float* bp = bufB + s * sliceStride + p * nr * kc;
          const long cols = std::min<long>(nr, N - p * nr);
          const bool acc = s > 0 || accumulate;
          float* c = C + i * ldc + p * nr;
          if (inPlace) {
            ks.rowsA(kc, rowsA, ldr, bp, c, ldc, acc, p == 0 ? pf : nullptr, lda);
            continue;
          }
#if defined(__x86_64__) || defined(_M_X64)
          if (ks.avx512 && rows == mr && cols == nr && kc == KC && p == 0) {
            kernelAvx512Prefetch(kc, ap, bp, c, ldc, acc, pf, lda);
            continue;
          }
#endif
          kernelTile(ks, kc, ap, bp, c, ldc, rows, cols, acc, nullptr, false);
        }
      }
    }
  });
}

bool takesTallSkinny(const KernelSpec& ks, bool transA, long M, long N, long K) {
  return !transA && N <= TALL_MAX_N && M >= 64L * ks.mr && K >= KC;
}

}  // namespace

size_t packedASize(long M, long K) {
  const KernelSpec ks = specFor(currentIsa());
  return static_cast<size_t>((M + ks.mr - 1) / ks.mr) * ks.mr * std::max(K, 1L);
}

void packWholeA(bool transA, long M, long K, const float* A, long lda, float* packed) {
  const KernelSpec ks = specFor(currentIsa());
  const long mPanels = (M + ks.mr - 1) / ks.mr;
  const long slices = (K + KC - 1) / KC;
  parallelFor(static_cast<int>(slices * mPanels), [&](int t, int) {
    const long pc = (t / mPanels) * KC, q = t % mPanels, kc = std::min(KC, K - pc);
    packA(transA, A, lda, M, q * ks.mr, pc, kc, ks.mr,
          packed + pc * mPanels * ks.mr + q * ks.mr * kc, ks.avx512);
  });
}

void sgemmSerialPackedA(const float* packedA, bool transB, long M, long N, long K, const float* B,
                        long ldb, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0 || K <= 0)
    return sgemmSerial(false, transB, M, N, K, nullptr, 1, B, ldb, beta, C, ldc);
  gemmPart(specFor(currentIsa()), false, transB, 0, M, 0, N, K, nullptr, 1, B, ldb, beta != 0.f, C,
           ldc, packedA);
}

void sgemmSerialPackedARowBlocks(const float* packedA, long M, long N, long K, const float* B,
                                 long ldb, float* C, long ldc, long blockRows,
                                 const std::function<void(long, long)>& rowsDone) {
  if (M <= 0 || N <= 0) return;
  const KernelSpec ks = specFor(currentIsa());
  const int mr = ks.mr, nr = ks.nr;
  const long nPanels = (N + nr - 1) / nr, slices = (K + KC - 1) / KC;
  const long sliceStride = nPanels * nr * KC, mPanelsAll = (M + mr - 1) / mr;
  const float* bufB = packWholeB(ks, false, B, ldb, N, K);
  for (long b0 = 0; b0 < M; b0 += blockRows) {
    const long b1 = std::min(M, b0 + blockRows);
    if (K <= 0)
      for (long i = b0; i < b1; i++) std::memset(C + (i - b0) * ldc, 0, sizeof(float) * N);
    for (long s = 0; s < slices; s++) {
      const long pc = s * KC, kc = std::min(KC, K - pc);
      for (long i = b0; i < b1; i += mr) {
        const float* ap = packedA + pc * mPanelsAll * mr + (i / mr) * mr * kc;
        for (long p = 0; p < nPanels; p++)
          kernelTile(ks, kc, ap, bufB + s * sliceStride + p * nr * kc, C + (i - b0) * ldc + p * nr,
                     ldc, std::min<long>(mr, b1 - i), std::min<long>(nr, N - p * nr), s > 0,
                     nullptr, false);
      }
    }
    rowsDone(b0, b1);
  }
}

long gemmPanelWidth() {
  return specFor(currentIsa()).nr;
}

void sgemmSerialPackedASrcB(const float* packedA, long M, long N, long K, const BPanelSource& B,
                            float beta, float* C, long ldc, const float* bias, bool relu) {
  sgemmSerialPackedASrcBCols(packedA, M, N, K, 0, N, B, beta, C, ldc, bias, relu);
}

void sgemmSerialPackedASrcBCols(const float* packedA, long M, long N, long K, long j0, long j1,
                                const BPanelSource& B, float beta, float* C, long ldc,
                                const float* bias, bool relu) {
  sgemmSerialPackedASrcBBlock(packedA, M, N, K, 0, M, j0, j1, B, beta, C, ldc, bias, relu);
}

long gemmTileRows() {
  return specFor(currentIsa()).mr;
}

void sgemmSerialSrcBBlock(const float* A, long lda, long M, long N, long K, long i0, long i1,
                          long j0, long j1, const BPanelSource& B, float beta, float* C, long ldc,
                          const float* bias, bool relu) {
  sgemmSerialPackedASrcBBlock(nullptr, M, N, K, i0, i1, j0, j1, B, beta, C, ldc, bias, relu, A,
                              lda);
}

void sgemmSerialPackedASrcBBlock(const float* packedA, long M, long N, long K, long i0, long i1,
                                 long j0, long j1, const BPanelSource& B, float beta, float* C,
                                 long ldc, const float* bias, bool relu, const float* A, long lda) {
  j1 = std::min(j1, N);
  i1 = std::min(i1, M);
  if (i1 <= i0 || j1 <= j0) return;
  if (K <= 0) {  // C = relu(beta·C + bias)
    for (long i = i0; i < i1; i++)
      for (long j = j0; j < j1; j++) {
        float v = (beta != 0.f ? C[i * ldc + j] : 0.f) + (bias ? bias[i] : 0.f);
        C[i * ldc + j] = relu ? anative::relu(v) : v;
      }
    return;
  }
  gemmPart(specFor(currentIsa()), false, false, i0, i1, j0, j1, K, A, lda, nullptr, 1, beta != 0.f,
           C, ldc, packedA, &B, bias, relu, M);
}

void sgemmSerialSrcB(bool transA, long M, long N, long K, const float* A, long lda,
                     const BPanelSource& B, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0 || K <= 0)
    return sgemmSerial(transA, false, M, N, K, A, lda, nullptr, 1, beta, C, ldc);
  gemmPart(specFor(currentIsa()), transA, false, 0, M, 0, N, K, A, lda, nullptr, 1, beta != 0.f, C,
           ldc, nullptr, &B);
}

void sgemmSerial(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
                 const float* B, long ldb, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0.f)
      for (long i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  gemmPart(specFor(currentIsa()), transA, transB, 0, M, 0, N, K, A, lda, B, ldb, beta != 0.f, C,
           ldc);
}

void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0.f)
      for (long i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  const bool acc = beta != 0.f;
  if (M <= GEMV_MAX_ROWS && !transA && transB) return gemvT(M, N, K, A, lda, B, ldb, acc, C, ldc);
  const KernelSpec ks = specFor(currentIsa());
  const int threads = getThreads();
  if (takesTallSkinny(ks, transA, M, N, K))
    return gemmTallSkinny(ks, transB, M, N, K, A, lda, B, ldb, acc, C, ldc);
  const double flops = 2.0 * M * N * K;
  // C is cut into one part per thread along its longer side (in whole micro-tiles), and each
  // part is a complete serial GEMM: one dispatch per call, no barrier per depth slice. The
  // parts are claimed dynamically, so a thread that starts late loses its part to the other.
  const long mPanels = (M + ks.mr - 1) / ks.mr, nPanels = (N + ks.nr - 1) / ks.nr;
  const bool splitN = nPanels * ks.nr >= mPanels * ks.mr;
  const long panels = splitN ? nPanels : mPanels;
  const long parts = (threads == 1 || flops < 4e6) ? 1 : std::min<long>(threads, panels);
  if (parts == 1) {
    gemmPart(ks, transA, transB, 0, M, 0, N, K, A, lda, B, ldb, acc, C, ldc);
    return;
  }
  const long per = (panels + parts - 1) / parts;
  parallelFor(static_cast<int>(parts), [&](int t, int) {
    const long p0 = t * per, p1 = std::min(panels, p0 + per);
    if (p0 >= p1) return;
    if (splitN)
      gemmPart(ks, transA, transB, 0, M, p0 * ks.nr, std::min(N, p1 * ks.nr), K, A, lda, B, ldb,
               acc, C, ldc);
    else
      gemmPart(ks, transA, transB, p0 * ks.mr, std::min(M, p1 * ks.mr), 0, N, K, A, lda, B, ldb,
               acc, C, ldc);
  });
}

bool sgemmTallSkinnyBf16A(long M, long N, long K, const uint16_t* A, long lda, const float* B,
                          long ldb, float* C, long ldc) {
  const KernelSpec ks = specFor(currentIsa());
  if (!takesTallSkinny(ks, false, M, N, K)) return false;
  gemmTallSkinny(ks, true, M, N, K, A, lda, B, ldb, false, C, ldc);
  return true;
}

}  // namespace anative
