// Convolution with bfloat16 weights (BF16-CONTRACT.md): products of bfloat16 inputs — w as given,
// x and dy rounded to bfloat16 (RNE, bf16.h) — accumulated in float32; y, dx, dw, db float32 and
// db = Σ dy of the unrounded dy.
//
// At ISA levels avx512bf16 and avx512 (isa.h) the GEMMs are gemm_bf16.h's (on vdpbf16ps, or on
// the FMA with the operands widened as they are packed), structured as the fp32 conv (conv.cc): x
// and dy rounded to bfloat16 once; x into a zero-padded copy split into the stride's column phases,
// so that each row of the column matrix col is a few runs of it. col is never written: the GEMMs
// pack their B panels straight from the copy (an implicit im2col, gemm_bf16.h's Bf16Columns).
// Per group
//   forward   Y_g[Co/G, m·P] = W_g · col        (bias and ReLU fused into the GEMM's stores)
//   dW        dW_g[Co/G, Kc] = dY_g · colᵀ       (one partial per task, summed in task order)
//   dX        dcol[Kc, m·P]  = W_gᵀ · dY_g, then col2im in float32 (batch-parallel: in row
//             blocks, each added into dX as the GEMM finishes it, while it is in L2)
// parallel over chunks of images when n ≥ 2·threads — each chunk rounding its own images and dY
// into per-thread buffers, so no rounded copy of the whole batch is kept — else inside each GEMM
// (batch 1), on rounded copies of the whole (small) batch.
// At level amx the forward of a stride-1 convolution with Co/G a multiple of 16 (conv2–conv5)
// runs straight on the tiles instead (amx_conv.h: channels-last input, no column matrix), and
// so does its input gradient (a forward convolution of dY with the flipped weights).
// Below that level (and on arm64) the portable path: round x and dy, widen w, run the fp32
// kernels on exactly the same rounded inputs.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "amx_conv.h"
#include "bf16.h"
#include "bf16_lanes.h"
#include "buffer.h"
#include "col2im.h"
#include "gemm_bf16.h"
#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {
namespace {

thread_local Buffer gWide, gRoundX, gRoundDy;  // per calling (JS) thread

uint16_t* halves(Buffer& b, long n) {
  return reinterpret_cast<uint16_t*>(b.get(static_cast<size_t>((n + 1) / 2)));
}

long inputLength(const ConvGeom& g) {
  return g.n * g.cIn * g.h * g.w;
}
long weightLength(const ConvGeom& g) {
  return g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
}
long outputLength(const ConvGeom& g) {
  return g.n * g.cOut * g.ho * g.wo;
}

#if defined(__x86_64__) || defined(_M_X64)
// The native path runs only at the AVX-512 levels.
#define ANATIVE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

thread_local Buffer tDcol, tOut, tDyc, tPhased;  // per pool thread (chunk tasks)
thread_local Buffer gDcol, gPackedW, gPartial;   // per calling (JS) thread

// The rounded input, zero-padded and split into the stride's column phases, so that every row
// of the column matrix is a few runs of it with no bounds to check (conv1's stride 4 gathered one
// element in four otherwise; a 13×13 map cut each run into three pieces at the padding):
//   xd[n][c][ihp][ph][j] = round(x[n][c][ihp − pad][j·s + ph − pad])   (0 outside the image)
// ihp < Hp = H + 2·pad, j < Wd = ⌈(W + 2·pad) / s⌉. Output (oh, ow) of kernel offset (ki, kj)
// reads xd at row oh·s + ki, phase kj mod s, column ow + kj / s. PHASED_SLACK zeros follow, so a
// 32-bit read of the last element stays inside.
constexpr long PHASED_SLACK = 32;
long phaseWidth(const ConvGeom& g) {
  return (g.w + 2 * g.pad + g.stride - 1) / g.stride;
}
long phasedPlane(const ConvGeom& g) {
  return (g.h + 2 * g.pad) * g.stride * phaseWidth(g);
}
/** The phased rounded input of m images, with its slack. */
long phasedLength(const ConvGeom& g, long m) {
  return m * g.cIn * phasedPlane(g) + PHASED_SLACK;
}

// dst[0, n) = round(src[0, n)), 16 at a time: bf16.h's integer RNE (NaN kept, quietened).
ANATIVE_AVX512 void roundRun(const float* src, uint16_t* dst, long n) {
  for (long i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i v = roundLanes(_mm512_maskz_loadu_epi32(m, src + i));
    _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtepi32_epi16(v));
  }
}

