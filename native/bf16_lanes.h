// bf16.h's rounding on 16 lanes at once (AVX-512): the same integer round to nearest, ties to
// even, NaN kept and quietened, bit for bit floatToBf16.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace anative {

/** The 16 float32 bit patterns u, each rounded to bfloat16 in the low half of its lane. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512i roundLanes(__m512i u) {
  const __m512i absMask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i quiet = _mm512_set1_epi32(0x40);
  const __m512i hi = _mm512_srli_epi32(u, 16);
  const __m512i r =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), _mm512_and_si512(hi, one)), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absMask), inf);
  return _mm512_mask_or_epi32(r, nan, hi, quiet);
}

}  // namespace anative

#endif  // x86-64
