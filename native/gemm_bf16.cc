// The bfloat16 GEMM (gemm_bf16.h), blocked as the fp32 one (gemm.cc): per thread, jc over N in
// NC-column blocks, pc over K in KC-deep slices (the packed B block stays in L2), ic over
// MC_PANELS row panels of A, then the micro-tiles. One blocking, three engines (isa.h): Amx runs
// the 14×32 micro-tile on two AMX accumulator tiles; Dot packs K-pair words for the vdpbf16ps
// 14×32 tile; Fma widens the operands to float32 as it packs them and runs the fp32 AVX-512
// 14×32 kernels (gemm_kernels.h).
// B is a dense matrix, or a Bf16Columns read in place (the implicit im2col; columns_bf16.h packs
// its panels).
#include "gemm_bf16.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "buffer.h"
#include "amx_tiles.h"
#include "columns_bf16.h"
#include "gemm_kernels.h"
#include "isa.h"
#include "threadpool.h"
#include "transpose16.h"

namespace anative {
namespace {

#define ANATIVE_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define ANATIVE_WIDEN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

constexpr int MR = static_cast<int>(BF16_MR), NR = 32;
static_assert(NR == AMX_NR, "the AMX tiles read the pair panels of B at NR words a row");
constexpr long KC = 256;  // depth (bfloat16 values) per slice: 128 pairs; even
constexpr long NC = 512;
constexpr long MC_PANELS = 16;
constexpr long STREAM_MIN_BYTES = 4L << 20;  // a part's C streamed from this size on (> L2)

thread_local Buffer tPackA, tPackB;  // float buffers (Fma), used as 32-bit words (Dot)

uint32_t* words(Buffer& b, size_t n) {
  return reinterpret_cast<uint32_t*>(b.get(n));
}

ANATIVE_BF16 inline __m512bh asBh(__m512i v) {
  return reinterpret_cast<__m512bh&>(v);
}

// ---- packing ---------------------------------------------------------------------------------

// Operand rows whose depth is contiguous (pairs adjacent): row r < nrows of src (row stride ld,
// already at the slice's first depth) gives its pairs over depth [0, kc) → dst[kp·ldd + r],
// `width` ≤ 16 words per dst row written (rows nrows ≤ r < width zero). 16×16 word transposes.
ANATIVE_BF16 void packAdjacent(const uint16_t* src, long ld, long nrows, long kc, uint32_t* dst,
                               long ldd, int width) {
  const __mmask16 storeMask = static_cast<__mmask16>((1u << width) - 1);
  for (long k0 = 0; k0 < kc; k0 += 32) {
    const long kn = std::min<long>(32, kc - k0);
    const __mmask32 loadMask = kn == 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << kn) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++)
      r[i] = i < nrows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(loadMask, src + i * ld + k0))
                       : _mm512_setzero_ps();
    transpose16(r);
    const long kw = (kn + 1) / 2;
    for (long kk = 0; kk < kw; kk++)
      _mm512_mask_storeu_ps(reinterpret_cast<float*>(dst + (k0 / 2 + kk) * ldd), storeMask, r[kk]);
  }
}

// Operand rows along the lanes (depth k is row k of src, lanes contiguous): pair kp interleaves
// rows 2kp and 2kp+1 (zero past kc), lanes [0, cols) (zero beyond) → dst[kp·ldd + lane], `width`
// words per dst row (14 or 32).
ANATIVE_BF16 void packInterleave(const uint16_t* src, long ld, long cols, long kc, uint32_t* dst,
                                 long ldd, int width) {
  const long kp = (kc + 1) / 2;
  for (int h = 0; h < width; h += 16) {
    const long live = std::max(0L, std::min<long>(16, cols - h));
    const __mmask16 lm = static_cast<__mmask16>((1u << live) - 1);
    const __mmask16 sm = static_cast<__mmask16>((1u << std::min(16, width - h)) - 1);
    for (long p = 0; p < kp; p++) {
      const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lm, src + 2 * p * ld + h));
      const __m512i hi =
          2 * p + 1 < kc
              ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lm, src + (2 * p + 1) * ld + h))
              : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(dst + p * ldd + h, sm,
                               _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
  }
}

