// The convolution forward on the AMX tiles (amx_conv.h).
#include "amx_conv.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "amx_tiles.h"
#include "bf16_lanes.h"
#include "buffer.h"
#include "isa.h"
#include "threadpool.h"
#include "transpose16.h"

namespace anative {
namespace {

#define ANATIVE_AMX \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,amx-tile,amx-bf16")))

constexpr long BLOCK = 32;  // output channels × positions per block: 2 × 2 tiles of 16 × 16
constexpr long WEIGHTS_IN_L2 = 1L << 20;  // bytes of weight rows a task keeps while it walks images

constexpr TileConfig convShapes() {  // 0–3 accumulators, 4–5 A (weights), 6–7 B (input)
  TileConfig cfg{};
  cfg.palette = 1;
  for (int t = 0; t < 8; t++) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  return cfg;
}
alignas(64) const TileConfig kConvShapes = convShapes();

thread_local Buffer gInput, gWeights;  // per calling (JS) thread
thread_local Buffer gPlane;            // per thread running a task: the plane it packed

constexpr long TILE_HALVES = 512;  // a B tile: 16 pairs × 16 output channels × 2

struct Plan {
  long s;         // the stride: a phase of s × s input pixels per position (stride 1: one)
  long cig, cog;  // input channels per group, output channels per group
  long cin, cp;   // channels per xn position (cig·s²), padded to a multiple of 32
  long slices;    // cp / 32: the A tiles of one tap
  long kh, kw;    // the tap grid on xn, ⌈Kh / s⌉ × ⌈Kw / s⌉
  long hp, wp;  // xn's rows and positions per row, ⌈(H + 2·pad) / s⌉ and ⌈(W + 2·pad) / s⌉
  long q;       // positions of an output plane, (Ho − 1)·Wp + Wo
  long qBlocks;  // ⌈q / 32⌉
  long plane;    // positions per image and group in xn: every tap of the last block inside
  long taps;     // kh·kw
};

// A stride-s convolution is the stride-1 convolution of the input's space-to-depth (position
// (ys, xs) holds the padded pixels (s·ys + dy, s·xs + dx), dy, dx < s, as cig·s² channels) with
// the kernel cut the same way, zero past Kh × Kw: output (oh, ow) reads xn rows oh … oh + kh − 1
// and positions ow … ow + kw − 1 of them, and Wp ≥ Wo + kw − 1 keeps each row's taps in the row.
Plan planOf(const ConvGeom& g) {
  Plan p;
  p.s = g.stride;
  p.cig = g.cIn / g.groups;
  p.cog = g.cOut / g.groups;
  p.cin = p.cig * p.s * p.s;
  p.cp = (p.cin + 31) / 32 * 32;
  p.slices = p.cp / 32;
  p.kh = (g.kh + p.s - 1) / p.s;
  p.kw = (g.kw + p.s - 1) / p.s;
  p.hp = (g.h + 2 * g.pad + p.s - 1) / p.s;
  p.wp = (g.w + 2 * g.pad + p.s - 1) / p.s;
  p.q = (g.ho - 1) * p.wp + g.wo;
  p.qBlocks = (p.q + BLOCK - 1) / BLOCK;
  // The last block's last tap reads position qBlocks·32 − 1 + (kh − 1)·Wp + kw − 1, past the
  // padded plane (Hp·Wp ≥ q + (kh − 1)·Wp + kw − 1).
  p.plane = std::max(p.hp * p.wp, p.qBlocks * BLOCK + (p.kh - 1) * p.wp + p.kw - 1);
  p.taps = p.kh * p.kw;
  return p;
}

// Rows [r0, r1) of image and group ig's plane of xn (xi): stride 1, xi[(ih + pad)·Wp + iw + pad]
// [c] = round(x[i][gi·cig + c][ih][iw]), 16 channels × 16 columns transposed in registers; zero
// in the padding, past the plane and for c ≥ cig.
ANATIVE_AMX void packRows(const float* x, const ConvGeom& g, const Plan& p, long ig, long r0,
                          long r1, uint16_t* xi) {
  const long hw = g.h * g.w, i = ig / g.groups, gi = ig % g.groups;
  for (long ihp = r0; ihp < r1; ihp++) {
    const long ih = ihp - g.pad;
    uint16_t* row = xi + ihp * p.wp * p.cp;
    const long last = ihp + 1 == p.hp ? p.plane - ihp * p.wp : p.wp;  // the last row: the slack
    if (ih < 0 || ih >= g.h) {
      std::memset(row, 0, sizeof(uint16_t) * last * p.cp);
      continue;
    }
    std::memset(row, 0, sizeof(uint16_t) * g.pad * p.cp);
    std::memset(row + (g.pad + g.w) * p.cp, 0, sizeof(uint16_t) * (last - g.pad - g.w) * p.cp);
    const float* src = x + (i * g.cIn + gi * p.cig) * hw + ih * g.w;
    for (long c0 = 0; c0 < p.cp; c0 += 16)
      for (long w0 = 0; w0 < g.w; w0 += 16) {
        const long cols = std::min<long>(16, g.w - w0);
        const __mmask16 m = static_cast<__mmask16>((1u << cols) - 1);
        __m512 v[16];
        for (long c = 0; c < 16; c++)
          v[c] = c0 + c < p.cig ? _mm512_maskz_loadu_ps(m, src + (c0 + c) * hw + w0)
                                : _mm512_setzero_ps();
        transpose16(v);  // v[j]: column w0 + j's 16 channels
        for (long j = 0; j < cols; j++)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + (g.pad + w0 + j) * p.cp + c0),
                              _mm512_cvtepi32_epi16(roundLanes(_mm512_castps_si512(v[j]))));
      }
  }
}

