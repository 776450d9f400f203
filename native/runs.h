// Lanes of an implicit im2col's panel row (im2col_pack.cc's float32 columns, columns_bf16.cc's
// bfloat16 ones) split into runs of consecutive offsets, so that a row is one masked load per
// run instead of a gather: lane l of run i reads base[off[i] + l].
#pragma once
#include <cstdint>

namespace anative {

struct Runs {
  static constexpr int MAX = 4;
  uint32_t mask[MAX];  // the run's lanes (up to 32)
  long off[MAX];       // the run's first offset less its first lane
  int n = 0;           // 0 where there are more than MAX runs (gather instead)
};

/** The runs of off[0, live), live ≤ 32. */
inline Runs findRuns(const int32_t* off, long live) {
  Runs r;
  for (long l = 0; l < live; l++) {
    if (l == 0 || off[l] != off[l - 1] + 1) {
      if (r.n == Runs::MAX) return Runs();
      r.mask[r.n] = 0;
      r.off[r.n] = off[l] - l;
      r.n++;
    }
    r.mask[r.n - 1] |= 1u << l;
  }
  return r;
}

}  // namespace anative
