// The cache of packed bfloat16 linear weights (linear_packs.h).
#include "linear_packs.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <array>
#include <memory>
#include <unordered_map>

#include "buffer.h"
#include "gemm_bf16.h"
#include "isa.h"

namespace anative {
namespace {

struct Layout {
  int32_t version = -1;     // the tensor's version of the last call in this layout
  int calls = 0;            // calls of that version
  bool packed = false;      // words hold that version's panels
  Isa level = Isa::Scalar;  // ... in the layout of this ISA level's engine
  Buffer words;
};

using Panels = std::array<Layout, 2>;

thread_local std::unordered_map<long, std::unique_ptr<Panels>> gPanels;

}  // namespace

const uint32_t* linearPanels(const int32_t* tag, PackLayout layout, const uint16_t* w, long f,
                             long d) {
  std::unique_ptr<Panels>& slot = gPanels[tag[0]];
  if (!slot) slot = std::make_unique<Panels>();
  Layout& l = (*slot)[static_cast<int>(layout)];
  if (l.version != tag[1] || l.level != isaLevel()) {  // a new version, or another engine
    l.version = tag[1];
    l.calls = 0;
    l.packed = false;
    l.level = isaLevel();
  }
  if (++l.calls < 2) return nullptr;
  const bool fwd = layout == PackLayout::Forward;
  const long rows = fwd ? f : d, depth = fwd ? d : f;
  uint32_t* out = reinterpret_cast<uint32_t*>(l.words.get(packedABf16Words(rows, depth)));
  if (!l.packed) {
    // forward: A = w, rows along F; backward: A = wᵀ (transposed), rows along D
    packWholeABf16(!fwd, rows, depth, w, d, out);
    l.packed = true;
  }
  return out;
}

void releaseLinearPanels(long id) {
  gPanels.erase(id);
}

}  // namespace anative

#endif  // x86-64