// Stride s > 1, rows [r0, r1) of xi: xi[ys·Wp + xs][(c·s + dy)·s + dx] = round(x[i][gi·cig + c]
// [s·ys + dy − pad][s·xs + dx − pad]), zero outside the image, for channels ≥ cin and past the
// plane. A position's s pixels of one source row are neighbours: 16 / s positions' worth are one
// vector, rounded and stored s halves to a position.
ANATIVE_AMX void packPhasedRows(const float* x, const ConvGeom& g, const Plan& p, long ig, long r0,
                                long r1, uint16_t* xi) {
  const long s = p.s, hw = g.h * g.w, span = 16 / s * s, width = p.wp * s;
  const long cp = p.cp, pad = g.pad, w = g.w, i = ig / g.groups, gi = ig % g.groups;
  const __mmask8 pixels = static_cast<__mmask8>((1u << s) - 1);
  const __m256i lanes = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (long ys = r0; ys < r1; ys++) {
    uint16_t* row = xi + ys * p.wp * cp;
    const long last = ys + 1 == p.hp ? p.plane - ys * p.wp : p.wp;  // the last row: the slack
    std::memset(row, 0, sizeof(uint16_t) * last * cp);
    for (long c = 0; c < p.cig; c++)
      for (long dy = 0; dy < s; dy++) {
        const long ih = s * ys + dy - pad;
        if (ih < 0 || ih >= g.h) continue;
        const float* src = x + (i * g.cIn + gi * p.cig + c) * hw + ih * w;
        uint16_t* dst = row + (c * s + dy) * s;
        // padded columns u0 … u0 + span − 1 (source u − pad): positions u0 / s …
        for (long u0 = 0; u0 < width; u0 += span, dst += span / s * cp) {
          const long a = std::max(0L, pad - u0), end = std::min(span, w + pad - u0);
          if (a >= end) continue;
          const __mmask16 m = static_cast<__mmask16>(((1u << end) - 1) & ~((1u << a) - 1));
          const __m256i h = _mm512_cvtepi32_epi16(
              roundLanes(_mm512_castps_si512(_mm512_maskz_expandloadu_ps(m, src + u0 + a - pad))));
          uint16_t* at = dst;
          for (long j = 0; j < span && u0 + j < width; j += s, at += cp)  // halves j … j + s − 1
            _mm_mask_storeu_epi16(at, pixels,
                                  _mm256_castsi256_si128(_mm256_permutexvar_epi16(
                                      _mm256_add_epi16(lanes, _mm256_set1_epi16(j)), h)));
        }
      }
  }
}

