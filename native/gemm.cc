// Packed, cache-blocked SGEMM in the BLIS style.
//
// Loops (per thread, on its own part of C): jc over N in NC-column blocks, pc over K in KC-deep
// slices (the packed KC×NC B block stays in L2), ic over MC rows of A, then ir over A
// micro-panels (one KC×MR micro-panel stays in L1) and jr over B micro-panels (streamed from L2).
// Operands are packed into zero-padded micro-panels, so the micro-kernel always runs a full
// MR×NR register tile with unit-stride loads; edge tiles go through a small scratch tile.
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
#include "relu.h"
#include "threadpool.h"
#include "transpose16.h"

namespace anative {
namespace {

// bias (MR floats, or null) and relu: the conv epilogue relu(c + bias), applied as the tile is
// stored (only on a product's last depth slice).
using KernelFn = void (*)(long kc, const float* a, const float* b, float* c, long ldc, bool acc,
                          const float* bias, bool relu);

struct KernelSpec {
  int mr, nr;
  KernelFn fn;
  bool avx512;              // pack with the AVX-512 transposes
  KernelFn half = nullptr;  // the first nr/2 columns only (edge panels that narrow), or null
  // Kernels for an edge panel of r < mr rows (A panels keep their mr stride), indexed by r, at
  // full and at half width, or null: the last 8 of conv1's 64 channels ran a 14-row tile
  // through a scratch copy.
  const KernelFn* edge = nullptr;
  const KernelFn* edgeHalf = nullptr;
};

// ---- micro-kernels ------------------------------------------------------------------------
// a: packed A micro-panel [kc][MR]; b: packed B micro-panel [kc][NR]; c: C tile, row stride ldc.
// acc: add to C (true) or overwrite it (false). Then + bias[i] per row and max(·, 0) if asked.

// PREFETCH: also prefetch into L2, one line per depth step, the next depth slice of the MR rows
// of an unpacked A being streamed: pf[r·pfStride + 16·l] for row r = k / 16 < MR and line
// l = k mod 16 (a 256-deep slice: 16 lines of each row). The tall, skinny products (fc layers at
// batch 32) read w once, at memory speed only if the next slice arrives while this one computes.
template <int MR, int AS, bool PREFETCH>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"), always_inline)) inline void
tileAvx512(long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
           bool relu, const float* pf, long pfStride) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    if constexpr (PREFETCH) {
      if (pf && (k >> 4) < MR)
        _mm_prefetch(reinterpret_cast<const char*>(pf + (k >> 4) * pfStride + ((k & 15) << 4)),
                     _MM_HINT_T1);
    }
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      __m512 av = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    a += AS;
    b += 32;
  }
  if (acc) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      c0[i] = _mm512_add_ps(_mm512_loadu_ps(ci), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c1[i]);
    }
  }
  if (bias) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      const __m512 bv = _mm512_set1_ps(bias[i]);
      c0[i] = _mm512_add_ps(c0[i], bv);
      c1[i] = _mm512_add_ps(c1[i], bv);
    }
  }
  if (relu) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {  // max(0, x): NaN passes (relu.h)
      c0[i] = _mm512_max_ps(_mm512_setzero_ps(), c0[i]);
      c1[i] = _mm512_max_ps(_mm512_setzero_ps(), c1[i]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}

template <int MR, int AS = MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
    bool relu) {
  tileAvx512<MR, AS, false>(kc, a, b, c, ldc, acc, bias, relu, nullptr, 0);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512Prefetch(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* pf,
    long pfStride) {
  tileAvx512<14, 14, true>(kc, a, b, c, ldc, acc, nullptr, false, pf, pfStride);
}

// The AVX-512 tile's left half, MR×16, for an edge panel of ≤ 16 columns (b keeps its 32-float
// stride): a 13×13 map is 5 panels and 9 columns, and a full tile there did 3.5× the work.
template <int MR, int AS = MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void kernelAvx512Half(
    long kc, const float* a, const float* b, float* c, long ldc, bool acc, const float* bias,
    bool relu) {
  __m512 c0[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) c0[i] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) c0[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c0[i]);
    a += AS;
    b += 32;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    __m512 v = c0[i];
    if (acc) v = _mm512_add_ps(_mm512_loadu_ps(ci), v);
    if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
    if (relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN passes (relu.h)
    _mm512_storeu_ps(ci, v);
  }
}