// One padded rounded row padded[s·wd] split into its s column phases, dst[ph·wd + j] =
// padded[j·s + ph]: per step q = ⌊32/s⌋ columns of a phase, one vpermw from 32 values (conv1's
// stride 4: 8 columns per step); strides above 32 one value at a time.
ANATIVE_AVX512 void splitPhases(const uint16_t* padded, long s, long wd, uint16_t* dst) {
  if (s > 32) {
    for (long ph = 0; ph < s; ph++)
      for (long j = 0; j < wd; j++) dst[ph * wd + j] = padded[j * s + ph];
    return;
  }
  const long q = 32 / s, n = s * wd;
  const __m512i lane = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
                                        16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i strided = _mm512_mullo_epi16(lane, _mm512_set1_epi16(static_cast<short>(s)));
  for (long ph = 0; ph < s; ph++) {  // lane j of idx: j·s + ph (lanes ≥ q unused)
    const __m512i idx = _mm512_add_epi16(strided, _mm512_set1_epi16(static_cast<short>(ph)));
    for (long j0 = 0; j0 < wd; j0 += q) {
      const long left = n - j0 * s, cols = std::min(q, wd - j0);
      const __mmask32 in = left >= 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1ull << left) - 1);
      const __m512i v = _mm512_maskz_loadu_epi16(in, padded + j0 * s);
      _mm512_mask_storeu_epi16(dst + ph * wd + j0, static_cast<__mmask32>((1ull << cols) - 1),
                               _mm512_permutexvar_epi16(idx, v));
    }
  }
}

// The phased rounded input of images [n0, n0 + m) into xd, its PHASED_SLACK zeros included;
// over the pool, or serially inside a pool task (a chunk's own images).
void roundPhased(const float* x, const ConvGeom& g, long n0, long m, uint16_t* xd) {
  const long s = g.stride, wd = phaseWidth(g), hp = g.h + 2 * g.pad, first = n0 * g.cIn * hp;
  parallelRange(m * g.cIn * hp, 64, [&](long r0, long r1) {
    std::vector<uint16_t> row(s > 1 ? s * wd : 0);    // one padded rounded row, before the split
    for (long r = first + r0; r < first + r1; r++) {  // r = (plane, ihp) of the whole batch
      const long ih = r % hp - g.pad;
      uint16_t* dst = xd + (r - first) * s * wd;
      if (ih < 0 || ih >= g.h) {
        std::memset(dst, 0, sizeof(uint16_t) * s * wd);
        continue;
      }
      const float* src = x + ((r / hp) * g.h + ih) * g.w;
      uint16_t* padded = s == 1 ? dst : row.data();  // [pad zeros, the row, zeros] of s·wd
      std::memset(padded, 0, sizeof(uint16_t) * s * wd);
      roundRun(src, padded + g.pad, g.w);
      if (s > 1) splitPhases(padded, s, wd, dst);
    }
  });
  std::memset(xd + phasedLength(g, m) - PHASED_SLACK, 0, sizeof(uint16_t) * PHASED_SLACK);
}

// The column matrix of m phased images, one group, as the forward GEMM's B operand read in
// place (gemm_bf16.h): element (r, q) of col at base[row[r] + col[q]], base the group's first
// channel of the first image,
//   row[r = (c, ki, kj)] = (c·Hp + ki)·s·Wd + (kj mod s)·Wd + ⌊kj / s⌋
//   col[q = (i, oh, ow)] = i·Ci·Hp·s·Wd + oh·s·s·Wd + ow
// (the phased input's slack makes the element after the last readable).
struct ColumnTables {
  std::vector<int32_t> row, col;
  /** col, the forward's B; colᵀ, dW's. */
  Bf16Columns forward(const uint16_t* base) const { return {base, row.data(), col.data(), false}; }
  Bf16Columns dw(const uint16_t* base) const { return {base, col.data(), row.data(), true}; }
};
ColumnTables columnTables(const ConvGeom& g, long m) {
  const long s = g.stride, wd = phaseWidth(g), hp = g.h + 2 * g.pad, kk = g.kh * g.kw;
  const long image = g.cIn * phasedPlane(g);
  ColumnTables t;
  t.row.resize(g.cIn / g.groups * kk);
  for (long r = 0; r < static_cast<long>(t.row.size()); r++) {
    const long c = r / kk, ki = (r % kk) / g.kw, kj = r % g.kw;
    t.row[r] = static_cast<int32_t>((c * hp + ki) * s * wd + (kj % s) * wd + kj / s);
  }
  t.col.resize(m * g.ho * g.wo);
  for (long i = 0, q = 0; i < m; i++)
    for (long oh = 0; oh < g.ho; oh++)
      for (long ow = 0; ow < g.wo; ow++, q++)
        t.col[q] = static_cast<int32_t>(i * image + oh * s * s * wd + ow);
  return t;
}

