// Fully connected layers with bfloat16 weights w [F, D] (BF16-CONTRACT.md): x and dy rounded to
// bfloat16, float32 accumulation, db = Σ dy unrounded.
//
// At ISA levels avx512bf16 and avx512 (isa.h), on gemm_bf16.h's GEMMs (vdpbf16ps, or the FMA on
// widened operands), the forms of linear.cc:
//   forward  batch ≤ 4: the GEMV, streaming w's rows once (fc6: 75 MB in bfloat16 instead of
//            151 MB); batch 8…512: yᵀ[F, N] = w · xᵀ (14-row tiles along F, bias and ReLU fused),
//            transposed out; else y = x · wᵀ
//   backward batch 8…512: dxᵀ[D, N] = wᵀ · dyᵀ, transposed out; else dx = dy · w (the same sums
//            in the same order: bit for bit the same dx);  dw = dyᵀ · x
// A call carrying the weight's tag (linear_packs.h) takes w's panels for the two transposed
// products from the cache, packed once per write of w from that version's second call on (so
// once when inference starts, not per forward); without a tag it packs as it goes. The forward
// at batch ≤ 64 reads w in place instead (the tall-skinny GEMM, gemm_bf16.h) and keeps none.
// Below that level (and on arm64) the portable path: the fp32 kernels (linear.cc's forms, the
// same sums) on the rounded x and dy and w as float32 — widened as it is loaded where a forward
// streams it once (the GEMV at batch ≤ 4, the tall-skinny yᵀ = w·xᵀ at batch 8…64: fc6 reads
// 75 MB, not 75 + 151 + 151), else widened whole first.
#include <algorithm>
#include <cstdint>

#include "bf16.h"
#include "buffer.h"
#include "gemm.h"
#include "gemm_bf16.h"
#include "gemv.h"
#include "isa.h"
#include "kernels.h"
#include "linear_packs.h"
#include "relu.h"
#include "threadpool.h"

