// Packed, cache-blocked SGEMM in the BLIS style.
//
// Loops: jc over N in NC-column panels (packed B panel KC×NC stays in L3/L2),
//        pc over K in KC-deep slices,
//        tiles of (MC rows × a chunk of NR-column micro-panels), spread over the threads,
//        inside a tile: jr over B micro-panels (one KC×NR micro-panel stays in L1),
//                       ir over A micro-panels (the MC×KC A block streams from L2).
// Both operands are packed once per (jc, pc) — A for all M rows — into zero-padded micro-panels,
// so the micro-kernel always runs a full MR×NR register tile with unit-stride loads; edge tiles go
// through a small scratch tile.
//
// Micro-kernels: AVX-512 14×32 (28 zmm accumulators + 2 B vectors + 1 broadcast fits the 32
// registers; 2 loads per 28 FMAs), AVX2 6×16 (12 ymm accumulators), portable scalar 4×8.
#include "gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "buffer.h"
#include "isa.h"
#include "threadpool.h"

namespace anative {
namespace {

using KernelFn = void (*)(long kc, const float* a, const float* b, float* c, long ldc, bool acc);

struct KernelSpec {
  int mr, nr;
  KernelFn fn;
};

// ---- micro-kernels ------------------------------------------------------------------------
// a: packed A micro-panel [kc][MR]; b: packed B micro-panel [kc][NR]; c: C tile, row stride ldc.
// acc: add to C (true) or overwrite it (false).

template <int MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
void kernelAvx512(long kc, const float* a, const float* b, float* c, long ldc, bool acc) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      __m512 av = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    a += MR;
    b += 32;
  }
  if (acc) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), c0[i]));
      _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), c1[i]));
    }
  } else {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, c0[i]);
      _mm512_storeu_ps(ci + 16, c1[i]);
    }
  }
}

template <int MR>
__attribute__((target("avx2,fma")))
void kernelAvx2(long kc, const float* a, const float* b, float* c, long ldc, bool acc) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m256 av = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
    a += MR;
    b += 16;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm256_add_ps(_mm256_loadu_ps(ci), c0[i]);
      c1[i] = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c1[i]);
    }
    _mm256_storeu_ps(ci, c0[i]);
    _mm256_storeu_ps(ci + 8, c1[i]);
  }
}

void kernelScalar(long kc, const float* a, const float* b, float* c, long ldc, bool acc) {
  constexpr int MR = 4, NR = 8;
  float t[MR][NR] = {};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
}

KernelSpec specFor(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return {14, 32, kernelAvx512<14>};
    case Isa::Avx2: return {6, 16, kernelAvx2<6>};
    default: return {4, 8, kernelScalar};
  }
}

// ---- packing ------------------------------------------------------------------------------

// Rows [i0, i0+MR) of op(A) (clipped at M, zero beyond), depth [p0, p0+kc) → dst[kc][MR].
void packA(bool transA, const float* A, long lda, long M, long i0, long p0, long kc, int mr,
           float* dst) {
  long rows = std::min<long>(mr, M - i0);
  if (transA) {
    for (long k = 0; k < kc; k++) {
      const float* src = A + (p0 + k) * lda + i0;
      float* d = dst + k * mr;
      long i = 0;
      for (; i < rows; i++) d[i] = src[i];
      for (; i < mr; i++) d[i] = 0.f;
    }
  } else {
    // Transposing copy in 16-deep strips, so the written strip (16·MR floats) stays in L1.
    for (long k0 = 0; k0 < kc; k0 += 16) {
      const long kn = std::min<long>(16, kc - k0);
      for (long i = 0; i < rows; i++) {
        const float* src = A + (i0 + i) * lda + p0 + k0;
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * mr + i] = src[kk];
      }
      for (long i = rows; i < mr; i++)
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * mr + i] = 0.f;
    }
  }
}

// Columns [j0, j0+NR) of op(B) (clipped at N, zero beyond), depth [p0, p0+kc) → dst[kc][NR].
void packB(bool transB, const float* B, long ldb, long N, long j0, long p0, long kc, int nr,
           float* dst) {
  long cols = std::min<long>(nr, N - j0);
  if (transB) {
    for (long k0 = 0; k0 < kc; k0 += 16) {
      const long kn = std::min<long>(16, kc - k0);
      for (long j = 0; j < cols; j++) {
        const float* src = B + (j0 + j) * ldb + p0 + k0;
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * nr + j] = src[kk];
      }
      for (long j = cols; j < nr; j++)
        for (long kk = 0; kk < kn; kk++) dst[(k0 + kk) * nr + j] = 0.f;
    }
  } else {
    for (long k = 0; k < kc; k++) {
      const float* src = B + (p0 + k) * ldb + j0;
      float* d = dst + k * nr;
      if (cols == nr) {
        std::memcpy(d, src, sizeof(float) * nr);
      } else {
        long j = 0;
        for (; j < cols; j++) d[j] = src[j];
        for (; j < nr; j++) d[j] = 0.f;
      }
    }
  }
}