bool batchParallel(const ConvGeom& g, int threads) {
  return threads == 1 || g.n >= 2 * threads;
}

// Images per chunk: at most about 512 columns (the GEMM's NC) per chunk, the largest such count
// that gives a multiple of `threads` chunks (32 images of 13×13 in chunks of 3 are 11 chunks, 6
// on one thread and 5 on the other; chunks of 2 are 16), else the largest.
long chunkImages(const ConvGeom& g, int threads) {
  const long nb = std::max(1L, std::min(g.n, 512 / (g.ho * g.wo)));
  for (long b = nb; b >= std::max(1L, nb / 2); b--)
    if (((g.n + b - 1) / b) % threads == 0) return b;
  return nb;
}

void forwardNative(const float* x, const uint16_t* w, const float* b, float* y, const ConvGeom& g,
                   bool relu) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo;
  const int threads = getThreads();
  const long plane = phasedPlane(g);
  if (!batchParallel(g, threads)) {  // per image and group, the GEMM's B read from the image
    uint16_t* xr = halves(gRoundX, phasedLength(g, g.n));
    roundPhased(x, g, 0, g.n, xr);
    const ColumnTables tables = columnTables(g, 1);
    auto group = [&](long n0, long gi, bool serial) {
      const Bf16Columns cols = tables.forward(xr + (n0 * g.cIn + gi * cig) * plane);
      float* yg = y + (n0 * g.cOut + gi * cog) * P;
      const float* bg = b ? b + gi * cog : nullptr;
      if (serial)
        gemmBf16ColumnsBlock(cog, P, kc, 0, cog, 0, P, w + gi * cog * kc, kc, cols, false, yg, P,
                             bg, relu);
      else
        gemmBf16Columns(cog, P, kc, w + gi * cog * kc, kc, cols, false, yg, P, bg, relu);
    };
    for (long n0 = 0; n0 < g.n; n0++) {
      if (G % threads == 0)  // a group per thread, one dispatch (conv2, conv4, conv5 at G = 2)
        parallelFor(static_cast<int>(G), [&](int gi, int) { group(n0, gi, true); });
      else
        for (long gi = 0; gi < G; gi++) group(n0, gi, false);
    }
    return;
  }
  const long nb = chunkImages(g, threads), tasks = (g.n + nb - 1) / nb;
  const ColumnTables tables = columnTables(g, nb);
  const size_t wPack = packedABf16Words(cog, kc);  // the weights packed once, not per chunk
  uint32_t* packedW = reinterpret_cast<uint32_t*>(gPackedW.get(wPack * G));
  for (long gi = 0; gi < G; gi++)
    packWholeABf16(false, cog, kc, w + gi * cog * kc, kc, packedW + gi * wPack);
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    const long n0 = t * nb, m = std::min(nb, g.n - n0), ld = m * P;
    uint16_t* xc = halves(tPhased, phasedLength(g, m));  // this chunk's images, rounded
    roundPhased(x, g, n0, m, xc);
    float* out = m > 1 ? tOut.get(static_cast<size_t>(cog) * ld) : nullptr;
    for (long gi = 0; gi < G; gi++) {
      float* c = m > 1 ? out : y + (n0 * g.cOut + gi * cog) * P;
      gemmBf16ColumnsBlock(cog, ld, kc, 0, cog, 0, ld, nullptr, 0,
                           tables.forward(xc + gi * cig * plane), false, c, ld,
                           b ? b + gi * cog : nullptr, relu, packedW + gi * wPack);
      if (m > 1)
        for (long i = 0; i < m; i++)
          for (long o = 0; o < cog; o++)
            std::memcpy(y + ((n0 + i) * g.cOut + gi * cog + o) * P, out + o * ld + i * P,
                        sizeof(float) * P);
    }
  });
}

