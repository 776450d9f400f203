// The AMX tiles' micro-kernel and packers (amx_tiles.h).
#include "amx_tiles.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "transpose16.h"

namespace anative {
namespace {

#define ANATIVE_AMX \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,amx-tile,amx-bf16")))

constexpr long MR = BF16_MR, NR = AMX_NR;
constexpr long TILE_DEPTH = 32;  // bfloat16 values of depth per tdpbf16ps

// The micro-kernel's shapes: accumulators and A tiles MR rows, B tiles 16, all 64 bytes wide.
constexpr TileConfig tileShapes() {
  TileConfig cfg{};
  cfg.palette = 1;
  for (int t = 0; t < 8; t++) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = t < 6 ? MR : 16;
  }
  return cfg;
}
alignas(64) const TileConfig kTileShapes = tileShapes();

void configureTiles() {
  loadTileShapes(kTileShapes);
}

// One panel's C tile (MR × cols ≤ 32): where the accumulator tiles load from and store to (C
// itself for a full tile with no epilogue, else a scratch copy, filled from C when acc), and
// its epilogue (+ bias, ReLU, the masked store of a scratch copy). stream: C's 32-float rows on
// whole cache lines go out in non-temporal stores (around the caches, no read for ownership).
struct TileOut {
  float* c;
  long ldc, rows, cols;
  bool direct, stream;
  alignas(64) float scratch[MR * NR];

  TileOut(float* c_, long ldc_, long rows_, long cols_, bool acc, bool epilogue, bool stream_)
      : c(c_),
        ldc(ldc_),
        rows(rows_),
        cols(cols_),
        direct(rows == MR && cols == NR && !epilogue && !stream_),
        stream(stream_ && cols == NR && reinterpret_cast<uintptr_t>(c_) % 64 == 0 &&
               ldc_ % 16 == 0) {
    if (!direct && acc)
      for (long i = 0; i < MR; i++)
        for (long j = 0; j < NR; j++)
          scratch[i * NR + j] = i < rows && j < cols ? c[i * ldc + j] : 0.f;
  }
  float* at() { return direct ? c : scratch; }
  long stride() const { return (direct ? ldc : NR) * 4; }

  ANATIVE_AMX void finish(const float* bias, bool relu) {
    if (direct) return;
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32  ? 0xFFFF
                         : cols > 16 ? static_cast<__mmask16>((1u << (cols - 16)) - 1)
                                     : 0;
    for (long i = 0; i < rows; i++)
      for (int v = 0; v < (cols > 16 ? 2 : 1); v++) {
        __m512 x = _mm512_load_ps(scratch + i * NR + 16 * v);
        if (bias) x = _mm512_add_ps(x, _mm512_set1_ps(bias[i]));
        if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);  // max(0, x): NaN passes (relu.h)
        if (stream)
          _mm512_stream_ps(c + i * ldc + 16 * v, x);
        else
          _mm512_mask_storeu_ps(c + i * ldc + 16 * v, v ? m1 : m0, x);
      }
  }
};

