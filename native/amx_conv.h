// A convolution's forward straight on the AMX tiles (level amx, isa.h): no column matrix. tdpbf16ps
// multiplies A[16 rows][16 pairs] by B[16 pairs][16 columns of pairs]:
//   A = the input, rounded, zero-padded and channels-last, xn[pos][c] (a tile: 16 neighbouring
//       output positions × 32 channels of one kernel tap, each row one cache line, rows cp
//       channels apart);
//   B = the weights, packed once per call into whole 1 KB tiles [o/16][tap][c/32][16 pairs][16 o].
// Output (oh, ow) is position q = oh·Wp + ow of the padded width Wp = W + 2·pad, and its tap
// (ki, kj) reads xn at q + ki·Wp + kj: along q every tap is one run, so a tile of 16 positions
// is one strided load. The Wp − Wo positions that wrap past a row's end are computed and dropped
// (13% of conv2's and conv3's work). Each 32 × 32 block of (position, output channel) keeps its
// four accumulators in the tiles over the whole depth (Ci·Kh·Kw), then goes out transposed, with
// bias and ReLU. Input channels are zero-padded to a multiple of 32 (alexnet2012's conv2 has 48
// per group). A stride s > 1 (conv1) is the stride-1 convolution of the input's space-to-depth:
// xn position (ys, xs) holds the s × s padded pixels (s·ys + dy, s·xs + dx) of every channel
// (cig·s² channels: conv1's 3·16 = 48, padded to 64), the kernel cut into ⌈K / s⌉² taps of them,
// zero past K (conv1: 3 × 3 taps of 64 channels, 576 deep for 363). Where a task takes a whole
// plane it packs the plane itself, into a buffer kept in L2 for its blocks (conv1's 13 MB of xn
// would not come back from memory). The sums run in one order per output (taps, then channels),
// whatever the threads.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

#include "kernels.h"

namespace anative {

/** amxConvForward computes g: level amx, stride ≤ 8, Co/G a multiple of 16. */
bool amxConvApplies(const ConvGeom& g);

/** y = conv(round(x), w) + b, then ReLU when relu (NaN kept): x, y float32 NCHW, w bfloat16
 *  [Co][Ci/G][Kh][Kw], b null or [Co]. */
void amxConvForward(const float* x, const uint16_t* w, const float* b, float* y, const ConvGeom& g,
                    bool relu);

/** amxConvInputGrad computes g's dX: level amx, stride 1, Kh = Kw > pad, Ci/G a multiple of 16. */
bool amxConvInputGradApplies(const ConvGeom& g);

/** dx = the input gradient of round(dy) through w (float32, written, not added): the forward
 *  convolution of dY padded by K − 1 − pad with the weights flipped and Ci, Co swapped. */
void amxConvInputGrad(const float* dy, const uint16_t* w, float* dx, const ConvGeom& g);

}  // namespace anative

#endif  // x86-64