// Tasks per pool thread in the batch-parallel backward: each task takes consecutive chunks of
// images and keeps one dW partial, so the partials take TASKS_PER_THREAD·threads weight sizes,
// not one per chunk (alexnet2012's conv3 at batch 128: 64 chunks of 2 images, 226 MB), while
// the tasks still balance a thread that is slowed down.
constexpr long TASKS_PER_THREAD = 4;

void backwardNative(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                    const ConvGeom& g) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo, wl = weightLength(g), plane = phasedPlane(g);
  const int threads = getThreads();
  if (!batchParallel(g, threads)) {  // per image and group
    uint16_t* dyr = halves(gRoundDy, outputLength(g));
    roundToBf16(dy, dyr, outputLength(g));
    uint16_t* xr = dw ? halves(gRoundX, phasedLength(g, g.n)) : nullptr;
    if (dw) roundPhased(x, g, 0, g.n, xr);
    // A group per thread where they divide (one dispatch per image), else each step parallel
    const bool perGroup = G % threads == 0;
    const long bufs = perGroup ? G : 1;
    float* dcols = dx ? gDcol.get(static_cast<size_t>(bufs * kc * P)) : nullptr;
    const ColumnTables tables = dw ? columnTables(g, 1) : ColumnTables();  // dW's colᵀ
    auto group = [&](long n0, long gi, bool serial) {
      const uint16_t* dyg = dyr + (n0 * g.cOut + gi * cog) * P;
      float* dcol = dx ? dcols + (perGroup ? gi : 0) * kc * P : nullptr;
      if (dw) {  // dW_g = dY_g · colᵀ, colᵀ read from the image
        const Bf16Columns colT = tables.dw(xr + (n0 * g.cIn + gi * cig) * plane);
        if (serial)
          gemmBf16ColumnsBlock(cog, kc, P, 0, cog, 0, kc, dyg, P, colT, n0 > 0, dw + gi * cog * kc,
                               kc);
        else
          gemmBf16Columns(cog, kc, P, dyg, P, colT, n0 > 0, dw + gi * cog * kc, kc);
      }
      if (dx) {
        if (serial)
          gemmBf16Block(true, false, kc, P, cog, 0, kc, 0, P, w + gi * cog * kc, kc, dyg, P, false,
                        dcol, P, nullptr, false);
        else
          gemmBf16(true, false, kc, P, cog, w + gi * cog * kc, kc, dyg, P, false, dcol, P);
        parallelFor(static_cast<int>(cig), [&](int c, int) {  // serial inside a task
          col2imPlane(dcol, P, g, c, dx + (n0 * g.cIn + gi * cig + c) * g.h * g.w);
        });
      }
    };
    for (long n0 = 0; n0 < g.n; n0++) {
      if (perGroup)
        parallelFor(static_cast<int>(G), [&](int gi, int) { group(n0, gi, true); });
      else
        for (long gi = 0; gi < G; gi++) group(n0, gi, false);
    }
    return;
  }
  // Each chunk rounds its own images and dY as it goes (no rounded copy of the whole batch).
  const long nb = chunkImages(g, threads), chunks = (g.n + nb - 1) / nb;
  const long per = (chunks + TASKS_PER_THREAD * threads - 1) / (TASKS_PER_THREAD * threads);
  const long tasks = (chunks + per - 1) / per;
  // dW: one partial per task, summed at the end in task order, so the result does not depend on
  // which thread happened to take which task (runs are reproducible bit for bit).
  float* partial = dw ? gPartial.get(static_cast<size_t>(tasks) * wl) : nullptr;
  const size_t wPack = packedABf16Words(kc, cog);  // W_gᵀ, dX's A operand, packed once
  uint32_t* packedWt = dx ? reinterpret_cast<uint32_t*>(gPackedW.get(wPack * G)) : nullptr;
  if (dx)
    for (long gi = 0; gi < G; gi++)
      packWholeABf16(true, kc, cog, w + gi * cog * kc, kc, packedWt + gi * wPack);
  const ColumnTables tables = dw ? columnTables(g, nb) : ColumnTables();  // dW's colᵀ
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    for (long k = t * per; k < std::min(chunks, (t + 1) * per); k++) {
      const long n0 = k * nb, m = std::min(nb, g.n - n0), ld = m * P;
      uint16_t* xc = dw ? halves(tPhased, phasedLength(g, m)) : nullptr;
      if (dw) roundPhased(x, g, n0, m, xc);
      const long rows = col2imBlockRows(ld, BF16_MR);
      float* dcol = dx ? tDcol.get(static_cast<size_t>(rows) * ld) : nullptr;
      uint16_t* dyc = halves(tDyc, cog * ld);
      for (long gi = 0; gi < G; gi++) {
        for (long o = 0; o < cog; o++)  // dY_g of this chunk, rounded, as [cog, m·P]
          for (long i = 0; i < m; i++)
            roundRun(dy + ((n0 + i) * g.cOut + gi * cog + o) * P, dyc + o * ld + i * P, P);
        if (dw)
          gemmBf16ColumnsBlock(cog, kc, ld, 0, cog, 0, kc, dyc, ld,
                               tables.dw(xc + gi * cig * plane), k > t * per,
                               partial + t * wl + gi * cog * kc, kc);
        if (dx) {  // dcol in row blocks, each added into dX while it is in cache
          const long hw = g.h * g.w;
          for (long i = 0; i < m; i++)
            std::memset(dx + ((n0 + i) * g.cIn + gi * cig) * hw, 0, sizeof(float) * cig * hw);
          gemmBf16PackedARowBlocks(packedWt + gi * wPack, kc, ld, cog, dyc, ld, dcol, ld, rows,
                                   [&](long r0, long r1) {
                                     for (long i = 0; i < m; i++)
                                       col2imAddRows(dcol + i * P, ld, g, r0, r1,
                                                     dx + ((n0 + i) * g.cIn + gi * cig) * hw);
                                   });
        }
      }
    }
  });
  if (dw) {
    parallelRange(wl, 1 << 14, [&](long b, long e) {
      std::memcpy(dw + b, partial + b, sizeof(float) * (e - b));
      for (long k = 1; k < tasks; k++)
        for (long i = b; i < e; i++) dw[i] += partial[k * wl + i];
    });
  }
}
#endif  // x86-64

}  // namespace

