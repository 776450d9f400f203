// N-API registration: the utilities (threads, ISA, peak, GEMM) and, under `kernels`, every kernel
// of the registry (kernels.h), by its table name. Typed arrays are shared with JavaScript without
// copies (.Data() already includes the view's byte offset). Kernel arguments are checked against
// their declaration in TypeScript (src/backend/declare.ts) before they get here: call kernels
// through nativeBackend, not the raw binding. Here only the element type of each array is
// checked. Every C++ failure comes back as a JavaScript Error with a message.
#include <napi.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "linear_packs.h"
#include "threadpool.h"

namespace {

using namespace anative;

struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

thread_local std::string fnName;  // the binding function being called, for messages

[[noreturn]] void fail(const std::string& msg) {
  throw ArgError(fnName + ": " + msg);
}

long intArg(const Napi::Value& v, const char* name, long min = 0) {
  if (!v.IsNumber()) fail(std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) || d > 9.0e15)
    fail(std::string(name) + " must be an integer ≥ " + std::to_string(min) + ", got " +
         std::to_string(d));
  return static_cast<long>(d);
}

double numArg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) fail(std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool boolArg(const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) fail(std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

template <typename T>
napi_typedarray_type arrayTypeOf();
template <>
napi_typedarray_type arrayTypeOf<float>() {
  return napi_float32_array;
}
template <>
napi_typedarray_type arrayTypeOf<int32_t>() {
  return napi_int32_array;
}
template <>
napi_typedarray_type arrayTypeOf<uint8_t>() {
  return napi_uint8_array;
}
template <>
napi_typedarray_type arrayTypeOf<uint16_t>() {
  return napi_uint16_array;
}

const char* arrayTypeName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array:
      return "Float32Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint16_array:
      return "Uint16Array";
    default:
      return "another typed array";
  }
}

// A typed array of exactly `expected` elements (expected < 0: any length ≥ 0), or null.
template <typename T>
T* arrayArg(const Napi::Value& v, const char* name, long expected, bool nullable = false,
            long* lengthOut = nullptr) {
  if (v.IsNull() || v.IsUndefined()) {
    if (nullable) return nullptr;
    fail(std::string(name) + " must not be null");
  }
  if (!v.IsTypedArray()) fail(std::string(name) + " must be a " + arrayTypeName(arrayTypeOf<T>()));
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != arrayTypeOf<T>())
    fail(std::string(name) + " must be a " + arrayTypeName(arrayTypeOf<T>()) + ", got " +
         arrayTypeName(ta.TypedArrayType()));
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  long len = static_cast<long>(a.ElementLength());
  if (expected >= 0 && len != expected)
    fail(std::string(name) + " has " + std::to_string(len) + " elements, expected " +
         std::to_string(expected));
  if (lengthOut) *lengthOut = len;
  return a.Data();
}

void needArgs(const Napi::CallbackInfo& info, size_t n) {
  if (info.Length() < n)
    fail("expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()));
}

// Wraps a binding so that argument errors and C++ exceptions become JS Errors.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* name, F body) {
  Napi::Env env = info.Env();
  fnName = name;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    throw Napi::TypeError::New(env, std::string("alexnet_native.") + e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, std::string("alexnet_native.") + name + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("alexnet_native.") + name + ": " + e.what());
  }
}

#define BINDING(NAME)                                         \
  Napi::Value NAME##Binding(const Napi::CallbackInfo& info) { \
    return guarded(info, #NAME, [&]() -> Napi::Value {
#define END_BINDING \
  });               \
  }

BINDING(setThreads)
needArgs(info, 1);
long n = intArg(info[0], "threads", 0);
if (n > 256) fail("threads must be at most 256");
anative::setThreads(static_cast<int>(n));
return info.Env().Undefined();
END_BINDING

BINDING(getThreads)
return Napi::Number::New(info.Env(), anative::getThreads());
END_BINDING

BINDING(isa)
return Napi::String::New(info.Env(), isaName(isaLevel()));
END_BINDING

BINDING(bestIsa)
return Napi::String::New(info.Env(), isaName(detectIsa()));
END_BINDING

BINDING(supportedIsa)
return Napi::String::New(info.Env(), isaName(supportedIsa()));
END_BINDING

BINDING(setIsa)
needArgs(info, 1);
if (!info[0].IsString()) fail("isa must be a string");
anative::setIsa(parseIsa(info[0].As<Napi::String>().Utf8Value().c_str()));
return info.Env().Undefined();
END_BINDING