// Rows [i0, i0+MR) of op(A) (clipped at M), depth [p0, p0+kc) → dst[kc/2][MR].
void packPairsA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0, long kc,
                uint32_t* dst) {
  const long rows = std::min<long>(MR, M - i0);
  if (transA)
    packInterleave(A + p0 * lda + i0, lda, rows, kc, dst, MR, MR);
  else
    packAdjacent(A + i0 * lda + p0, lda, rows, kc, dst, MR, MR);
}

// Columns [j0, j0+NR) of op(B) (clipped at N), depth [p0, p0+kc) → dst[kc/2][NR].
void packPairsB(bool transB, const uint16_t* B, long ldb, long N, long j0, long p0, long kc,
                uint32_t* dst) {
  const long cols = std::min<long>(NR, N - j0);
  if (!transB) return packInterleave(B + p0 * ldb + j0, ldb, cols, kc, dst, NR, NR);
  for (int h = 0; h < NR; h += 16) {
    const long live = std::max(0L, std::min<long>(16, cols - h));
    packAdjacent(live > 0 ? B + (j0 + h) * ldb + p0 : B, ldb, live, kc, dst + h, NR, 16);
  }
}

// Fma's panels: the same operands widened to float32 (a bfloat16 is a float32's upper half),
// A as [kc][MR] and B as [kc][NR] floats, the layout of the fp32 kernels' packed panels.
// packAdjacent's counterpart (rows r < nrows of src, depth contiguous → dst[k·ldd + r]) is
// transpose16.h's transposePack of bfloat16 rows.

// packInterleave's counterpart: depth k is row k of src, lanes [0, cols) (zero beyond) →
// dst[k·ldd + lane], `width` floats per dst row.
ANATIVE_WIDEN void widenRows(const uint16_t* src, long ld, long cols, long kc, float* dst, long ldd,
                             int width) {
  for (int h = 0; h < width; h += 16) {
    const long live = std::max(0L, std::min<long>(16, cols - h));
    const __mmask16 lm = static_cast<__mmask16>((1u << live) - 1);
    const __mmask16 sm = static_cast<__mmask16>((1u << std::min(16, width - h)) - 1);
    for (long k = 0; k < kc; k++)
      _mm512_mask_storeu_ps(dst + k * ldd + h, sm, loadRow16(src + k * ld + h, lm));
  }
}

// ---- the micro-kernel ------------------------------------------------------------------------

// R rows × NV·16 columns; a: [kp][MR] words, b: [kp][NR] words (64-byte aligned). Columns past
// the masks m0 (first 16) and m1 (next 16) are neither read nor written.
template <int R, int NV>
ANATIVE_BF16 void tile(long kp, const uint32_t* a, const uint32_t* b, float* c, long ldc, bool acc,
                       const float* bias, bool relu, __mmask16 m0, __mmask16 m1) {
  __m512 c0[R], c1[R];
#pragma GCC unroll 14
  for (int i = 0; i < R; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (long k = 0; k < kp; k++) {
    const __m512bh b0 = asBh(_mm512_load_si512(b));
    const __m512bh b1 = NV == 2 ? asBh(_mm512_load_si512(b + 16)) : b0;
#pragma GCC unroll 14
    for (int i = 0; i < R; i++) {
      const __m512bh av = asBh(_mm512_set1_epi32(static_cast<int>(a[i])));
      c0[i] = _mm512_dpbf16_ps(c0[i], av, b0);
      if (NV == 2) c1[i] = _mm512_dpbf16_ps(c1[i], av, b1);
    }
    a += MR;
    b += NR;
  }
#pragma GCC unroll 14
  for (int i = 0; i < R; i++) {
    float* ci = c + i * ldc;
    for (int v = 0; v < NV; v++) {
      const __mmask16 m = v ? m1 : m0;
      __m512 x = v ? c1[i] : c0[i];
      if (acc) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, ci + 16 * v), x);
      if (bias) x = _mm512_add_ps(x, _mm512_set1_ps(bias[i]));
      if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);  // max(0, x): NaN passes (relu.h)
      _mm512_mask_storeu_ps(ci + 16 * v, m, x);
    }
  }
}

using TileFn = void (*)(long, const uint32_t*, const uint32_t*, float*, long, bool, const float*,
                        bool, __mmask16, __mmask16);