void conv2dForwardBf16(const float* x, const uint16_t* w, const float* b, float* y,
                       const ConvGeom& g, bool relu) {
#if defined(__x86_64__) || defined(_M_X64)
  if (amxConvApplies(g)) return amxConvForward(x, w, b, y, g, relu);
  if (bf16Gemms()) return forwardNative(x, w, b, y, g, relu);
#endif
  float* wf = gWide.get(weightLength(g));
  widenBf16(w, wf, weightLength(g));
  float* xr = gRoundX.get(inputLength(g));
  roundThroughBf16(x, xr, inputLength(g));
  conv2dForward(xr, wf, b, y, g, relu);
}

void conv2dBackwardBf16(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                        float* db, const ConvGeom& g) {
  // db = Σ dy of the unrounded dy, exactly as the fp32 kernel (it skips the null dx and dw)
  if (db) conv2dBackward(nullptr, nullptr, dy, nullptr, nullptr, db, g);
  if (!dx && !dw) return;
#if defined(__x86_64__) || defined(_M_X64)
  if (dx && amxConvInputGradApplies(g)) {  // dX on the tiles directly, dW below
    amxConvInputGrad(dy, w, dx, g);
    if (!dw) return;
    dx = nullptr;
  }
  if (bf16Gemms()) return backwardNative(x, w, dy, dx, dw, g);
#endif
  float* wf = dx ? gWide.get(weightLength(g)) : nullptr;
  if (dx) widenBf16(w, wf, weightLength(g));
  float* xr = dw ? gRoundX.get(inputLength(g)) : nullptr;
  if (dw) roundThroughBf16(x, xr, inputLength(g));
  float* dyr = gRoundDy.get(outputLength(g));
  roundThroughBf16(dy, dyr, outputLength(g));
  conv2dBackward(xr, wf, dyr, dx, dw, nullptr, g);
}

}  // namespace anative