template <int MR>
__attribute__((target("avx2,fma"))) void kernelAvx2(long kc, const float* a, const float* b,
                                                    float* c, long ldc, bool acc, const float* bias,
                                                    bool relu) {
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
    if (bias) {
      const __m256 bv = _mm256_set1_ps(bias[i]);
      c0[i] = _mm256_add_ps(c0[i], bv);
      c1[i] = _mm256_add_ps(c1[i], bv);
    }
    if (relu) {  // max(0, x): NaN passes (relu.h)
      c0[i] = _mm256_max_ps(_mm256_setzero_ps(), c0[i]);
      c1[i] = _mm256_max_ps(_mm256_setzero_ps(), c1[i]);
    }
    _mm256_storeu_ps(ci, c0[i]);
    _mm256_storeu_ps(ci + 8, c1[i]);
  }
}

void kernelScalar(long kc, const float* a, const float* b, float* c, long ldc, bool acc,
                  const float* bias, bool relu) {
  constexpr int MR = 4, NR = 8;
  float t[MR][NR] = {};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      float v = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
      if (bias) v += bias[i];
      if (relu) v = anative::relu(v);
      c[i * ldc + j] = v;
    }
}

const KernelFn kEdgeAvx512[14] = {nullptr,
                                  kernelAvx512<1, 14>,
                                  kernelAvx512<2, 14>,
                                  kernelAvx512<3, 14>,
                                  kernelAvx512<4, 14>,
                                  kernelAvx512<5, 14>,
                                  kernelAvx512<6, 14>,
                                  kernelAvx512<7, 14>,
                                  kernelAvx512<8, 14>,
                                  kernelAvx512<9, 14>,
                                  kernelAvx512<10, 14>,
                                  kernelAvx512<11, 14>,
                                  kernelAvx512<12, 14>,
                                  kernelAvx512<13, 14>};
const KernelFn kEdgeHalfAvx512[14] = {nullptr,
                                      kernelAvx512Half<1, 14>,
                                      kernelAvx512Half<2, 14>,
                                      kernelAvx512Half<3, 14>,
                                      kernelAvx512Half<4, 14>,
                                      kernelAvx512Half<5, 14>,
                                      kernelAvx512Half<6, 14>,
                                      kernelAvx512Half<7, 14>,
                                      kernelAvx512Half<8, 14>,
                                      kernelAvx512Half<9, 14>,
                                      kernelAvx512Half<10, 14>,
                                      kernelAvx512Half<11, 14>,
                                      kernelAvx512Half<12, 14>,
                                      kernelAvx512Half<13, 14>};

KernelSpec specFor(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return {14, 32, kernelAvx512<14>, true, kernelAvx512Half<14>, kEdgeAvx512, kEdgeHalfAvx512};
    case Isa::Avx2:
      return {6, 16, kernelAvx2<6>, false};
    default:
      return {4, 8, kernelScalar, false};
  }
}

// ---- AVX-512 transposing packs --------------------------------------------------------------
// Packing an operand whose depth (k) is its contiguous axis — A not transposed, B transposed
// (conv dW = dY·colᵀ, linear y = x·wᵀ) — is a transpose. Done 16×16 in registers it runs at
// memory speed instead of one scattered scalar store per element.

#define ANATIVE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define ANATIVE_AVX2 __attribute__((target("avx2,fma")))