template <int NV, size_t... I>
constexpr std::array<TileFn, MR + 1> tiles(std::index_sequence<I...>) {
  return {{nullptr, tile<static_cast<int>(I) + 1, NV>...}};
}
const std::array<TileFn, MR + 1> kTiles1 = tiles<1>(std::make_index_sequence<MR>());
const std::array<TileFn, MR + 1> kTiles2 = tiles<2>(std::make_index_sequence<MR>());

inline void dotTile(long kp, const uint32_t* a, const uint32_t* b, float* c, long ldc, long rows,
                    long cols, bool acc, const float* bias, bool relu) {
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32  ? 0xFFFF
                       : cols > 16 ? static_cast<__mmask16>((1u << (cols - 16)) - 1)
                                   : 0;
  (cols > 16 ? kTiles2 : kTiles1)[rows](kp, a, b, c, ldc, acc, bias, relu, m0, m1);
}

// ---- the three engines -----------------------------------------------------------------------

// An engine: its panels' 32-bit words per depth slice of kc values per row or column (depth),
// its packers of an A micro-panel [depth(kc)][MR] and a B micro-panel [depth(kc)][NR], and its
// tile. Its state: the fp32 kernels for Fma.
struct Dot {
  static constexpr bool PAIRED = false;  // one row panel per micro-tile
  static long depth(long kc) { return (kc + 1) / 2; }
  void packA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0, long kc,
             uint32_t* dst) const {
    packPairsA(transA, A, lda, M, i0, p0, kc, dst);
  }
  void packB(bool transB, const uint16_t* B, long ldb, long N, long j0, long p0, long kc,
             uint32_t* dst) const {
    packPairsB(transB, B, ldb, N, j0, p0, kc, dst);
  }
  void packColumns(const Bf16Columns& B, long N, long j0, long p0, long kc, uint32_t* dst) const {
    packColumnsPairs(B, N, j0, p0, kc, dst);
  }
  void tile(long kc, const uint32_t* a, const uint32_t* b, float* c, long ldc, long rows, long cols,
            bool acc, const float* bias, bool relu, bool /*stream: plain stores*/) const {
    dotTile(depth(kc), a, b, c, ldc, rows, cols, acc, bias, relu);
  }
};

struct Amx {
  static long depth(long kc) { return amxDepthWords(kc); }
  void packA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0, long kc,
             uint32_t* dst) const {
    packTileRowsA(transA, A, lda, M, i0, p0, kc, dst);
  }
  void packB(bool transB, const uint16_t* B, long ldb, long N, long j0, long p0, long kc,
             uint32_t* dst) const {
    packPairsB(transB, B, ldb, N, j0, p0, kc, dst);
    zeroTileTail(kc, dst);
  }
  void packColumns(const Bf16Columns& B, long N, long j0, long p0, long kc, uint32_t* dst) const {
    packColumnsPairs(B, N, j0, p0, kc, dst);
    zeroTileTail(kc, dst);
  }
  void tile(long kc, const uint32_t* a, const uint32_t* b, float* c, long ldc, long rows, long cols,
            bool acc, const float* bias, bool relu, bool stream) const {
    amxTiles(1, depth(kc) / 16, a, b, c, ldc, rows, cols, acc, bias, relu, stream);
  }
  // Two adjacent A panels (rows ≤ 2·MR) at once, sharing B's tiles.
  static constexpr bool PAIRED = true;
  void tile2(long kc, const uint32_t* a, const uint32_t* b, float* c, long ldc, long rows,
             long cols, bool acc, const float* bias, bool relu, bool stream) const {
    amxTiles(2, depth(kc) / 16, a, b, c, ldc, rows, cols, acc, bias, relu, stream);
  }
};

