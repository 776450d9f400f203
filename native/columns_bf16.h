// A bfloat16 GEMM operand read in place, never stored (gemm_bf16.h's Bf16Columns: the implicit
// im2col of conv_bf16.cc), packed straight into the two engines' B panels (gemm_bf16.cc):
//   pairs  (vdpbf16ps): dst[kp][32] words, word j = (op(k+1, j) << 16) | op(k, j), k = p0 + 2·kp
//   widened (the FMA):  dst[k][32] floats, op(p0 + k, j) as float32
// for columns [j0, j0 + 32) clipped at n (zero beyond), depth [p0, p0 + kc) (an odd kc's last
// pair has a zero high half). The offsets along the runs' side (Bf16Columns::alongDepth) are cut
// into runs of consecutive elements per 32, so 32 values are one masked load per run (one or two
// where the lanes wrap to the next output row, up to four on a 13-wide map); maps too narrow for
// that are gathered.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

#include "gemm_bf16.h"

namespace anative {

void packColumnsPairs(const Bf16Columns& B, long n, long j0, long p0, long kc, uint32_t* dst);
void packColumnsWide(const Bf16Columns& B, long n, long j0, long p0, long kc, float* dst);

}  // namespace anative

#endif  // x86-64
