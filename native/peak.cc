// The machine's fp32 peak, measured: every pool thread runs independent FMA chains (12 of
// them, more than latency × pipes) in the widest ISA in use for `seconds`; the flops of all
// threads are summed over the wall time. Benchmarks report kernels as a fraction of this.
// peakBf16Gflops: the same with vdpbf16ps (AVX512-BF16), whose one instruction does 32
// multiply-adds of bfloat16 pairs into 16 float32 lanes: 64 FLOP (2 per multiply-add).
// peakAmxGflops: the AMX tiles' tdpbf16ps (16×16 float32 += 16×32 · 32×16 bfloat16: 16,384
// FLOP), four independent accumulator tiles over two A and two B tiles, as a GEMM's 2×2 block.
// bf16DotOutrunsFma compares the two loops on one thread, for the default ISA level (isa.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "amx_tiles.h"
#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

namespace anative {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long INNER = 1 << 14;

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("avx512f,fma"))) double burnAvx512(double seconds, float seed) {
  __m512 acc[12];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(seed * 1e-7f);
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps(seed + i);
  long iters = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long k = 0; k < INNER; k++)
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    iters += INNER;
  } while (Clock::now() < end);
  float sink = 0;
  for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(acc[i]);
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * 12 * 16 * 2;
}

__attribute__((target("avx2,fma"))) double burnAvx2(double seconds, float seed) {
  __m256 acc[12];
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(seed * 1e-7f);
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(seed + i);
  long iters = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long k = 0; k < INNER; k++)
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    iters += INNER;
  } while (Clock::now() < end);
  alignas(32) float out[8];
  float sink = 0;
  for (int i = 0; i < 12; i++) {
    _mm256_store_ps(out, acc[i]);
    for (float f : out) sink += f;
  }
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * 12 * 8 * 2;
}
__attribute__((target("avx512f,avx512bw,avx512bf16"))) double burnBf16(double seconds, float seed) {
  __m512 acc[12];
  // 1.0 and 2^-20 as bfloat16 pairs: the sums grow slowly and stay normal
  const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f803f80));
  const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x35803580));
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps(seed + i);
  long iters = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long k = 0; k < INNER; k++)
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    iters += INNER;
  } while (Clock::now() < end);
  float sink = 0;
  for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(acc[i]);
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * 12 * 32 * 2;
}

constexpr TileConfig peakShapes() {  // eight 16 × 64-byte tiles
  TileConfig cfg{};
  cfg.palette = 1;
  for (int t = 0; t < 8; t++) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  return cfg;
}
alignas(64) const TileConfig kPeakShapes = peakShapes();

__attribute__((target("amx-tile,amx-bf16"))) double burnAmx(double seconds) {
  loadTileShapes(kPeakShapes);  // kept loaded (the GEMMs' kernels load theirs when they start)
  alignas(64) static const uint16_t ones[16 * 32] = {};  // zeros: the sums stay 0, never denormal
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  long iters = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long k = 0; k < INNER / 16; k++) {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    iters += INNER / 16;
  } while (Clock::now() < end);
  alignas(64) float out[256];
  _tile_stored(0, out, 64);
  volatile float keep = out[0];
  (void)keep;
  return static_cast<double>(iters) * 4 * 16 * 16 * 32 * 2;
}
#endif  // x86-64

double burnScalar(double seconds, float seed) {
  float acc[16];
  for (int i = 0; i < 16; i++) acc[i] = seed + i;
  long iters = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    for (long k = 0; k < INNER; k++)
      for (int i = 0; i < 16; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    iters += INNER;
  } while (Clock::now() < end);
  float sink = 0;
  for (float f : acc) sink += f;
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * 16 * 2;
}

// GFLOP/s of burn(thread) (which returns its FLOP) on every pool thread at once, over the wall
// time.
template <class Burn>
double overThreads(const Burn& burn) {
  std::atomic<double> flops{0};
  const auto t0 = Clock::now();
  parallelEach([&](int t) {
    const double f = burn(t);
    double cur = flops.load();
    while (!flops.compare_exchange_weak(cur, cur + f)) {
    }
  });
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return flops.load() / wall / 1e9;
}

}  // namespace

double peakGflops(double seconds) {
#if defined(__x86_64__) || defined(_M_X64)
  const Isa isa = currentIsa();
  return overThreads([&](int t) {
    return isa == Isa::Avx512 ? burnAvx512(seconds, 1.f + t)
           : isa == Isa::Avx2 ? burnAvx2(seconds, 1.f + t)
                              : burnScalar(seconds, 1.f + t);
  });
#else
  return overThreads([&](int t) { return burnScalar(seconds, 1.f + t); });
#endif
}

double peakBf16Gflops(double seconds) {
#if defined(__x86_64__) || defined(_M_X64)
  if (static_cast<int>(supportedIsa()) < static_cast<int>(Isa::Avx512Bf16)) return std::nan("");
  return overThreads([&](int t) { return burnBf16(seconds, 1.f + t); });
#else
  (void)seconds;
  return std::nan("");
#endif
}

double peakAmxGflops(double seconds) {
#if defined(__x86_64__) || defined(_M_X64)
  if (supportedIsa() != Isa::Amx) return std::nan("");
  return overThreads([&](int) { return burnAmx(seconds); });
#else
  (void)seconds;
  return std::nan("");
#endif
}

bool bf16DotOutrunsFma() {
#if defined(__x86_64__) || defined(_M_X64)
  if (static_cast<int>(supportedIsa()) < static_cast<int>(Isa::Avx512Bf16)) return false;
  double dot = 0, fma = 0;  // FLOP per second, the best of three each
  for (int r = 0; r < 3; r++) {
    auto t0 = Clock::now();
    const double fd = burnBf16(5e-4, 1.f);
    auto t1 = Clock::now();
    const double ff = burnAvx512(5e-4, 1.f);
    auto t2 = Clock::now();
    dot = std::max(dot, fd / std::chrono::duration<double>(t1 - t0).count());
    fma = std::max(fma, ff / std::chrono::duration<double>(t2 - t1).count());
  }
  return dot > fma;
#else
  return false;
#endif
}

}  // namespace anative
