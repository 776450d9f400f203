// col2im, the last step of a convolution's dX (conv.cc in float32, conv_bf16.cc after its
// bfloat16 GEMM; both leave dcol in float32): an input plane as the sum of the column-matrix rows
// that read it.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels.h"

namespace anative {

/** Per kernel offset (ki, kj) and output position p, the input offset ih·W + iw inside the
 *  plane, or −1 where the window reads padding: for small output maps, whose rows are too short
 *  for the run-wise loops to pay. */
struct OffsetTable {
  std::vector<int32_t> at;  // [Kh·Kw][P]
  explicit OffsetTable(const ConvGeom& g);
};

/** Input plane xp [H, W] (one image, channel c of its group) = Σ over its Kh·Kw rows of dcol
 *  (rows `ld` apart, this image's columns from offset 0), through `table` when given. Stride-1
 *  runs add 16 at a time where the ISA in use is AVX-512. */
void col2imPlane(const float* dcol, long ld, const ConvGeom& g, long c, float* xp,
                 const OffsetTable* table = nullptr);

/** Rows per block of dcol [Kc, ld] for dX computed in row blocks: a multiple of the GEMM's tile
 *  rows, about 256 KB of float, which stays in L2 between the GEMM's stores and col2im's reads
 *  (instead of the whole dcol, conv4's 7 MB per chunk, going out to memory and back). */
long col2imBlockRows(long ld, long tileRows);

/** Adds rows [r0, r1) of dcol (row r at rows + (r − r0)·ld, this image's columns from offset 0)
 *  into the planes xp [Ci/G][H, W] of one image and group that they read: row
 *  r = (c·Kh + ki)·Kw + kj reads plane c; through `table` when given. For dX computed in row
 *  blocks (conv.cc, conv_bf16.cc). */
void col2imAddRows(const float* rows, long ld, const ConvGeom& g, long r0, long r1, float* xp,
                   const OffsetTable* table = nullptr);

}  // namespace anative