// Rows [r0, r1) of image and group ig's plane of xn (xi), at either stride.
void pack(const float* x, const ConvGeom& g, const Plan& p, long ig, long r0, long r1,
          uint16_t* xi) {
  if (p.s == 1)
    packRows(x, g, p, ig, r0, r1, xi);
  else
    packPhasedRows(x, g, p, ig, r0, r1, xi);
}

// Image and group ig's plane packed into this thread's gPlane.
const uint16_t* packOwn(const float* x, const ConvGeom& g, const Plan& p, long ig, long halves) {
  uint16_t* xi = reinterpret_cast<uint16_t*>(gPlane.get((halves + 1) / 2));
  pack(x, g, p, ig, 0, p.hp, xi);
  return xi;
}

// The B tiles: wv[((gi·Co/G + o)/16 · taps + t) · slices + s][r][o mod 16][e] = W(gi·cog + o,
// 32·s + 2·r + e, t), o over all groups. W(o, c, t) is xn channel c at tap t = (ti, tj): the
// kernel's w[o][c / s²][s·ti + c / s mod s][s·tj + c mod s], zero past the kernel and for c ≥ cin;
// or for the input gradient's convolution (stride 1, flipped: Co and Ci swapped, the taps
// reversed) w[gi·cig + c][o mod cog][taps − 1 − t]. Both are w[row(o) + at(t, c)]: the table
// at(t, c) (−1 for a zero) is built once, then the tiles are written in order, a task per 16
// output channels.
void packWeights(const uint16_t* w, const ConvGeom& g, const Plan& p, bool flipped, uint16_t* wv) {
  const long s = p.s, kernel = g.kh * g.kw;
  std::vector<long> at(p.taps * p.cp, -1);
  for (long t = 0; t < p.taps; t++)
    for (long c = 0; c < p.cin; c++) {
      const long ki = s * (t / p.kw) + c / s % s, kj = s * (t % p.kw) + c % s;
      if (flipped)
        at[t * p.cp + c] = c * p.cog * kernel + kernel - 1 - t;
      else if (ki < g.kh && kj < g.kw)
        at[t * p.cp + c] = c / (s * s) * kernel + ki * g.kw + kj;
    }
  parallelRange(g.cOut / 16, 1, [&](long b, long e) {
    long row[16];
    for (long ob = b; ob < e; ob++) {
      for (long o = 0; o < 16; o++) {
        const long oo = ob * 16 + o, gi = oo / p.cog;
        row[o] = flipped ? (gi * p.cig * p.cog + oo % p.cog) * kernel : oo * p.cig * kernel;
      }
      uint16_t* dst = wv + ob * p.taps * p.slices * TILE_HALVES;
      for (const long* a = at.data(); a < at.data() + at.size(); a += 2)
        for (long o = 0; o < 16; o++, dst += 2) {
          dst[0] = a[0] < 0 ? uint16_t{0} : w[row[o] + a[0]];
          dst[1] = a[1] < 0 ? uint16_t{0} : w[row[o] + a[1]];
        }
    }
  });
}