// dst[k·ldd + i] = src[i·lds + k] for i < nrows (zero for nrows ≤ i < 16), k < kc; each dst row
// gets `width` floats written (width ≤ 16).
ANATIVE_AVX512 void transposePack(const float* src, long lds, long nrows, long kc, float* dst,
                                  long ldd, int width) {
  const __mmask16 storeMask = static_cast<__mmask16>((1u << width) - 1);
  for (long k0 = 0; k0 < kc; k0 += 16) {
    const long kn = std::min<long>(16, kc - k0);
    const __mmask16 loadMask = static_cast<__mmask16>((1u << kn) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++)
      r[i] = i < nrows ? _mm512_maskz_loadu_ps(loadMask, src + i * lds + k0) : _mm512_setzero_ps();
    transpose16(r);
    for (long kk = 0; kk < kn; kk++) _mm512_mask_storeu_ps(dst + (k0 + kk) * ldd, storeMask, r[kk]);
  }
}

// ---- few rows times a transposed matrix (inference at batch 1–4) -----------------------------
// y[m, f] = Σ_k x[m, k]·w[f, k] for m < M ≤ 4: the linear layers at small batch are bound by
// reading w once (fc6 is 151 MB), so w's rows are streamed straight through FMAs, four at a time,
// instead of being packed for a 14-row micro-kernel that would do 14× the arithmetic.
constexpr long GEMV_MAX_ROWS = 4;
// Software prefetch 1 KB ahead in each of the 4 streamed rows of w: the hardware prefetcher
// alone kept one core at ~14 GB/s (fc6 at batch 1: 10.5 ms → 5–7 ms with it).
constexpr long GEMV_PREFETCH = 256;  // floats

ANATIVE_AVX512 void gemvTAvx512(long M, long f0, long f1, long K, const float* A, long lda,
                                const float* B, long ldb, bool acc, float* C, long ldc) {
  long f = f0;
  for (; f < f1; f += 4) {
    const long nf = std::min(4L, f1 - f);
    __m512 s[4][GEMV_MAX_ROWS];
    for (int r = 0; r < 4; r++)
      for (int m = 0; m < GEMV_MAX_ROWS; m++) s[r][m] = _mm512_setzero_ps();
    for (long k = 0; k < K; k += 16) {
      const __mmask16 mask = K - k >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (K - k)) - 1);
      __m512 xv[GEMV_MAX_ROWS];
      for (int m = 0; m < GEMV_MAX_ROWS; m++)
        xv[m] = m < M ? _mm512_maskz_loadu_ps(mask, A + m * lda + k) : _mm512_setzero_ps();
      for (int r = 0; r < 4; r++) {
        if (r >= nf) break;
        _mm_prefetch(reinterpret_cast<const char*>(B + (f + r) * ldb + k + GEMV_PREFETCH),
                     _MM_HINT_T0);
        const __m512 wv = _mm512_maskz_loadu_ps(mask, B + (f + r) * ldb + k);
        for (int m = 0; m < GEMV_MAX_ROWS; m++)
          if (m < M) s[r][m] = _mm512_fmadd_ps(xv[m], wv, s[r][m]);
      }
    }
    for (int r = 0; r < nf; r++)
      for (int m = 0; m < M; m++) {
        const float v = _mm512_reduce_add_ps(s[r][m]);
        float& c = C[m * ldc + f + r];
        c = acc ? c + v : v;
      }
  }
}

ANATIVE_AVX2 void gemvTAvx2(long M, long f0, long f1, long K, const float* A, long lda,
                            const float* B, long ldb, bool acc, float* C, long ldc) {
  for (long f = f0; f < f1; f++)
    for (long m = 0; m < M; m++) {
      const float* x = A + m * lda;
      const float* w = B + f * ldb;
      __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
      long k = 0;
      for (; k + 16 <= K; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(w + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(w + k + 8), s1);
      }
      alignas(32) float t[8];
      _mm256_store_ps(t, _mm256_add_ps(s0, s1));
      float v = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
      for (; k < K; k++) v += x[k] * w[k];
      float& c = C[m * ldc + f];
      c = acc ? c + v : v;
    }
}

