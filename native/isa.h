// Instruction-set selection. One binary runs on any x86-64: the fast paths are compiled with
// per-function target attributes and chosen at run time from what the CPU supports. A lower
// path can be forced (ALEXNET_ISA or setIsa) to test all three on one machine. On other
// architectures (arm64…) the x86 paths are not compiled and the ISA is always Scalar, the
// portable path; every use of an x86 intrinsic or header is inside
// `#if defined(__x86_64__) || defined(_M_X64)`.
#pragma once

namespace anative {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

/** Best ISA this CPU supports. */
Isa detectIsa();
/** ISA in use now. */
Isa currentIsa();
/** Force an ISA; throws std::runtime_error when the CPU lacks it. */
void setIsa(Isa isa);
const char* isaName(Isa isa);
/** Parse 'avx512' | 'avx2' | 'scalar'; throws on anything else. */
Isa parseIsa(const char* name);

}  // namespace anative