// out[j][r] = Σ over taps and channels of xn at position q0 + j · wᵀ column r (j < 16·(1 + both),
// r < 16·(1 + two)): the accumulators stay in the tiles over the whole depth. xa: the block's
// first position in xn; wb: its first output channels' B tiles. A plane's last block takes one
// position tile where its second would hold no output (conv3–5: 13 tiles of 16 in place of 7
// blocks of 32).
ANATIVE_AMX void block(const uint16_t* xa, const uint16_t* wb, const Plan& p, bool both, bool two,
                       float* out) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const long aStride = p.cp * 2, next = p.taps * p.slices * TILE_HALVES;
  for (long ki = 0; ki < p.kh; ki++)
    for (long kj = 0; kj < p.kw; kj++) {
      const uint16_t* at = xa + (ki * p.wp + kj) * p.cp;
      const uint16_t* bt = wb + (ki * p.kw + kj) * p.slices * TILE_HALVES;
      for (long s = 0; s < p.slices; s++) {
        _tile_loadd(4, at + 32 * s, aStride);
        if (both) _tile_loadd(5, at + 16 * p.cp + 32 * s, aStride);
        _tile_loadd(6, bt + s * TILE_HALVES, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (both) _tile_dpbf16ps(2, 5, 6);
        if (two) {
          _tile_loadd(7, bt + next + s * TILE_HALVES, 64);
          _tile_dpbf16ps(1, 4, 7);
          if (both) _tile_dpbf16ps(3, 5, 7);
        }
      }
    }
  _tile_stored(0, out, BLOCK * 4);
  if (two) _tile_stored(1, out + 16, BLOCK * 4);
  if (both) {
    _tile_stored(2, out + 16 * BLOCK, BLOCK * 4);
    if (two) _tile_stored(3, out + 16 * BLOCK + 16, BLOCK * 4);
  }
}

// The block (out[position][channel], rows ≤ 32 channels) into y (the block's first output
// channel of the image, planes Ho·Wo apart), + bias, ReLU (NaN kept): its positions [q0,
// min(q0 + 32, q)) that fall inside a row (ow < Wo), as runs; 16 positions × 16 channels
// transposed in registers, each channel's 16 stored with one masked store per run they cut.
ANATIVE_AMX void emit(const float* out, long rows, long q0, const ConvGeom& g, const Plan& p,
                      const float* bias, bool relu, float* y) {
  struct Run {
    long a, b, at;  // positions [q0 + a, q0 + b) at y + at + (q − q0)
  } runs[BLOCK];
  int nRuns = 0;
  for (long q = q0, end = std::min(q0 + BLOCK, p.q); q < end;) {
    const long oh = q / p.wp, ow = q % p.wp;
    if (ow >= g.wo) {  // the wrapped positions between two rows
      q += p.wp - ow;
      continue;
    }
    const long len = std::min(g.wo - ow, end - q);
    runs[nRuns++] = {q - q0, q - q0 + len, oh * g.wo + ow - (q - q0)};
    q += len;
  }
  const long plane = g.ho * g.wo;
  for (long j0 = 0; j0 < BLOCK; j0 += 16) {
    __mmask16 masks[BLOCK];
    for (int k = 0; k < nRuns; k++) {
      const long a = std::clamp(runs[k].a - j0, 0L, 16L), b = std::clamp(runs[k].b - j0, 0L, 16L);
      masks[k] = static_cast<__mmask16>(((1u << b) - 1) & ~((1u << a) - 1));
    }
    for (long r0 = 0; r0 < rows; r0 += 16) {
      __m512 v[16];
      for (int j = 0; j < 16; j++) v[j] = _mm512_load_ps(out + (j0 + j) * BLOCK + r0);
      transpose16(v);  // v[r]: channel r0 + r at positions q0 + j0 …
      for (int r = 0; r < 16; r++) {
        __m512 x = v[r];
        if (bias) x = _mm512_add_ps(x, _mm512_set1_ps(bias[r0 + r]));
        if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);  // max(0, x): NaN passes (relu.h)
        float* dst = y + (r0 + r) * plane + j0;
        for (int k = 0; k < nRuns; k++)
          if (masks[k]) _mm512_mask_storeu_ps(dst + runs[k].at, masks[k], x);
      }
    }
  }
}

