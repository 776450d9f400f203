#include "isa.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.h"

namespace anative {

#if defined(__x86_64__) || defined(_M_X64)
// AMX-TILE and AMX-BF16 (CPUID leaf 7: EDX bits 24 and 22), then the tile state: Linux hands a
// process the 8 KB of tile data only when it asks (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA);
// refused, or on another kernel, there is no Amx level.
static bool amxGranted() {
  static const bool granted = [] {
    unsigned eax, ebx, ecx, edx;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
    if (!((edx >> 24) & 1) || !((edx >> 22) & 1)) return false;
#if defined(__linux__)
    constexpr long ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return false;
#endif
  }();
  return granted;
}
#endif

Isa supportedIsa() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma")) {
    if (!__builtin_cpu_supports("avx512bf16")) return Isa::Avx512;
    return amxGranted() ? Isa::Amx : Isa::Avx512Bf16;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

Isa detectIsa() {
  static const Isa best = [] {
    const Isa s = supportedIsa();
    return s == Isa::Avx512Bf16 && !bf16DotOutrunsFma() ? Isa::Avx512 : s;
  }();
  return best;
}

static Isa initialIsa() {
  Isa best = supportedIsa();
  const char* env = std::getenv("ALEXNET_ISA");
  if (env && *env) {
    Isa want = parseIsa(env);  // a bad value is a usage error, reported when the addon loads
    if (static_cast<int>(want) <= static_cast<int>(best)) return want;
  }
  return detectIsa();
}

static Isa& isaRef() {
  static Isa isa = initialIsa();
  return isa;
}

Isa isaLevel() {
  return isaRef();
}

Isa currentIsa() {
  return static_cast<int>(isaRef()) >= static_cast<int>(Isa::Avx512) ? Isa::Avx512 : isaRef();
}

bool bf16Gemms() {
  return static_cast<int>(isaRef()) >= static_cast<int>(Isa::Avx512);
}

bool bf16DotProducts() {
  return isaRef() == Isa::Avx512Bf16;
}

bool bf16Tiles() {
  return isaRef() == Isa::Amx;
}

void setIsa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(supportedIsa()))
    throw std::runtime_error(std::string("this CPU does not support ") + isaName(isa));
  isaRef() = isa;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Amx:
      return "amx";
    case Isa::Avx512Bf16:
      return "avx512bf16";
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

Isa parseIsa(const char* name) {
  if (!std::strcmp(name, "amx")) return Isa::Amx;
  if (!std::strcmp(name, "avx512bf16")) return Isa::Avx512Bf16;
  if (!std::strcmp(name, "avx512")) return Isa::Avx512;
  if (!std::strcmp(name, "avx2")) return Isa::Avx2;
  if (!std::strcmp(name, "scalar")) return Isa::Scalar;
  throw std::runtime_error(std::string("unknown ISA '") + name +
                           "' (expected amx, avx512bf16, avx512, avx2 or scalar)");
}

}  // namespace anative
