// The bfloat16 linear weights packed into the micro-kernel's panels (gemm_bf16.h) once per write
// and kept between calls. The native backend (src/backend/native/packs.ts) gives each bfloat16
// weight it sees a tag [id, version]: id is never reused, version grows with every write to the
// tensor (a kernel output such as the `cast` that refreshes a shadow, an upload). A call carrying
// a tag takes the panels packed from that version; without one it packs as it goes. Only the
// calling JavaScript thread touches its cache (thread_local).
//
// Panels are kept for a version only from its SECOND call in a layout: a training step uses each
// version of a weight once forward and once backward, so packing it once per step costs exactly
// what packing it per call does (measured: the two repacks added to the recast what the products
// saved) and would hold two more copies of every fc weight (234 MB for alexnet2012); inference
// and evaluation call each version many times and keep the forward panels.
//
// The panels are the bf16 GEMM engine's in use (vdpbf16ps pairs, or widened float32: gemm_bf16.h);
// a call on the other engine repacks. The forward at batch ≤ 64 reads w in place and keeps no
// panels (linear_bf16.cc).
// Two layouts of w [F, D] (each the A operand of packWholeABf16, along the depth):
//   forward   w  [F, D]: yᵀ  = w · xᵀ    (pairs along D)
//   backward  wᵀ [D, F]: dxᵀ = wᵀ · dyᵀ  (pairs along F)
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

namespace anative {

enum class PackLayout { Forward = 0, Backward = 1 };

/** The panels of w [F, D] in `layout` for the weight tagged [id, version]: null on the first call
 *  of this version in this layout (the caller packs as it goes), else packed (now, on the second
 *  call) and kept until the version changes. */
const uint32_t* linearPanels(const int32_t* tag, PackLayout layout, const uint16_t* w, long f,
                             long d);

/** Forgets (frees) the panels of weight `id` (the tensor was collected). */
void releaseLinearPanels(long id);

}  // namespace anative

#endif  // x86-64
