// The GEMM's register-tile micro-kernels, one set per ISA: AVX-512 14×32 (28 zmm accumulators
// + 2 B vectors + 1 broadcast fits the 32 registers; 2 loads per 28 FMAs), AVX2 6×16 (12 ymm
// accumulators), portable scalar 4×8. gemm.cc blocks the product and calls them per tile.
#pragma once
#include "isa.h"

namespace anative {

// a: packed A micro-panel [kc][MR]; b: packed B micro-panel [kc][NR]; c: C tile, row stride ldc.
// acc: add to C (true) or overwrite it (false). bias (MR floats, or null) and relu: the conv
// epilogue relu(c + bias), applied as the tile is stored (only on a product's last depth slice).
using KernelFn = void (*)(long kc, const float* a, const float* b, float* c, long ldc, bool acc,
                          const float* bias, bool relu);

// The full mr×nr tile with A unpacked: row i at a + i·lda (depth contiguous), the same FMAs in
// the same order as the kernel on the packed panel (so the same result). pf: the next depth slice
// of the rows being streamed, prefetched into L2 meanwhile (as kernelAvx512Prefetch), or null.
using RowsAFn = void (*)(long kc, const float* a, long lda, const float* b, float* c, long ldc,
                         bool acc, const float* pf, long pfStride);

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
  RowsAFn rowsA = nullptr;  // the tile reading A in place (tall, skinny products), or null
};

/** The micro-kernels of an ISA. */
KernelSpec specFor(Isa isa);

/** One tile of C (rows × cols ≤ mr × nr) from packed panels: in place where a kernel of ks fits
 *  it, else through a scratch tile. bias: mr floats (rows ≥ `rows` read but not stored), or null.
 */
void kernelTile(const KernelSpec& ks, long kc, const float* ap, const float* bp, float* c, long ldc,
                long rows, long cols, bool acc, const float* bias, bool relu);

#if defined(__x86_64__) || defined(_M_X64)
/** The AVX-512 14×32 tile (no epilogue) that also prefetches into L2, one line per depth step,
 *  the next depth slice of the 14 rows of an unpacked A being streamed: pf[r·pfStride + 16·l]
 *  for row r = k / 16 < 14 and line l = k mod 16 (pf null: none). */
void kernelAvx512Prefetch(long kc, const float* a, const float* b, float* c, long ldc, bool acc,
                          const float* pf, long pfStride);
#endif

}  // namespace anative