struct Fma {
  static constexpr bool PAIRED = false;  // one row panel per micro-tile
  KernelSpec ks = specFor(Isa::Avx512);  // 14×32: MR × NR
  static long depth(long kc) { return kc; }
  static float* floats(uint32_t* w) { return reinterpret_cast<float*>(w); }
  void packA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0, long kc,
             uint32_t* dst) const {
    const long rows = std::min<long>(MR, M - i0);
    if (transA)
      widenRows(A + p0 * lda + i0, lda, rows, kc, floats(dst), MR, MR);
    else
      transposePack(A + i0 * lda + p0, lda, rows, kc, floats(dst), MR, MR);
  }
  void packB(bool transB, const uint16_t* B, long ldb, long N, long j0, long p0, long kc,
             uint32_t* dst) const {
    const long cols = std::min<long>(NR, N - j0);
    if (!transB) return widenRows(B + p0 * ldb + j0, ldb, cols, kc, floats(dst), NR, NR);
    for (int h = 0; h < NR; h += 16) {
      const long live = std::max(0L, std::min<long>(16, cols - h));
      transposePack(live > 0 ? B + (j0 + h) * ldb + p0 : B, ldb, live, kc, floats(dst) + h, NR, 16);
    }
  }
  void packColumns(const Bf16Columns& B, long N, long j0, long p0, long kc, uint32_t* dst) const {
    packColumnsWide(B, N, j0, p0, kc, floats(dst));
  }
  void tile(long kc, const uint32_t* a, const uint32_t* b, float* c, long ldc, long rows, long cols,
            bool acc, const float* bias, bool relu, bool /*stream: plain stores*/) const {
    alignas(64) float biasTile[MR] = {};  // the kernels read MR biases; an edge panel has fewer
    if (bias && rows < MR) {
      std::copy(bias, bias + rows, biasTile);
      bias = biasTile;
    }
    kernelTile(ks, kc, reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b), c, ldc,
               rows, cols, acc, bias, relu);
  }
};

// ---- the blocked product ---------------------------------------------------------------------

// packB(j, pc, kc, dst): the B panel of columns [j, j + NR) (clipped at j1), depth [pc, pc + kc).
template <class E, class PackB>
void gemmPart(const E& e, bool transA, long M, long K, long i0, long i1, long j0, long j1,
              const uint16_t* A, long lda, const PackB& packB, bool accumulate, float* C, long ldc,
              const float* rowBias, bool relu, const uint32_t* packedA) {
  const long dKC = E::depth(KC);
  uint32_t* bufA = packedA ? nullptr : words(tPackA, static_cast<size_t>(MC_PANELS) * MR * dKC);
  uint32_t* bufB = words(tPackB, static_cast<size_t>((NC + NR - 1) / NR) * NR * dKC);
  const long mPanelsAll = (M + MR - 1) / MR;
  // C written once here (one depth slice, no accumulation) and larger than L2 (fc6's dW: 151 MB)
  // goes around the caches: no read for ownership of lines this product never reads.
  const bool stream = !accumulate && K <= KC && (i1 - i0) * (j1 - j0) * 4 >= STREAM_MIN_BYTES;
  const long nBlocks = (j1 - j0 + NC - 1) / NC;
  const long ncStep = ((j1 - j0 + nBlocks - 1) / nBlocks + NR - 1) / NR * NR;
  for (long jc = j0; jc < j1; jc += ncStep) {
    const long nPanels = (std::min(ncStep, j1 - jc) + NR - 1) / NR;
    for (long pc = 0; pc < K; pc += KC) {
      const long kc = std::min(KC, K - pc), dk = E::depth(kc);
      const bool acc = pc > 0 || accumulate;
      const bool last = pc + kc >= K;  // the epilogue goes with the last depth slice
      for (long p = 0; p < nPanels; p++) packB(jc + p * NR, pc, kc, bufB + p * NR * dk);
      for (long ic = i0; ic < i1; ic += MC_PANELS * MR) {
        const long mPanels = std::min<long>(MC_PANELS, (i1 - ic + MR - 1) / MR);
        const uint32_t* blockA;
        if (packedA) {
          blockA = packedA + E::depth(pc) * mPanelsAll * MR + (ic / MR) * MR * dk;
        } else {
          for (long q = 0; q < mPanels; q++)
            e.packA(transA, A, lda, i1, ic + q * MR, pc, kc, bufA + q * MR * dk);
          blockA = bufA;
        }
        for (long q = 0; q < mPanels;) {
          const bool pair = E::PAIRED && q + 1 < mPanels;  // two panels in one micro-tile
          const long i = ic + q * MR, rows = std::min<long>(pair ? 2 * MR : MR, i1 - i);
          const float* bias = last && rowBias ? rowBias + i : nullptr;
          for (long p = 0; p < nPanels; p++) {
            const long j = jc + p * NR, cols = std::min<long>(NR, j1 - j);
            const uint32_t *a = blockA + q * MR * dk, *b = bufB + p * NR * dk;
            if constexpr (E::PAIRED) {
              if (pair) {
                e.tile2(kc, a, b, C + i * ldc + j, ldc, rows, cols, acc, bias, last && relu,
                        stream);
                continue;
              }
            }
            e.tile(kc, a, b, C + i * ldc + j, ldc, rows, cols, acc, bias, last && relu, stream);
          }
          q += pair ? 2 : 1;
        }
      }
    }
  }
  if (stream) _mm_sfence();  // the streamed stores land before the pool reports this part done
}

