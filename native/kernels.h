// The native kernels, plain C++ over raw pointers, and the table that registers them by the names
// of the kernel table (src/backend/kernels.ts). Letters: N batch, C/Ci input channels, Co output
// channels, H/W input map, Ho/Wo output map, G groups, Kh/Kw kernel, D input features, F output
// features, L classes. Every backward kernel OVERWRITES its outputs; a null output is skipped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace anative {

// ---- the registry ----------------------------------------------------------------------------
// One call of a kernel: its tensors by position, in the order src/backend/kernels.ts declares
// them (their dtypes and element counts already checked against the declaration there), and its
// attributes by name. A tensor accessor returns null for a null argument.
class KernelCall {
 public:
  virtual ~KernelCall() = default;
  virtual float* f32(int i) = 0;
  virtual uint16_t* bf16(int i) = 0;  // bfloat16: the upper half of a float32
  virtual int32_t* i32(int i) = 0;
  virtual uint8_t* u8(int i) = 0;
  virtual long length(int i) = 0;                 // elements of tensor i
  virtual bool isBf16(int i) = 0;                 // tensor i holds bfloat16 (else float32)
  virtual long integer(const char* key) = 0;      // an `int` attribute
  virtual double number(const char* key) = 0;     // a `num` attribute
  virtual bool flag(const char* key) = 0;         // a `bool` attribute
  virtual std::string text(const char* key) = 0;  // a `oneOf` attribute
};

using KernelFn = void (*)(KernelCall&);
struct KernelRow {
  const char* name;
  KernelFn fn;
};

// Every registered kernel; the addon exports each under its name.
std::vector<KernelRow>& kernelTable();

struct RegisterKernel {
  RegisterKernel(const char* name, KernelFn fn) { kernelTable().push_back({name, fn}); }
};

// Registers the kernel NAME of the table; the body that follows unpacks `call`. Usable in any
// source file, so a kernel's native version lives in one place.
#define ANATIVE_KERNEL(NAME)                                       \
  static void NAME##Kernel(::anative::KernelCall& call);           \
  static ::anative::RegisterKernel NAME##Row(#NAME, NAME##Kernel); \
  static void NAME##Kernel(::anative::KernelCall& call)

// ---- the kernel bodies -----------------------------------------------------------------------

struct ConvGeom {
  long n, cIn, h, w, cOut, kh, kw, stride, pad, groups, ho, wo;
};

struct PoolGeom {
  long n, c, h, w, k, stride, pad, ho, wo;
};

struct LrnParams {
  long n, c, h, w, size;
  float alpha, beta, k;
  bool perSize;  // s = alpha/size ('per-size') or alpha ('absolute')
};

enum class Activation { Relu, Tanh, Sigmoid };

// conv.cc — x: [N, Ci, H, W]  w: [Co, Ci/G, Kh, Kw]  b: [Co] | null  y, dy: [N, Co, Ho, Wo]
void conv2dForward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                   bool relu);
void conv2dBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, const ConvGeom& g);

// conv.cc (fully connected shares the GEMM) — x: [N, D]  w: [F, D]  b: [F]  y, dy: [N, F]
void linearForward(const float* x, const float* w, const float* b, float* y, long n, long d, long f,
                   bool relu);
void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, long n, long d, long f);

// conv_bf16.cc, linear_bf16.cc — the same four with bfloat16 weights (BF16-CONTRACT.md): x and
// dy rounded to bfloat16 as they are read, float32 accumulation, every output float32; `tag`
// (linear: [id, version] of w, or null) lets the products reuse w's packed panels (linear_packs.h)
void conv2dForwardBf16(const float* x, const uint16_t* w, const float* b, float* y,
                       const ConvGeom& g, bool relu);
void conv2dBackwardBf16(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                        float* db, const ConvGeom& g);
void linearForwardBf16(const float* x, const uint16_t* w, const float* b, float* y, long n, long d,
                       long f, bool relu, const int32_t* tag);
void linearBackwardBf16(const float* x, const uint16_t* w, const float* dy, float* dx, float* dw,
                        float* db, long n, long d, long f, const int32_t* tag);

// pool.cc — x, dx: [N, C, H, W]  y, dy, argmax: [N, C, Ho, Wo]
void maxPoolForward(const float* x, float* y, int32_t* argmax, const PoolGeom& g);
void maxPoolBackward(const float* dy, const int32_t* argmax, float* dx, const PoolGeom& g);
void avgPoolForward(const float* x, float* y, const PoolGeom& g);
void avgPoolBackward(const float* dy, float* dx, const PoolGeom& g);
void adaptiveAvgPoolForward(const float* x, float* y, long n, long c, long h, long w, long ho,
                            long wo);
void adaptiveAvgPoolBackward(const float* dy, float* dx, long n, long c, long h, long w, long ho,
                             long wo);

// lrn.cc — all [N, C, H, W]
void lrnForward(const float* x, float* y, float* scale, const LrnParams& p);
void lrnBackward(const float* x, const float* y, const float* scale, const float* dy, float* dx,
                 const LrnParams& p);

// elementwise.cc — any shape, `len` elements; outputs may alias inputs
void activationForward(Activation kind, const float* x, float* y, long len);
void activationBackward(Activation kind, const float* y, const float* dy, float* dx, long len);
void dropoutApply(const float* x, const uint8_t* mask, float scale, float* y, long len);
void scaleArray(const float* x, float scale, float* y, long len);

// loss.cc — logits, probs, dlogits: [N, L]  labels: [N]; returns the mean loss
double softmaxCrossEntropy(const float* logits, const int32_t* labels, long n, long l,
                           float smoothing, float* probs, float* dlogits);

// sgd.cc — w, g, v: [len]; w16 (or null): [len], bfloat16 of the updated w
void sgdUpdate(float* w, const float* g, float* v, long len, float lr, float momentum,
               float weightDecay, uint16_t* w16);

// peak.cc — fp32 FMA throughput over the pool's threads, in GFLOP/s; and bfloat16 vdpbf16ps
// throughput (2 FLOP per multiply-add; NaN without AVX512-BF16); the AMX tiles' tdpbf16ps
// throughput (NaN below level amx)
double peakGflops(double seconds);
double peakBf16Gflops(double seconds);
double peakAmxGflops(double seconds);
/** On the calling thread, whether vdpbf16ps does more FLOP per second than the AVX-512 FMA
 *  (three alternated ~0.5 ms runs of each, the best of each compared); false without
 *  AVX512-BF16. Measured here: AMD EPYC Zen 4 233 against 115 GFLOP/s per core (true); the Intel
 *  Xeon without AMX, 83 against 167 (false: its vdpbf16ps issues every other cycle). */
bool bf16DotOutrunsFma();

}  // namespace anative