// y = conv(round(x), W) + b, ReLU: W is w (forward) or, flipped, the input gradient's weights.
void convolve(const float* x, const uint16_t* w, const float* b, float* y, const ConvGeom& g,
              bool relu, bool flipped) {
  const Plan p = planOf(g);
  const long depth = p.taps * p.cp, planeHalves = p.plane * p.cp;
  uint16_t* wv = reinterpret_cast<uint16_t*>(gWeights.get((g.cOut * depth + 1) / 2));
  packWeights(w, g, p, flipped, wv);
  // A task: a run of 32-channel blocks of one group (weights ≤ WEIGHTS_IN_L2, so they stay in
  // L2 while the tasks beside it take the other images) for one image; image fastest. Enough
  // tasks for two per thread where the batch is small (batch 1: one block each).
  const long oBlocks = (p.cog + BLOCK - 1) / BLOCK, threads = getThreads();
  const long fit = std::max(1L, WEIGHTS_IN_L2 / (BLOCK * depth * 2));
  const long spread = std::max(1L, oBlocks * g.groups * g.n / (2 * threads));
  const long per = std::min({fit, spread, oBlocks}), runs = (oBlocks + per - 1) / per;
  const long tasks = g.groups * runs * g.n;
  // One run a plane: its task packs the plane into its own buffer, kept in L2 for the blocks.
  // Several: the planes are packed first, together.
  uint16_t* xn = nullptr;
  if (runs > 1) {
    xn = reinterpret_cast<uint16_t*>(gInput.get((g.n * g.groups * planeHalves + 1) / 2));
    parallelRange(g.n * g.groups * p.hp, p.s == 1 ? 16 : 4, [&](long b, long e) {
      for (long r = b; r < e;) {
        const long ig = r / p.hp, r1 = std::min(e, (ig + 1) * p.hp);
        pack(x, g, p, ig, r - ig * p.hp, r1 - ig * p.hp, xn + ig * planeHalves);
        r = r1;
      }
    });
  }
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    loadTileShapes(kConvShapes);
    alignas(64) float out[BLOCK * BLOCK];
    const long i = t % g.n, run = (t / g.n) % runs, gi = t / (g.n * runs), ig = i * g.groups + gi;
    const uint16_t* xi = xn ? xn + ig * planeHalves : packOwn(x, g, p, ig, planeHalves);
    for (long ob = run * per; ob < std::min(oBlocks, (run + 1) * per); ob++) {
      const long o0 = gi * p.cog + ob * BLOCK, rows = std::min(BLOCK, p.cog - ob * BLOCK);
      const uint16_t* wb = wv + o0 * depth;  // (o0 / 16) tiles of taps·slices each
      for (long qb = 0; qb < p.qBlocks; qb++) {
        block(xi + qb * BLOCK * p.cp, wb, p, qb * BLOCK + 16 < p.q, rows > 16, out);
        emit(out, rows, qb * BLOCK, g, p, b ? b + o0 : nullptr, relu,
             y + (i * g.cOut + o0) * g.ho * g.wo);
      }
    }
  });
}

}  // namespace

bool amxConvApplies(const ConvGeom& g) {
  return bf16Tiles() && g.stride <= 8 && (g.cOut / g.groups) % 16 == 0;
}

void amxConvForward(const float* x, const uint16_t* w, const float* b, float* y, const ConvGeom& g,
                    bool relu) {
  convolve(x, w, b, y, g, relu, false);
}

bool amxConvInputGradApplies(const ConvGeom& g) {
  return bf16Tiles() && g.stride == 1 && g.kh == g.kw && g.pad < g.kh &&
         (g.cIn / g.groups) % 16 == 0;
}

void amxConvInputGrad(const float* dy, const uint16_t* w, float* dx, const ConvGeom& g) {
  ConvGeom t = g;  // dX = dY (padded by K − 1 − pad) correlated with the flipped weights
  t.cIn = g.cOut;
  t.h = g.ho;
  t.w = g.wo;
  t.cOut = g.cIn;
  t.pad = g.kh - 1 - g.pad;
  t.ho = g.h;
  t.wo = g.w;
  convolve(dy, w, nullptr, dx, t, false, true);
}

}  // namespace anative

#endif  // x86-64