template <class E>
void packWholeA(const E& e, bool transA, long M, long K, const uint16_t* A, long lda,
                uint32_t* packed) {
  // Tasks in the order of A's memory: along its rows (one panel's slices in turn) when the
  // depth is contiguous; else across them (a slice's panels in turn share its cache lines).
  const long mPanels = (M + MR - 1) / MR, slices = (K + KC - 1) / KC;
  parallelFor(static_cast<int>(slices * mPanels), [&](int t, int) {
    const long q = transA ? t % mPanels : t / slices, s = transA ? t / mPanels : t % slices;
    const long pc = s * KC, kc = std::min(KC, K - pc);
    e.packA(transA, A, lda, M, q * MR, pc, kc,
            packed + E::depth(pc) * mPanels * MR + q * MR * E::depth(kc));
  });
}

// ---- all of B packed at once -------------------------------------------------------------------

// op(B) [K, N] → bufB: depth slice s at bufB + s·sliceWords(N) (E's panels of [depth(kc)][NR]
// words, panel p at p·NR·depth(kc) inside it); over the pool, serially inside a pool task.
template <class E>
long sliceWords(long N) {
  return (N + NR - 1) / NR * NR * E::depth(KC);
}
template <class E>
uint32_t* packWholeB(const E& e, bool transB, const uint16_t* B, long ldb, long N, long K) {
  const long nPanels = (N + NR - 1) / NR, slices = (K + KC - 1) / KC;
  uint32_t* bufB = words(tPackB, static_cast<size_t>(slices * sliceWords<E>(N)));
  parallelFor(static_cast<int>(slices * nPanels), [&](int t, int) {
    const long s = t / nPanels, p = t % nPanels, pc = s * KC, kc = std::min(KC, K - pc);
    e.packB(transB, B, ldb, N, p * NR, pc, kc, bufB + s * sliceWords<E>(N) + p * NR * E::depth(kc));
  });
  return bufB;
}

// ---- in row blocks, each consumed while in cache ---------------------------------------------

template <class E>
void rowBlocks(const E& e, const uint32_t* packedA, long M, long N, long K, const uint16_t* B,
               long ldb, float* C, long ldc, long blockRows,
               const std::function<void(long, long)>& rowsDone) {
  const long nPanels = (N + NR - 1) / NR, slices = (K + KC - 1) / KC, mPanels = (M + MR - 1) / MR;
  const uint32_t* bufB = packWholeB(e, false, B, ldb, N, K);
  for (long b0 = 0; b0 < M; b0 += blockRows) {
    const long b1 = std::min(M, b0 + blockRows);
    if (K <= 0)  // an empty sum
      for (long i = b0; i < b1; i++) std::fill(C + (i - b0) * ldc, C + (i - b0) * ldc + N, 0.f);
    for (long s = 0; s < slices; s++) {
      const long pc = s * KC, kc = std::min(KC, K - pc), dk = E::depth(kc);
      for (long i = b0; i < b1; i += MR)
        for (long p = 0; p < nPanels; p++)
          e.tile(kc, packedA + E::depth(pc) * mPanels * MR + (i / MR) * MR * dk,
                 bufB + s * sliceWords<E>(N) + p * NR * dk, C + (i - b0) * ldc + p * NR, ldc,
                 std::min<long>(MR, b1 - i), std::min<long>(NR, N - p * NR), s > 0, nullptr, false,
                 false);
    }
    rowsDone(b0, b1);
  }
}