Buffer gPackA, gPackB;

constexpr long KC = 256;   // depth slice: a 14×256 A micro-panel is 14 KB, a 256×32 B one 32 KB
constexpr long NC = 4096;  // B panel 256×4096 = 4 MB, shared by both threads
constexpr long MC_TARGET = 168;  // rows per tile: 168×256 A block = 168 KB, well inside L2

}  // namespace

void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0.f)
      for (long i = 0; i < M; i++) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  const KernelSpec ks = specFor(currentIsa());
  const int mr = ks.mr, nr = ks.nr;
  const long mPanels = (M + mr - 1) / mr;
  const long mcPanels = std::max<long>(1, MC_TARGET / mr);
  const long mBlocks = (mPanels + mcPanels - 1) / mcPanels;
  const int threads = getThreads();

  float* packedA = gPackA.get(static_cast<size_t>(mPanels) * mr * KC);
  float* packedB = gPackB.get(static_cast<size_t>((std::min(N, NC) + nr - 1) / nr) * nr * KC);

  for (long jc = 0; jc < N; jc += NC) {
    const long nc = std::min(NC, N - jc);
    const long nPanels = (nc + nr - 1) / nr;
    // Split the N panels into chunks so that there are a few tasks per thread.
    long nSplit = threads == 1 ? 1 : std::max<long>(1, (4L * threads + mBlocks - 1) / mBlocks);
    nSplit = std::min(nSplit, nPanels);
    const long chunk = (nPanels + nSplit - 1) / nSplit;
    nSplit = (nPanels + chunk - 1) / chunk;

    for (long pc = 0; pc < K; pc += KC) {
      const long kc = std::min(KC, K - pc);
      const bool acc = pc > 0 || beta != 0.f;

      // Pack all of A (this depth slice) and this B panel; tasks are groups of micro-panels.
      const long packGroup = 8;
      const long aTasks = (mPanels + packGroup - 1) / packGroup;
      const long bTasks = (nPanels + packGroup - 1) / packGroup;
      parallelFor(static_cast<int>(aTasks + bTasks), [&](int t, int) {
        if (t < aTasks) {
          for (long p = t * packGroup; p < std::min(mPanels, (t + 1) * packGroup); p++)
            packA(transA, A, lda, M, p * mr, pc, kc, mr, packedA + p * mr * kc);
        } else {
          long tb = t - aTasks;
          for (long p = tb * packGroup; p < std::min(nPanels, (tb + 1) * packGroup); p++)
            packB(transB, B, ldb, jc + nc, jc + p * nr, pc, kc, nr, packedB + p * nr * kc);
        }
      });

      parallelFor(static_cast<int>(mBlocks * nSplit), [&](int t, int) {
        const long mb = t / nSplit, ns = t % nSplit;
        const long ip0 = mb * mcPanels, ip1 = std::min(mPanels, ip0 + mcPanels);
        const long jp0 = ns * chunk, jp1 = std::min(nPanels, jp0 + chunk);
        alignas(64) float tile[16 * 32];
        for (long jp = jp0; jp < jp1; jp++) {
          const float* bp = packedB + jp * nr * kc;
          const long j = jc + jp * nr;
          const long cols = std::min<long>(nr, N - j);
          for (long ip = ip0; ip < ip1; ip++) {
            const float* ap = packedA + ip * mr * kc;
            const long i = ip * mr;
            const long rows = std::min<long>(mr, M - i);
            float* c = C + i * ldc + j;
            if (rows == mr && cols == nr) {
              ks.fn(kc, ap, bp, c, ldc, acc);
            } else {
              if (acc)
                for (long r = 0; r < rows; r++)
                  for (long q = 0; q < cols; q++) tile[r * nr + q] = c[r * ldc + q];
              ks.fn(kc, ap, bp, tile, nr, acc);
              for (long r = 0; r < rows; r++)
                for (long q = 0; q < cols; q++) c[r * ldc + q] = tile[r * nr + q];
            }
          }
        }
      });
    }
  }
}

}  // namespace anative
