// The cache of packed bfloat16 linear weights (linear_packs.h).
#include "linear_packs.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <array>
#include <memory>
#include <unordered_map>

#include "bf16.h"
#include "buffer.h"
#include "gemm_bf16.h"
#include "threadpool.h"

namespace anative {
namespace {

struct Panels {
  long f = 0, d = 0;
  int32_t version = -1;  // the tensor's version the packed layouts hold
  std::array<Buffer, 2> words;
  std::array<bool, 2> packed{{false, false}};
};

thread_local std::unordered_map<long, std::unique_ptr<Panels>> gPanels;

}  // namespace

const uint32_t* linearPanels(const int32_t* tag, PackLayout layout, const uint16_t* w, long f,
                             long d) {
  std::unique_ptr<Panels>& slot = gPanels[tag[0]];
  if (!slot) slot = std::make_unique<Panels>();
  Panels& p = *slot;
  p.f = f;
  p.d = d;
  if (p.version != tag[1]) {
    p.version = tag[1];
    p.packed = {{false, false}};
  }
  const int l = static_cast<int>(layout);
  const bool fwd = layout == PackLayout::Forward;
  const long rows = fwd ? f : d, depth = fwd ? d : f;
  uint32_t* out = reinterpret_cast<uint32_t*>(p.words[l].get(packedABf16Words(rows, depth)));
  if (!p.packed[l]) {
    // forward: A = w, rows along F; backward: A = wᵀ (transposed), rows along D
    packWholeABf16(!fwd, rows, depth, w, d, out);
    p.packed[l] = true;
  }
  return out;
}

void castLinearBf16(const float* x, uint16_t* y, long len, const int32_t* tag) {
  const auto it = gPanels.find(tag[0]);
  Panels* p = it == gPanels.end() ? nullptr : it->second.get();
  const bool fwd = p && p->packed[0] && p->f * p->d == len;
  const bool bwd = p && p->packed[1] && p->f * p->d == len;
  if (!fwd) roundToBf16(x, y, len);
  if (!p) return;
  p->version = tag[1];
  p->packed = {{false, false}};
  if (!fwd && !bwd) return;
  const long f = p->f, d = p->d;
  if (fwd) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p->words[0].p);
    const long panels = (f + BF16_MR - 1) / BF16_MR, slices = (d + BF16_KC - 1) / BF16_KC;
    parallelFor(static_cast<int>(panels * slices), [&](int t, int) {
      const long q = t % panels, s = t / panels;
      const long r0 = q * BF16_MR, r1 = std::min(f, r0 + BF16_MR);
      const long c0 = s * BF16_KC, c1 = std::min(d, c0 + BF16_KC);
      for (long r = r0; r < r1; r++) roundRunBf16(x + r * d + c0, y + r * d + c0, c1 - c0);
      packABf16Block(false, f, d, y, d, q, s, out);
    });
    p->packed[0] = true;
  }
  if (bwd) {
    packWholeABf16(true, d, f, y, d, reinterpret_cast<uint32_t*>(p->words[1].p));
    p->packed[1] = true;
  }
}

void releaseLinearPanels(long id) {
  gPanels.erase(id);
}

}  // namespace anative

#endif  // x86-64