// ---- tall and skinny: many rows of A, few columns of B (linear forward, yᵀ = w·xᵀ) -----------
// gemmPart's loop order (depth slices outside row blocks) reads A in 512-byte pieces scattered
// over all its rows; here all of B (≤ 64 columns: ≤ 2.4 MB of panels for fc6) is packed
// once and each task carries row panels of A through the whole depth, packing each slice of
// the panel as it goes: 14 sequential streams of w, each bfloat16 of it read once per call, with
// no panel cache (fc6: 75 MB read, against 151 MB for fp32's in-place kernel). Both engines.
constexpr long TALL_MAX_N = 64;
constexpr long TALL_PANELS_PER_TASK = 2;

template <class E>
void tallSkinny(const E& e, long M, long N, long K, const uint16_t* A, long lda, const uint16_t* B,
                long ldb, float* C, long ldc, const float* rowBias, bool relu) {
  const long dKC = E::depth(KC), nPanels = (N + NR - 1) / NR, slices = (K + KC - 1) / KC;
  const long sliceStride = sliceWords<E>(N);  // words per packed depth slice of B
  const uint32_t* bufB = packWholeB(e, true, B, ldb, N, K);
  const long mPanels = (M + MR - 1) / MR;
  const long tasks = (mPanels + TALL_PANELS_PER_TASK - 1) / TALL_PANELS_PER_TASK;
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    uint32_t* ap = words(tPackA, static_cast<size_t>(MR) * dKC);
    for (long q = t * TALL_PANELS_PER_TASK; q < std::min(mPanels, (t + 1) * TALL_PANELS_PER_TASK);
         q++) {
      const long i = q * MR, rows = std::min<long>(MR, M - i);
      for (long s = 0; s < slices; s++) {
        const long pc = s * KC, kc = std::min(KC, K - pc), dk = E::depth(kc);
        const bool last = s + 1 == slices;
        e.packA(false, A, lda, M, i, pc, kc, ap);
        for (long p = 0; p < nPanels; p++)
          e.tile(kc, ap, bufB + s * sliceStride + p * NR * dk, C + i * ldc + p * NR, ldc, rows,
                 std::min<long>(NR, N - p * NR), s > 0, last && rowBias ? rowBias + i : nullptr,
                 last && relu, false);
      }
    }
  });
}

// C = relu?((acc ? C : 0) + rowBias[i]) over rows [i0, i1), columns [j0, j1): an empty sum.
void emptySum(long i0, long i1, long j0, long j1, bool acc, float* C, long ldc,
              const float* rowBias, bool relu) {
  for (long i = i0; i < i1; i++)
    for (long j = j0; j < j1; j++) {
      const float v = (acc ? C[i * ldc + j] : 0.f) + (rowBias ? rowBias[i] : 0.f);
      C[i * ldc + j] = relu && v < 0.f ? 0.f : v;
    }
}

// f(engine) with the engine of the ISA level in use (isa.h).
template <class F>
void onEngine(const F& f) {
  if (bf16Tiles())
    f(Amx());
  else if (bf16DotProducts())
    f(Dot());
  else
    f(Fma());
}

// Rows [i0, i1), columns [j0, j1) (clipped at M, N) of the product on the engine in use (isa.h):
// packB(e, n, j, pc, kc, dst) packs engine e's B panel of columns [j, j + NR) clipped at n.
template <class PackB>
void blockOnEngine(bool transA, long M, long N, long K, long i0, long i1, long j0, long j1,
                   const uint16_t* A, long lda, const PackB& packB, bool acc, float* C, long ldc,
                   const float* rowBias, bool relu, const uint32_t* packedA) {
  i1 = std::min(i1, M);
  j1 = std::min(j1, N);
  if (i1 <= i0 || j1 <= j0) return;
  if (K <= 0) return emptySum(i0, i1, j0, j1, acc, C, ldc, rowBias, relu);
  const auto part = [&](const auto& e) {
    const auto pack = [&](long j, long pc, long kc, uint32_t* dst) {
      packB(e, j1, j, pc, kc, dst);
    };
    gemmPart(e, transA, M, K, i0, i1, j0, j1, A, lda, pack, acc, C, ldc, rowBias, relu, packedA);
  };
  onEngine(part);
}