void gemvTScalar(long M, long f0, long f1, long K, const float* A, long lda, const float* B,
                 long ldb, bool acc, float* C, long ldc) {
  for (long f = f0; f < f1; f++)
    for (long m = 0; m < M; m++) {
      const float* x = A + m * lda;
      const float* w = B + f * ldb;
      float s[4] = {0.f, 0.f, 0.f, 0.f};
      long k = 0;
      for (; k + 4 <= K; k += 4)
        for (int u = 0; u < 4; u++) s[u] += x[k + u] * w[k + u];
      float v = (s[0] + s[1]) + (s[2] + s[3]);
      for (; k < K; k++) v += x[k] * w[k];
      float& c = C[m * ldc + f];
      c = acc ? c + v : v;
    }
}

void gemvT(long M, long N, long K, const float* A, long lda, const float* B, long ldb, bool acc,
           float* C, long ldc) {
  const Isa isa = currentIsa();
  const long per = 64;  // rows of w per task (64 × K floats: a few hundred KB at AlexNet sizes)
  parallelFor(static_cast<int>((N + per - 1) / per), [&](int t, int) {
    const long f0 = t * per, f1 = std::min(N, f0 + per);
    if (isa == Isa::Avx512)
      gemvTAvx512(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    else if (isa == Isa::Avx2)
      gemvTAvx2(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
    else
      gemvTScalar(M, f0, f1, K, A, lda, B, ldb, acc, C, ldc);
  });
}

// ---- packing ------------------------------------------------------------------------------

// Rows [i0, i0+MR) of op(A) (clipped at M, zero beyond), depth [p0, p0+kc) → dst[kc][MR].
void packA(bool transA, const float* A, long lda, long M, long i0, long p0, long kc, int mr,
           float* dst, bool avx512) {
  long rows = std::min<long>(mr, M - i0);
  if (avx512 && !transA && mr <= 16) {
    transposePack(A + i0 * lda + p0, lda, rows, kc, dst, mr, mr);
    return;
  }
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
           float* dst, bool avx512) {
  long cols = std::min<long>(nr, N - j0);
  if (avx512 && transB && nr % 16 == 0) {
    for (int h = 0; h < nr; h += 16)
      transposePack(B + (j0 + h) * ldb + p0, ldb, std::max<long>(0, std::min<long>(16, cols - h)),
                    kc, dst + h, nr, 16);
    return;
  }
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

// Per-thread packing buffers: each thread runs a whole serial GEMM on its part of C.
thread_local Buffer tPackA, tPackB;

// KC: depth slice; a 14×256 A micro-panel (14 KB) stays in L1 through the jr loop.
// NC: a packed 256×512 B block (512 KB) stays in the 1 MB L2 and streams through the kernel.
// MC: rows of A packed at a time (only bounds the buffer; each micro-panel is used from L1).
constexpr long KC = 256;
constexpr long NC = 512;
constexpr long MC_PANELS = 16;

// One micro-tile of C (rows × cols ≤ MR × NR) from packed panels, in place where a kernel fits
// it — the full tile, an r-row edge kernel (full or half width), the half kernel for exactly
// NR/2 columns — else through a scratch tile.
void tileProduct(const KernelSpec& ks, long kc, const float* ap, const float* bp, float* c,
                 long ldc, long rows, long cols, bool acc, const float* bias, bool relu) {
  const int mr = ks.mr, nr = ks.nr;
  const KernelFn fn = ks.half && 2 * cols <= nr ? ks.half : ks.fn;
  if (rows < mr && ks.edge && (cols == nr || (ks.edgeHalf && 2 * cols == nr))) {
    (cols == nr ? ks.edge : ks.edgeHalf)[rows](kc, ap, bp, c, ldc, acc, bias, relu);
  } else if (rows == mr && cols == nr) {
    ks.fn(kc, ap, bp, c, ldc, acc, bias, relu);
  } else if (rows == mr && fn == ks.half && 2 * cols == nr) {
    fn(kc, ap, bp, c, ldc, acc, bias, relu);
  } else {
    alignas(64) float tile[16 * 32];
    if (acc)
      for (long r = 0; r < rows; r++)
        for (long t = 0; t < cols; t++) tile[r * nr + t] = c[r * ldc + t];
    fn(kc, ap, bp, tile, nr, acc, bias, relu);
    for (long r = 0; r < rows; r++)
      for (long t = 0; t < cols; t++) c[r * ldc + t] = tile[r * nr + t];
  }
}

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
      for (long p = 0; p < nPanels; p++) {
        if (srcB)
          srcB->pack(jc + p * nr, std::min<long>(nr, j1 - jc - p * nr), pc, kc, bufB + p * nr * kc);
        else
          packB(transB, B, ldb, j1, jc + p * nr, pc, kc, nr, bufB + p * nr * kc, ks.avx512);
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
            tileProduct(ks, kc, ap, bp, C + i * ldc + j, ldc, rows, cols, acc, bias, rl);
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
// 14 sequential streams of w, with C's tile accumulated across the depth slices.
constexpr long TALL_MAX_N = 64;
constexpr long TALL_PANELS_PER_TASK = 2;

void gemmTallSkinny(const KernelSpec& ks, bool transB, long M, long N, long K, const float* A,
                    long lda, const float* B, long ldb, bool accumulate, float* C, long ldc) {
  const int mr = ks.mr, nr = ks.nr;
  const long nPanels = (N + nr - 1) / nr, slices = (K + KC - 1) / KC;
  const long sliceStride = nPanels * nr * KC;  // floats per packed depth slice of B
  float* bufB = tPackB.get(static_cast<size_t>(slices * sliceStride));
  parallelFor(static_cast<int>(slices * nPanels), [&](int t, int) {
    const long s = t / nPanels, p = t % nPanels, pc = s * KC, kc = std::min(KC, K - pc);
    packB(transB, B, ldb, N, p * nr, pc, kc, nr, bufB + s * sliceStride + p * nr * kc, ks.avx512);
  });
  const long mPanels = (M + mr - 1) / mr;
  const long tasks = (mPanels + TALL_PANELS_PER_TASK - 1) / TALL_PANELS_PER_TASK;
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    float* ap = tPackA.get(static_cast<size_t>(mr) * KC);
    const long q1 = std::min(mPanels, (t + 1) * TALL_PANELS_PER_TASK);
    for (long q = t * TALL_PANELS_PER_TASK; q < q1; q++) {
      const long i = q * mr, rows = std::min<long>(mr, M - i);
      for (long s = 0; s < slices; s++) {
        const long pc = s * KC, kc = std::min(KC, K - pc);
        packA(false, A, lda, M, i, pc, kc, mr, ap, ks.avx512);
        // what to prefetch meanwhile: this panel's next slice, or the next panel's first
        const float* next = s + 1 < slices    ? A + i * lda + pc + KC
                            : q + 1 < mPanels ? A + (i + mr) * lda
                                              : nullptr;
        for (long p = 0; p < nPanels; p++) {
          const float* bp = bufB + s * sliceStride + p * nr * kc;
          const long cols = std::min<long>(nr, N - p * nr);
          const bool acc = s > 0 || accumulate;
          if (ks.avx512 && rows == mr && cols == nr && kc == KC && p == 0)
            kernelAvx512Prefetch(kc, ap, bp, C + i * ldc + p * nr, ldc, acc, next, lda);
          else
            tileProduct(ks, kc, ap, bp, C + i * ldc + p * nr, ldc, rows, cols, acc, nullptr, false);
        }
      }
    }
  });
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
  if (!transA && N <= TALL_MAX_N && M >= 64L * ks.mr && K >= KC)
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

}  // namespace anative