// P (1 or 2) row panels of C (rows ≤ P·MR, the panels' A adjacent: a, then a + kb·MR·16 words)
// × cols ≤ 32 = acc ? C + Σ : Σ over kb tiles of depth, then + bias, ReLU. Tiles: 0–3 the
// accumulators (panel h, half v: 2h + v), 4 and 5 the panels' A, 6 and 7 B's halves; two panels
// load B once for both. Each accumulator starts from C (acc) and adds the products in the same
// order on every path, so one panel at a time gives the same sums.
template <int P>
ANATIVE_AMX void tilesOf(long kb, const uint32_t* a, const uint32_t* b, float* c, long ldc,
                         long rows, long cols, bool acc, const float* bias, bool relu,
                         bool stream) {
  configureTiles();
  const bool two = cols > 16, epilogue = bias || relu;
  TileOut o0(c, ldc, std::min<long>(MR, rows), cols, acc, epilogue, stream);
  TileOut o1(c + MR * ldc, ldc, P == 2 ? rows - MR : 0, cols, acc && P == 2, epilogue, stream);
  if (acc) {
    _tile_loadd(0, o0.at(), o0.stride());
    if (two) _tile_loadd(1, o0.at() + 16, o0.stride());
    if (P == 2) {
      _tile_loadd(2, o1.at(), o1.stride());
      if (two) _tile_loadd(3, o1.at() + 16, o1.stride());
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  const uint32_t* a1 = a + kb * MR * 16;
  for (long k = 0; k < kb; k++) {
    _tile_loadd(6, b + k * 16 * NR, NR * 4);
    if (two) _tile_loadd(7, b + k * 16 * NR + 16, NR * 4);
    _tile_loadd(4, a + k * MR * 16, 64);
    _tile_dpbf16ps(0, 4, 6);
    if (two) _tile_dpbf16ps(1, 4, 7);
    if (P == 2) {
      _tile_loadd(5, a1 + k * MR * 16, 64);
      _tile_dpbf16ps(2, 5, 6);
      if (two) _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, o0.at(), o0.stride());
  if (two) _tile_stored(1, o0.at() + 16, o0.stride());
  o0.finish(bias, relu);
  if (P == 2) {
    _tile_stored(2, o1.at(), o1.stride());
    if (two) _tile_stored(3, o1.at() + 16, o1.stride());
    o1.finish(bias ? bias + MR : nullptr, relu);
  }
}

}  // namespace

thread_local const TileConfig* tLoaded = nullptr;

// The configuration lives in static storage: built on the stack, GCC 12 dropped the stores of
// colsb before ldtilecfg (it does not see the instruction read them), and ldtilecfg faulted.
ANATIVE_AMX void loadTileShapes(const TileConfig& cfg) {
  if (tLoaded == &cfg) return;
  _tile_loadconfig(&cfg);
  tLoaded = &cfg;
}

ANATIVE_AMX void packTileRowsA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0,
                               long kc, uint32_t* dst) {
  const long rows = std::min<long>(MR, M - i0), blocks = (kc + TILE_DEPTH - 1) / TILE_DEPTH;
  for (long kb = 0; kb < blocks; kb++) {
    const long k0 = kb * TILE_DEPTH, kn = std::min(TILE_DEPTH, kc - k0);
    uint32_t* out = dst + kb * MR * 16;
    if (!transA) {  // a row's depth is contiguous: one masked load per row (AVX-512BW)
      const __mmask32 m = kn == 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << kn) - 1);
      for (long r = 0; r < MR; r++)
        _mm512_store_si512(out + r * 16,
                           r < rows ? _mm512_maskz_loadu_epi16(m, A + (i0 + r) * lda + p0 + k0)
                                    : _mm512_setzero_si512());
    } else {  // op(A)(i, k) = A[k·lda + i]: pairs [16][16 rows] along the lanes, transposed
      const __mmask16 lm = static_cast<__mmask16>((1u << rows) - 1);
      __m512 pairs[16];
      for (long p = 0; p < 16; p++) {
        const uint16_t* lo = A + (p0 + k0 + 2 * p) * lda + i0;
        const __m512i l = 2 * p < kn ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lm, lo))
                                     : _mm512_setzero_si512();
        const __m512i h = 2 * p + 1 < kn
                              ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lm, lo + lda))
                              : _mm512_setzero_si512();
        pairs[p] = _mm512_castsi512_ps(_mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
      }
      transpose16(pairs);  // pairs[r]: row r's 16 pairs
      for (long r = 0; r < MR; r++)
        _mm512_store_ps(reinterpret_cast<float*>(out + r * 16), pairs[r]);
    }
  }
}

void zeroTileTail(long kc, uint32_t* dst) {
  const long kp = (kc + 1) / 2, rows = (kc + TILE_DEPTH - 1) / TILE_DEPTH * 16;
  std::fill(dst + kp * NR, dst + rows * NR, 0u);
}

void amxTiles(int panels, long kb, const uint32_t* a, const uint32_t* b, float* c, long ldc,
              long rows, long cols, bool acc, const float* rowBias, bool relu, bool stream) {
  if (panels == 2)
    tilesOf<2>(kb, a, b, c, ldc, rows, cols, acc, rowBias, relu, stream);
  else
    tilesOf<1>(kb, a, b, c, ldc, rows, cols, acc, rowBias, relu, stream);
}

}  // namespace anative

#endif  // x86-64