BINDING(peakGflops)
needArgs(info, 1);
double s = numArg(info[0], "seconds");
if (!(s > 0 && s <= 60)) fail("seconds must be in (0, 60]");
return Napi::Number::New(info.Env(), anative::peakGflops(s));
END_BINDING

BINDING(peakBf16Gflops)
needArgs(info, 1);
double s = numArg(info[0], "seconds");
if (!(s > 0 && s <= 60)) fail("seconds must be in (0, 60]");
return Napi::Number::New(info.Env(), anative::peakBf16Gflops(s));
END_BINDING

BINDING(peakAmxGflops)
needArgs(info, 1);
double s = numArg(info[0], "seconds");
if (!(s > 0 && s <= 60)) fail("seconds must be in (0, 60]");
return Napi::Number::New(info.Env(), anative::peakAmxGflops(s));
END_BINDING

BINDING(lineOffset)
needArgs(info, 1);
if (!info[0].IsArrayBuffer()) fail("lineOffset takes an ArrayBuffer");
const auto at = reinterpret_cast<uintptr_t>(info[0].As<Napi::ArrayBuffer>().Data());
return Napi::Number::New(info.Env(), static_cast<double>(at % 64));
END_BINDING

BINDING(releaseLinearPanels)
needArgs(info, 1);
#if defined(__x86_64__) || defined(_M_X64)
anative::releaseLinearPanels(intArg(info[0], "id"));
#endif
return info.Env().Undefined();
END_BINDING

BINDING(gemm)
needArgs(info, 12);
bool ta = boolArg(info[0], "transA"), tb = boolArg(info[1], "transB");
long M = intArg(info[2], "M"), N = intArg(info[3], "N"), K = intArg(info[4], "K");
long lda = intArg(info[6], "lda", 1), ldb = intArg(info[8], "ldb", 1);
long ldc = intArg(info[11], "ldc", 1);
double beta = numArg(info[9], "beta");
if (beta != 0 && beta != 1) fail("beta must be 0 or 1");
long la, lb, lc;
const float* A = arrayArg<float>(info[5], "A", -1, false, &la);
const float* B = arrayArg<float>(info[7], "B", -1, false, &lb);
float* C = arrayArg<float>(info[10], "C", -1, false, &lc);
const long ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
if (lda < ac || ldb < bc || ldc < N) fail("leading dimension smaller than a row");
if (M && K && (ar - 1) * lda + ac > la) fail("A too short");
if (N && K && (br - 1) * ldb + bc > lb) fail("B too short");
if (M && N && (M - 1) * ldc + N > lc) fail("C too short");
sgemm(ta, tb, M, N, K, A, lda, B, ldb, static_cast<float>(beta), C, ldc);
return info.Env().Undefined();
END_BINDING

// ---- one N-API call of a kernel ----------------------------------------------------------------

