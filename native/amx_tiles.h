// The AMX tiles' bfloat16 micro-kernel (level amx, isa.h) for gemm_bf16.cc's Amx engine.
// tdpbf16ps: C[16 rows][16 floats] += A[rows][16 pairs] · B[16 pairs][16 columns of pairs]. B's
// tile is 16 rows of the vdpbf16ps engine's B panel (a pair row of 16 columns is 64 bytes: the
// panel's layout, read at its AMX_NR-word stride); A's tile holds a row's 16 pairs contiguous, so
// A is packed as [kc/32][MR][16] words. Both are zero-padded to whole tiles of depth (32 values).
// A micro-tile is MR × 32, two 16-column accumulator tiles; two row panels at a time (2·MR × 32)
// use all 8 tiles (4 accumulators, 2 A, 2 B), so each B tile loaded feeds two products.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

#include "gemm_bf16.h"

namespace anative {

constexpr long AMX_NR = 32;  // columns per B panel (words per pair row)

/** An ldtilecfg operand (palette 1): each tile's rows and bytes per row. */
struct alignas(64) TileConfig {
  uint8_t palette, startRow, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

/** Makes cfg (in static storage) the calling thread's tile shapes, unless it already is: the
 *  kernels that use other shapes (amx_conv.h) each load theirs before their first tile. */
void loadTileShapes(const TileConfig& cfg);

/** 32-bit words per row (A) or column (B) for a depth slice of kc values: whole tiles of 32. */
constexpr long amxDepthWords(long kc) {
  return (kc + 31) / 32 * 16;
}

/** Rows [i0, i0+BF16_MR) of op(A) (clipped at M, zero beyond), depth [p0, p0+kc) →
 *  dst[kc/32][BF16_MR][16] words (op(A) as gemm_bf16.h). */
void packTileRowsA(bool transA, const uint16_t* A, long lda, long M, long i0, long p0, long kc,
                   uint32_t* dst);

/** A B panel in pairs ([(kc+1)/2][AMX_NR] words, as packed for vdpbf16ps): its pair rows past
 *  kc, up to a whole tile, zeroed. */
void zeroTileTail(long kc, uint32_t* dst);

/** panels (1 or 2) adjacent row panels of C (rows ≤ panels·BF16_MR; their A at a, then a +
 *  kb·BF16_MR·16 words) × cols ≤ 32 = acc ? C + Σ : Σ over kb tiles of depth, then + rowBias,
 *  ReLU (NaN kept). Each accumulator starts from C (acc) and adds the products in one order on
 *  every path, so one panel at a time gives the same sums as two. stream: C's full rows that
 *  start on a cache line (C and ldc aligned to 64 bytes) go out in non-temporal stores; the
 *  caller fences (_mm_sfence) before C is read. */
void amxTiles(int panels, long kb, const uint32_t* a, const uint32_t* b, float* c, long ldc,
              long rows, long cols, bool acc, const float* rowBias, bool relu, bool stream);

}  // namespace anative

#endif  // x86-64
