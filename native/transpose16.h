// 16×16 float transpose in AVX-512 registers (shared by the GEMM's packing and im2col_pack), and
// the transposing pack built on it for float32 and bfloat16 rows.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace anative {

// r[i] = row i (16 floats) → r[i] = column i.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) inline void transpose16(
    __m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int h = 0; h < 16; h += 8) {
    for (int i = 0; i < 4; i++) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
      t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xDD);
    }
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
}

// 16 values of a row as float32, lanes past the mask zero: a float32 row as it is, a bfloat16 row
// widened (a bfloat16 is a float32's upper half).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) inline __m512 loadRow16(
    const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) inline __m512 loadRow16(
    const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

// dst[k·ldd + i] = src[i·lds + k] as float32 for i < nrows (zero for nrows ≤ i < 16), k < kc;
// each dst row gets `width` floats written (width ≤ 16).
template <typename T>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void transposePack(
    const T* src, long lds, long nrows, long kc, float* dst, long ldd, int width) {
  const __mmask16 storeMask = static_cast<__mmask16>((1u << width) - 1);
  for (long k0 = 0; k0 < kc; k0 += 16) {
    const long kn = std::min<long>(16, kc - k0);
    const __mmask16 loadMask = static_cast<__mmask16>((1u << kn) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++)
      r[i] = i < nrows ? loadRow16(src + i * lds + k0, loadMask) : _mm512_setzero_ps();
    transpose16(r);
    for (long kk = 0; kk < kn; kk++) _mm512_mask_storeu_ps(dst + (k0 + kk) * ldd, storeMask, r[kk]);
  }
}

}  // namespace anative

#endif  // x86-64