// C [M, N] cut into one part per thread along its longer side, in whole micro-tiles (tilesOfPart):
// part(i0, i1, j0, j1) over the pool (one part for a small product).
void inParts(long M, long N, long K, const std::function<void(long, long, long, long)>& part) {
  const long mPanels = (M + MR - 1) / MR, nPanels = (N + NR - 1) / NR;
  const bool splitN = nPanels * NR >= mPanels * MR;
  const long panels = splitN ? nPanels : mPanels;
  const long parts = 2.0 * M * N * K < 4e6 ? 1 : std::min<long>(getThreads(), panels);
  parallelFor(static_cast<int>(parts), [&](int t, int) {
    long b, e;
    tilesOfPart(splitN ? N : M, splitN ? NR : MR, parts, t, &b, &e);
    if (b >= e) return;
    if (splitN)
      part(0, M, b, e);
    else
      part(b, e, 0, N);
  });
}

}  // namespace

bool gemmBf16ReadsAInPlace(long M, long N) {
  return N <= TALL_MAX_N && M >= 4 * N;
}

size_t packedABf16Words(long M, long K) {
  long depth = 0;
  onEngine([&](const auto& e) { depth = e.depth(KC); });
  return static_cast<size_t>((M + MR - 1) / MR) * MR * ((std::max(K, 1L) + KC - 1) / KC) * depth;
}

void packWholeABf16(bool transA, long M, long K, const uint16_t* A, long lda, uint32_t* packed) {
  onEngine([&](const auto& e) { packWholeA(e, transA, M, K, A, lda, packed); });
}

void gemmBf16Block(bool transA, bool transB, long M, long N, long K, long i0, long i1, long j0,
                   long j1, const uint16_t* A, long lda, const uint16_t* B, long ldb, bool acc,
                   float* C, long ldc, const float* rowBias, bool relu, const uint32_t* packedA) {
  const auto packB = [&](const auto& e, long n, long j, long pc, long kc, uint32_t* dst) {
    e.packB(transB, B, ldb, n, j, pc, kc, dst);
  };
  blockOnEngine(transA, M, N, K, i0, i1, j0, j1, A, lda, packB, acc, C, ldc, rowBias, relu,
                packedA);
}

void gemmBf16ColumnsBlock(long M, long N, long K, long i0, long i1, long j0, long j1,
                          const uint16_t* A, long lda, const Bf16Columns& B, bool acc, float* C,
                          long ldc, const float* rowBias, bool relu, const uint32_t* packedA) {
  const auto packB = [&](const auto& e, long n, long j, long pc, long kc, uint32_t* dst) {
    e.packColumns(B, n, j, pc, kc, dst);
  };
  blockOnEngine(false, M, N, K, i0, i1, j0, j1, A, lda, packB, acc, C, ldc, rowBias, relu, packedA);
}

void gemmBf16PackedARowBlocks(const uint32_t* packedA, long M, long N, long K, const uint16_t* B,
                              long ldb, float* C, long ldc, long blockRows,
                              const std::function<void(long, long)>& rowsDone) {
  if (M <= 0 || N <= 0) return;
  onEngine(
      [&](const auto& e) { rowBlocks(e, packedA, M, N, K, B, ldb, C, ldc, blockRows, rowsDone); });
}

void gemmBf16(bool transA, bool transB, long M, long N, long K, const uint16_t* A, long lda,
              const uint16_t* B, long ldb, bool acc, float* C, long ldc, const float* rowBias,
              bool relu, const uint32_t* packedA) {
  if (M <= 0 || N <= 0) return;
  if (!transA && transB && !acc && !packedA && K > 0 && gemmBf16ReadsAInPlace(M, N))
    return onEngine(
        [&](const auto& e) { tallSkinny(e, M, N, K, A, lda, B, ldb, C, ldc, rowBias, relu); });
  inParts(M, N, K, [&](long i0, long i1, long j0, long j1) {
    gemmBf16Block(transA, transB, M, N, K, i0, i1, j0, j1, A, lda, B, ldb, acc, C, ldc, rowBias,
                  relu, packedA);
  });
}

void gemmBf16Columns(long M, long N, long K, const uint16_t* A, long lda, const Bf16Columns& B,
                     bool acc, float* C, long ldc, const float* rowBias, bool relu,
                     const uint32_t* packedA) {
  if (M <= 0 || N <= 0) return;
  inParts(M, N, K, [&](long i0, long i1, long j0, long j1) {
    gemmBf16ColumnsBlock(M, N, K, i0, i1, j0, j1, A, lda, B, acc, C, ldc, rowBias, relu, packedA);
  });
}

}  // namespace anative

#endif  // x86-64