class NapiCall final : public KernelCall {
 public:
  NapiCall(Napi::Array tensors, Napi::Object attrs) : tensors_(tensors), attrs_(attrs) {}
  float* f32(int i) override { return array<float>(i); }
  uint16_t* bf16(int i) override { return array<uint16_t>(i); }
  int32_t* i32(int i) override { return array<int32_t>(i); }
  uint8_t* u8(int i) override { return array<uint8_t>(i); }
  long length(int i) override {
    Napi::Value v = tensors_.Get(i);
    return v.IsTypedArray() ? static_cast<long>(v.As<Napi::TypedArray>().ElementLength()) : 0;
  }
  bool isBf16(int i) override {
    Napi::Value v = tensors_.Get(i);
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  }
  long integer(const char* key) override { return intArg(attrs_.Get(key), key, 0); }
  double number(const char* key) override { return numArg(attrs_.Get(key), key); }
  bool flag(const char* key) override { return boolArg(attrs_.Get(key), key); }
  std::string text(const char* key) override {
    Napi::Value v = attrs_.Get(key);
    if (!v.IsString()) fail(std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

 private:
  template <typename T>
  T* array(int i) {
    Napi::Value v = tensors_.Get(i);
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    return arrayArg<T>(v, ("tensor " + std::to_string(i)).c_str(), -1);
  }
  Napi::Array tensors_;
  Napi::Object attrs_;
};

Napi::Value kernelBinding(const Napi::CallbackInfo& info) {
  const auto* row = static_cast<const KernelRow*>(info.Data());
  return guarded(info, row->name, [&]() -> Napi::Value {
    needArgs(info, 2);
    if (!info[0].IsArray()) fail("tensors must be an array");
    if (!info[1].IsObject()) fail("attributes must be an object");
    NapiCall call(info[0].As<Napi::Array>(), info[1].As<Napi::Object>());
    row->fn(call);
    return info.Env().Undefined();
  });
}

// ---- attribute groups --------------------------------------------------------------------------

anative::ConvGeom convGeom(KernelCall& c) {
  return {c.integer("n"),    c.integer("cIn"),    c.integer("h"),  c.integer("w"),
          c.integer("cOut"), c.integer("kh"),     c.integer("kw"), c.integer("stride"),
          c.integer("pad"),  c.integer("groups"), c.integer("ho"), c.integer("wo")};
}

anative::PoolGeom poolGeom(KernelCall& c) {
  return {c.integer("n"),      c.integer("c"),   c.integer("h"),  c.integer("w"), c.integer("k"),
          c.integer("stride"), c.integer("pad"), c.integer("ho"), c.integer("wo")};
}

anative::LrnParams lrnParams(KernelCall& c) {
  anative::LrnParams p{};
  p.n = c.integer("n");
  p.c = c.integer("c");
  p.h = c.integer("h");
  p.w = c.integer("w");
  p.size = c.integer("size");
  p.alpha = static_cast<float>(c.number("alpha"));
  p.beta = static_cast<float>(c.number("beta"));
  p.k = static_cast<float>(c.number("k"));
  p.perSize = c.text("alphaScaling") == "per-size";
  return p;
}

anative::Activation activation(KernelCall& c) {
  const std::string s = c.text("kind");
  if (s == "relu") return anative::Activation::Relu;
  if (s == "tanh") return anative::Activation::Tanh;
  if (s == "sigmoid") return anative::Activation::Sigmoid;
  fail("activation must be 'relu', 'tanh' or 'sigmoid'");
}

float attrF(KernelCall& c, const char* key) {
  return static_cast<float>(c.number(key));
}

// The tag [id, version] of a bfloat16 linear weight that the native backend passes after the
// declared tensors (linear_packs.h), or null (a raw call: the kernel packs as it goes).
const int32_t* packTag(KernelCall& c, int i) {
  return c.length(i) == 2 ? c.i32(i) : nullptr;
}

}  // namespace

// ---- the table's kernels, tensors in their declared order ---------------------------------------

// A bfloat16 w (tensor 1) selects the mixed-precision kernels (conv_bf16.cc, linear_bf16.cc).
ANATIVE_KERNEL(conv2dForward) {
  if (call.isBf16(1))
    return anative::conv2dForwardBf16(call.f32(0), call.bf16(1), call.f32(2), call.f32(3),
                                      convGeom(call), call.flag("relu"));
  anative::conv2dForward(call.f32(0), call.f32(1), call.f32(2), call.f32(3), convGeom(call),
                         call.flag("relu"));
}
ANATIVE_KERNEL(conv2dBackward) {
  if (call.isBf16(1))
    return anative::conv2dBackwardBf16(call.f32(0), call.bf16(1), call.f32(2), call.f32(3),
                                       call.f32(4), call.f32(5), convGeom(call));
  anative::conv2dBackward(call.f32(0), call.f32(1), call.f32(2), call.f32(3), call.f32(4),
                          call.f32(5), convGeom(call));
}
ANATIVE_KERNEL(linearForward) {
  if (call.isBf16(1))
    return anative::linearForwardBf16(call.f32(0), call.bf16(1), call.f32(2), call.f32(3),
                                      call.integer("n"), call.integer("d"), call.integer("f"),
                                      call.flag("relu"), packTag(call, 4));
  anative::linearForward(call.f32(0), call.f32(1), call.f32(2), call.f32(3), call.integer("n"),
                         call.integer("d"), call.integer("f"), call.flag("relu"));
}
ANATIVE_KERNEL(linearBackward) {
  if (call.isBf16(1))
    return anative::linearBackwardBf16(call.f32(0), call.bf16(1), call.f32(2), call.f32(3),
                                       call.f32(4), call.f32(5), call.integer("n"),
                                       call.integer("d"), call.integer("f"), packTag(call, 6));
  anative::linearBackward(call.f32(0), call.f32(1), call.f32(2), call.f32(3), call.f32(4),
                          call.f32(5), call.integer("n"), call.integer("d"), call.integer("f"));
}
ANATIVE_KERNEL(maxPoolForward) {
  anative::maxPoolForward(call.f32(0), call.f32(1), call.i32(2), poolGeom(call));
}
ANATIVE_KERNEL(maxPoolBackward) {
  const auto g = poolGeom(call);
  const int32_t* am = call.i32(1);
  const long total = g.n * g.c * g.ho * g.wo, plane = g.h * g.w;
  for (long i = 0; i < total; i++)
    if (am[i] < 0 || am[i] >= plane)
      fail("argmax[" + std::to_string(i) + "] = " + std::to_string(am[i]) +
           " is outside its plane [0, " + std::to_string(plane) + ")");
  anative::maxPoolBackward(call.f32(0), am, call.f32(2), g);
}
ANATIVE_KERNEL(avgPoolForward) {
  anative::avgPoolForward(call.f32(0), call.f32(1), poolGeom(call));
}
ANATIVE_KERNEL(avgPoolBackward) {
  anative::avgPoolBackward(call.f32(0), call.f32(1), poolGeom(call));
}
ANATIVE_KERNEL(adaptiveAvgPoolForward) {
  anative::adaptiveAvgPoolForward(call.f32(0), call.f32(1), call.integer("n"), call.integer("c"),
                                  call.integer("h"), call.integer("w"), call.integer("ho"),
                                  call.integer("wo"));
}
ANATIVE_KERNEL(adaptiveAvgPoolBackward) {
  anative::adaptiveAvgPoolBackward(call.f32(0), call.f32(1), call.integer("n"), call.integer("c"),
                                   call.integer("h"), call.integer("w"), call.integer("ho"),
                                   call.integer("wo"));
}
ANATIVE_KERNEL(lrnForward) {
  anative::lrnForward(call.f32(0), call.f32(1), call.f32(2), lrnParams(call));
}
ANATIVE_KERNEL(lrnBackward) {
  anative::lrnBackward(call.f32(0), call.f32(1), call.f32(2), call.f32(3), call.f32(4),
                       lrnParams(call));
}
ANATIVE_KERNEL(activationForward) {
  anative::activationForward(activation(call), call.f32(0), call.f32(1), call.length(0));
}
ANATIVE_KERNEL(activationBackward) {
  anative::activationBackward(activation(call), call.f32(0), call.f32(1), call.f32(2),
                              call.length(0));
}
ANATIVE_KERNEL(dropoutApply) {
  anative::dropoutApply(call.f32(0), call.u8(1), attrF(call, "scale"), call.f32(2), call.length(0));
}
ANATIVE_KERNEL(scale) {
  anative::scaleArray(call.f32(0), attrF(call, "scale"), call.f32(1), call.length(0));
}
ANATIVE_KERNEL(softmaxCrossEntropy) {
  const double loss =
      anative::softmaxCrossEntropy(call.f32(0), call.i32(1), call.integer("n"), call.integer("l"),
                                   attrF(call, "smoothing"), call.f32(2), call.f32(3));
  call.f32(4)[0] = static_cast<float>(loss);
}
ANATIVE_KERNEL(sgdUpdate) {
  anative::sgdUpdate(call.f32(0), call.f32(1), call.f32(2), call.length(0), attrF(call, "lr"),
                     attrF(call, "momentum"), attrF(call, "weightDecay"), call.bf16(3));
}

namespace anative {
std::vector<KernelRow>& kernelTable() {
  static std::vector<KernelRow> table;
  return table;
}
}  // namespace anative

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A bad ALEXNET_ISA surfaces here, as a load error with the reason.
  try {
    (void)currentIsa();
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("alexnet_native: ") + e.what());
  }
#define EXPORT(NAME) exports.Set(#NAME, Napi::Function::New(env, NAME##Binding, #NAME))
  EXPORT(setThreads);
  EXPORT(getThreads);
  EXPORT(isa);
  EXPORT(bestIsa);
  EXPORT(supportedIsa);
  EXPORT(setIsa);
  EXPORT(peakGflops);
  EXPORT(peakBf16Gflops);
  EXPORT(peakAmxGflops);
  EXPORT(lineOffset);
  EXPORT(releaseLinearPanels);
  EXPORT(gemm);
#undef EXPORT
  Napi::Object kernels = Napi::Object::New(env);
  for (const KernelRow& row : kernelTable())
    kernels.Set(row.name,
                Napi::Function::New(env, kernelBinding, row.name, const_cast<KernelRow*>(&row)));
  exports.Set("kernels", kernels);
  return exports;
}

}  // namespace

NODE_API_MODULE(alexnet_native, Init)
