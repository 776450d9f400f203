// The bfloat16 linear weights packed once into the micro-kernel's panels (gemm_bf16.h), kept
// between calls. The native backend (src/backend/native/packs.ts) gives each bfloat16 weight it
// sees a tag [id, version]: id is never reused, version grows with every write to the tensor
// (a kernel output, an upload). A kernel call carrying a tag takes the panels packed from that
// version, packing them first when there are none; a call without one packs as it goes. Only the
// calling JavaScript thread touches its cache (thread_local).
//
// Two layouts of w [F, D] (each the A operand of packWholeABf16, pairs along the depth):
//   forward   w  [F, D]: yᵀ  = w · xᵀ    (pairs along D)
//   backward  wᵀ [D, F]: dxᵀ = wᵀ · dyᵀ  (pairs along F)
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

namespace anative {

enum class PackLayout { Forward = 0, Backward = 1 };

/** The panels of w [F, D] in `layout` for the weight tagged [id, version], packed now when the
 *  cache holds none of this version. */
const uint32_t* linearPanels(const int32_t* tag, PackLayout layout, const uint16_t* w, long f,
                             long d);

/** The cast into the weight tagged [id, version] (tag[1] already the new version): y[i] =
 *  floatToBf16(x[i]) for i < len, and the forward panels the cache held for the weight packed
 *  from the new values in the same pass (each 14 × 256 block rounded into y and packed while it
 *  is in cache), the backward ones from y after it. A weight without panels: just the cast. */
void castLinearBf16(const float* x, uint16_t* y, long len, const int32_t* tag);

/** Forgets (frees) the panels of weight `id` (the tensor was collected). */
void releaseLinearPanels(long id);

}  // namespace anative

#endif  // x86-64