namespace anative {
namespace {

thread_local Buffer gWide, gRoundX, gRoundDy, gTransposed;  // per calling (JS) thread

// y[r, :] = relu?(y[r, :] + b) over the pool.
void biasRelu(float* y, const float* b, long n, long f, bool relu) {
  if (!b && !relu) return;
  parallelRange(n * f, 1 << 14, [&](long e0, long e1) {
    for (long e = e0; e < e1; e++) {
      const float v = y[e] + (b ? b[e % f] : 0.f);
      y[e] = relu ? anative::relu(v) : v;
    }
  });
}

// The transposed products (w or wᵀ the A operand, 14 rows along the output's long side) pay at
// batch 8…512 when both other sides are ≥ 4·batch.
bool transposedForm(long n, long rows, long depth) {
  return n >= 8 && n <= 512 && rows >= 4 * n && depth >= 4 * n;
}

// outT [rows, N] → out [N, rows], over the pool.
void transposeOut(const float* outT, float* out, long n, long rows) {
  parallelRange(rows, 256, [&](long c0, long c1) {
    for (long r = 0; r < n; r++)
      for (long c = c0; c < c1; c++) out[r * rows + c] = outT[c * n + r];
  });
}

#if defined(__x86_64__) || defined(_M_X64)
uint16_t* halves(Buffer& b, long n) {
  return reinterpret_cast<uint16_t*>(b.get(static_cast<size_t>((n + 1) / 2)));
}

void forwardNative(const float* x, const uint16_t* w, const float* b, float* y, long n, long d,
                   long f, bool relu, const int32_t* tag) {
  uint16_t* xr = halves(gRoundX, n * d);
  roundToBf16(x, xr, n * d);
  if (n <= GEMV_BF16_MAX_ROWS) {
    gemvBf16T(n, f, d, xr, d, w, d, y, f);
  } else if (transposedForm(n, f, d)) {
    float* yT = gTransposed.get(static_cast<size_t>(n) * f);  // [F, N], bias and ReLU applied
    // Where the GEMM reads w in place (batch ≤ 64: as fast as the panels, gemm_bf16.h), no
    // panels are kept for it.
    const bool panels = tag && !gemmBf16ReadsAInPlace(f, n);
    const uint32_t* pw = panels ? linearPanels(tag, PackLayout::Forward, w, f, d) : nullptr;
    gemmBf16(false, true, f, n, d, w, d, xr, d, false, yT, n, b, relu, pw);
    return transposeOut(yT, y, n, f);
  } else {
    gemmBf16(false, true, n, f, d, xr, d, w, d, false, y, f);
  }
  biasRelu(y, b, n, f, relu);
}

void backwardNative(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                    long n, long d, long f, const int32_t* tag) {
  uint16_t* dyr = halves(gRoundDy, n * f);
  roundToBf16(dy, dyr, n * f);
  if (dx && transposedForm(n, d, f)) {
    float* dxT = gTransposed.get(static_cast<size_t>(n) * d);  // [D, N]
    const uint32_t* pw = tag ? linearPanels(tag, PackLayout::Backward, w, f, d) : nullptr;
    gemmBf16(true, true, d, n, f, w, d, dyr, f, false, dxT, n, nullptr, false, pw);
    transposeOut(dxT, dx, n, d);
  } else if (dx) {
    gemmBf16(false, false, n, d, f, dyr, f, w, d, false, dx, d);
  }
  if (dw) {
    uint16_t* xr = halves(gRoundX, n * d);
    roundToBf16(x, xr, n * d);
    gemmBf16(true, false, f, d, n, dyr, f, xr, d, false, dw, d);
  }
}
#endif  // x86-64

// linearForward's forms on the rounded x and the widened w, with the same sums, bit for bit; w
// is read in place (widened as it is loaded) by the GEMV and the tall-skinny product, widened
// whole for the others.
void forwardPortable(const float* x, const uint16_t* w, const float* b, float* y, long n, long d,
                     long f, bool relu) {
  float* xr = gRoundX.get(static_cast<size_t>(n) * d);
  roundThroughBf16(x, xr, n * d);
  if (n <= GEMV_MAX_ROWS) {
    gemvTBf16(n, f, d, xr, d, w, d, y, f);
    return biasRelu(y, b, n, f, relu);
  }
  if (transposedForm(n, f, d)) {
    float* yT = gTransposed.get(static_cast<size_t>(n) * f);  // [F, N]
    if (sgemmTallSkinnyBf16A(f, n, d, w, d, xr, d, yT, n)) {
      transposeOut(yT, y, n, f);
      return biasRelu(y, b, n, f, relu);
    }
  }
  float* wf = gWide.get(static_cast<size_t>(f) * d);
  widenBf16(w, wf, f * d);
  linearForward(xr, wf, b, y, n, d, f, relu);
}

}  // namespace

void linearForwardBf16(const float* x, const uint16_t* w, const float* b, float* y, long n, long d,
                       long f, bool relu, const int32_t* tag) {
#if defined(__x86_64__) || defined(_M_X64)
  if (bf16Gemms()) return forwardNative(x, w, b, y, n, d, f, relu, tag);
#else
  (void)tag;
#endif
  forwardPortable(x, w, b, y, n, d, f, relu);
}

void linearBackwardBf16(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                        float* db, long n, long d, long f, const int32_t* tag) {
  // db = Σ dy of the unrounded dy, exactly as the fp32 kernel (it skips the null dx and dw)
  if (db) linearBackward(nullptr, nullptr, dy, nullptr, nullptr, db, n, d, f);
  if (!dx && !dw) return;
#if defined(__x86_64__) || defined(_M_X64)
  if (bf16Gemms()) return backwardNative(x, w, dy, dx, dw, n, d, f, tag);
#else
  (void)tag;
#endif
  float* wf = dx ? gWide.get(static_cast<size_t>(f) * d) : nullptr;
  if (dx) widenBf16(w, wf, f * d);
  float* xr = dw ? gRoundX.get(static_cast<size_t>(n) * d) : nullptr;
  if (dw) roundThroughBf16(x, xr, n * d);
  float* dyr = gRoundDy.get(static_cast<size_t>(n) * f);
  roundThroughBf16(dy, dyr, n * f);
  linearBackward(xr, wf, dyr, dx, dw, nullptr, n, d, f);
}

}  // namespace anative
