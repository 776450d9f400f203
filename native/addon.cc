// N-API registration. Typed arrays are shared with JavaScript without copies (.Data() already
// includes the view's byte offset). Every argument is checked against the geometry before a
// kernel runs, and every C++ failure comes back as a JavaScript Error with a message.
#include <napi.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "isa.h"
#include "kernels.h"
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

const char* arrayTypeName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array:
      return "Float32Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint8_array:
      return "Uint8Array";
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

long field(const Napi::Object& o, const char* key, long min) {
  return intArg(o.Get(key), key, min);
}

long outSize(long in, long k, long stride, long pad) {
  return (in + 2 * pad - k) / stride + 1;
}

anative::ConvGeom convGeomArg(const Napi::Value& v) {
  if (!v.IsObject()) fail("geometry must be an object");
  Napi::Object o = v.As<Napi::Object>();
  anative::ConvGeom g{field(o, "n", 1),      field(o, "cIn", 1),    field(o, "h", 1),
                      field(o, "w", 1),      field(o, "cOut", 1),   field(o, "kh", 1),
                      field(o, "kw", 1),     field(o, "stride", 1), field(o, "pad", 0),
                      field(o, "groups", 1), field(o, "ho", 1),     field(o, "wo", 1)};
  if (g.cIn % g.groups || g.cOut % g.groups)
    fail("cIn (" + std::to_string(g.cIn) + ") and cOut (" + std::to_string(g.cOut) +
         ") must be divisible by groups (" + std::to_string(g.groups) + ")");
  if (g.h + 2 * g.pad < g.kh || g.w + 2 * g.pad < g.kw) fail("kernel larger than padded input");
  if (g.ho != outSize(g.h, g.kh, g.stride, g.pad) || g.wo != outSize(g.w, g.kw, g.stride, g.pad))
    fail("ho/wo (" + std::to_string(g.ho) + "×" + std::to_string(g.wo) +
         ") do not match floor((h + 2·pad − k)/stride) + 1 = " +
         std::to_string(outSize(g.h, g.kh, g.stride, g.pad)) + "×" +
         std::to_string(outSize(g.w, g.kw, g.stride, g.pad)));
  return g;
}

anative::PoolGeom poolGeomArg(const Napi::Value& v) {
  if (!v.IsObject()) fail("geometry must be an object");
  Napi::Object o = v.As<Napi::Object>();
  anative::PoolGeom g{field(o, "n", 1),   field(o, "c", 1),  field(o, "h", 1),
                      field(o, "w", 1),   field(o, "k", 1),  field(o, "stride", 1),
                      field(o, "pad", 0), field(o, "ho", 1), field(o, "wo", 1)};
  if (2 * g.pad > g.k) fail("pad must be at most half the kernel size");
  if (g.ho != outSize(g.h, g.k, g.stride, g.pad) || g.wo != outSize(g.w, g.k, g.stride, g.pad))
    fail("ho/wo do not match floor((h + 2·pad − k)/stride) + 1");
  if (g.h * g.w > 2147483647L) fail("plane too large for int32 argmax");
  return g;
}

anative::LrnParams lrnArg(const Napi::Value& v) {
  if (!v.IsObject()) fail("LRN parameters must be an object");
  Napi::Object o = v.As<Napi::Object>();
  anative::LrnParams p{};
  p.n = field(o, "n", 1);
  p.c = field(o, "c", 1);
  p.h = field(o, "h", 1);
  p.w = field(o, "w", 1);
  p.size = field(o, "size", 1);
  if (p.size > 127) fail("LRN size must be at most 127");
  p.alpha = static_cast<float>(numArg(o.Get("alpha"), "alpha"));
  p.beta = static_cast<float>(numArg(o.Get("beta"), "beta"));
  p.k = static_cast<float>(numArg(o.Get("k"), "k"));
  Napi::Value sc = o.Get("alphaScaling");
  std::string s = sc.IsString() ? sc.As<Napi::String>().Utf8Value() : "";
  if (s == "per-size")
    p.perSize = true;
  else if (s == "absolute")
    p.perSize = false;
  else
    fail("alphaScaling must be 'per-size' or 'absolute'");
  return p;
}

anative::Activation activationArg(const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "relu") return anative::Activation::Relu;
  if (s == "tanh") return anative::Activation::Tanh;
  if (s == "sigmoid") return anative::Activation::Sigmoid;
  fail("activation must be 'relu', 'tanh' or 'sigmoid'");
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
return Napi::String::New(info.Env(), isaName(currentIsa()));
END_BINDING

BINDING(bestIsa)
return Napi::String::New(info.Env(), isaName(detectIsa()));
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

BINDING(conv2dForward)
needArgs(info, 6);
auto g = convGeomArg(info[4]);
const float* x = arrayArg<float>(info[0], "x", g.n* g.cIn* g.h* g.w);
const float* w = arrayArg<float>(info[1], "w", g.cOut*(g.cIn / g.groups) * g.kh * g.kw);
const float* b = arrayArg<float>(info[2], "b", g.cOut, true);
float* y = arrayArg<float>(info[3], "y", g.n* g.cOut* g.ho* g.wo);
anative::conv2dForward(x, w, b, y, g, boolArg(info[5], "relu"));
return info.Env().Undefined();
END_BINDING

BINDING(conv2dBackward)
needArgs(info, 7);
auto g = convGeomArg(info[6]);
const long wl = g.cOut * (g.cIn / g.groups) * g.kh * g.kw;
const float* x = arrayArg<float>(info[0], "x", g.n* g.cIn* g.h* g.w);
const float* w = arrayArg<float>(info[1], "w", wl);
const float* dy = arrayArg<float>(info[2], "dy", g.n* g.cOut* g.ho* g.wo);
float* dx = arrayArg<float>(info[3], "dx", g.n* g.cIn* g.h* g.w, true);
float* dw = arrayArg<float>(info[4], "dw", wl, true);
float* db = arrayArg<float>(info[5], "db", g.cOut, true);
anative::conv2dBackward(x, w, dy, dx, dw, db, g);
return info.Env().Undefined();
END_BINDING

BINDING(linearForward)
needArgs(info, 8);
long n = intArg(info[4], "n", 1), d = intArg(info[5], "d", 1), f = intArg(info[6], "f", 1);
const float* x = arrayArg<float>(info[0], "x", n* d);
const float* w = arrayArg<float>(info[1], "w", f* d);
const float* b = arrayArg<float>(info[2], "b", f, true);
float* y = arrayArg<float>(info[3], "y", n* f);
anative::linearForward(x, w, b, y, n, d, f, boolArg(info[7], "relu"));
return info.Env().Undefined();
END_BINDING

BINDING(linearBackward)
needArgs(info, 9);
long n = intArg(info[6], "n", 1), d = intArg(info[7], "d", 1), f = intArg(info[8], "f", 1);
const float* x = arrayArg<float>(info[0], "x", n* d);
const float* w = arrayArg<float>(info[1], "w", f* d);
const float* dy = arrayArg<float>(info[2], "dy", n* f);
float* dx = arrayArg<float>(info[3], "dx", n* d, true);
float* dw = arrayArg<float>(info[4], "dw", f* d, true);
float* db = arrayArg<float>(info[5], "db", f, true);
anative::linearBackward(x, w, dy, dx, dw, db, n, d, f);
return info.Env().Undefined();
END_BINDING

BINDING(maxPoolForward)
needArgs(info, 4);
auto g = poolGeomArg(info[3]);
const float* x = arrayArg<float>(info[0], "x", g.n* g.c* g.h* g.w);
float* y = arrayArg<float>(info[1], "y", g.n* g.c* g.ho* g.wo);
int32_t* am = arrayArg<int32_t>(info[2], "argmax", g.n* g.c* g.ho* g.wo, true);
anative::maxPoolForward(x, y, am, g);
return info.Env().Undefined();
END_BINDING

BINDING(maxPoolBackward)
needArgs(info, 4);
auto g = poolGeomArg(info[3]);
const float* dy = arrayArg<float>(info[0], "dy", g.n* g.c* g.ho* g.wo);
const int32_t* am = arrayArg<int32_t>(info[1], "argmax", g.n* g.c* g.ho* g.wo);
float* dx = arrayArg<float>(info[2], "dx", g.n* g.c* g.h* g.w);
const long total = g.n * g.c * g.ho * g.wo, plane = g.h * g.w;
for (long i = 0; i < total; i++)
  if (am[i] < 0 || am[i] >= plane)
    fail("argmax[" + std::to_string(i) + "] = " + std::to_string(am[i]) +
         " is outside its plane [0, " + std::to_string(plane) + ")");
anative::maxPoolBackward(dy, am, dx, g);
return info.Env().Undefined();
END_BINDING

BINDING(avgPoolForward)
needArgs(info, 3);
auto g = poolGeomArg(info[2]);
const float* x = arrayArg<float>(info[0], "x", g.n* g.c* g.h* g.w);
float* y = arrayArg<float>(info[1], "y", g.n* g.c* g.ho* g.wo);
anative::avgPoolForward(x, y, g);
return info.Env().Undefined();
END_BINDING

BINDING(avgPoolBackward)
needArgs(info, 3);
auto g = poolGeomArg(info[2]);
const float* dy = arrayArg<float>(info[0], "dy", g.n* g.c* g.ho* g.wo);
float* dx = arrayArg<float>(info[1], "dx", g.n* g.c* g.h* g.w);
anative::avgPoolBackward(dy, dx, g);
return info.Env().Undefined();
END_BINDING

BINDING(adaptiveAvgPoolForward)
needArgs(info, 8);
long n = intArg(info[2], "n", 1), c = intArg(info[3], "c", 1), h = intArg(info[4], "h", 1),
     w = intArg(info[5], "w", 1), ho = intArg(info[6], "ho", 1), wo = intArg(info[7], "wo", 1);
const float* x = arrayArg<float>(info[0], "x", n* c* h* w);
float* y = arrayArg<float>(info[1], "y", n* c* ho* wo);
anative::adaptiveAvgPoolForward(x, y, n, c, h, w, ho, wo);
return info.Env().Undefined();
END_BINDING

BINDING(adaptiveAvgPoolBackward)
needArgs(info, 8);
long n = intArg(info[2], "n", 1), c = intArg(info[3], "c", 1), h = intArg(info[4], "h", 1),
     w = intArg(info[5], "w", 1), ho = intArg(info[6], "ho", 1), wo = intArg(info[7], "wo", 1);
const float* dy = arrayArg<float>(info[0], "dy", n* c* ho* wo);
float* dx = arrayArg<float>(info[1], "dx", n* c* h* w);
anative::adaptiveAvgPoolBackward(dy, dx, n, c, h, w, ho, wo);
return info.Env().Undefined();
END_BINDING

BINDING(lrnForward)
needArgs(info, 4);
auto p = lrnArg(info[3]);
const long len = p.n * p.c * p.h * p.w;
const float* x = arrayArg<float>(info[0], "x", len);
float* y = arrayArg<float>(info[1], "y", len);
float* scale = arrayArg<float>(info[2], "scale", len, true);
anative::lrnForward(x, y, scale, p);
return info.Env().Undefined();
END_BINDING

BINDING(lrnBackward)
needArgs(info, 6);
auto p = lrnArg(info[5]);
const long len = p.n * p.c * p.h * p.w;
const float* x = arrayArg<float>(info[0], "x", len);
const float* y = arrayArg<float>(info[1], "y", len);
const float* scale = arrayArg<float>(info[2], "scale", len);
const float* dy = arrayArg<float>(info[3], "dy", len);
float* dx = arrayArg<float>(info[4], "dx", len);
anative::lrnBackward(x, y, scale, dy, dx, p);
return info.Env().Undefined();
END_BINDING

BINDING(activationForward)
needArgs(info, 3);
auto kind = activationArg(info[0]);
long len;
const float* x = arrayArg<float>(info[1], "x", -1, false, &len);
float* y = arrayArg<float>(info[2], "y", len);
anative::activationForward(kind, x, y, len);
return info.Env().Undefined();
END_BINDING

BINDING(activationBackward)
needArgs(info, 4);
auto kind = activationArg(info[0]);
long len;
const float* y = arrayArg<float>(info[1], "y", -1, false, &len);
const float* dy = arrayArg<float>(info[2], "dy", len);
float* dx = arrayArg<float>(info[3], "dx", len);
anative::activationBackward(kind, y, dy, dx, len);
return info.Env().Undefined();
END_BINDING

BINDING(dropoutApply)
needArgs(info, 4);
long len;
const float* x = arrayArg<float>(info[0], "x", -1, false, &len);
const uint8_t* mask = arrayArg<uint8_t>(info[1], "mask", len);
float scale = static_cast<float>(numArg(info[2], "scale"));
float* y = arrayArg<float>(info[3], "y", len);
anative::dropoutApply(x, mask, scale, y, len);
return info.Env().Undefined();
END_BINDING

BINDING(scale)
needArgs(info, 3);
long len;
const float* x = arrayArg<float>(info[0], "x", -1, false, &len);
float s = static_cast<float>(numArg(info[1], "scale"));
float* y = arrayArg<float>(info[2], "y", len);
anative::scaleArray(x, s, y, len);
return info.Env().Undefined();
END_BINDING

BINDING(softmaxCrossEntropy)
needArgs(info, 7);
long n = intArg(info[2], "n", 1), l = intArg(info[3], "l", 1);
double smoothing = numArg(info[4], "smoothing");
if (!(smoothing >= 0 && smoothing < 1)) fail("smoothing must be in [0, 1)");
const float* logits = arrayArg<float>(info[0], "logits", n* l);
const int32_t* labels = arrayArg<int32_t>(info[1], "labels", n);
float* probs = arrayArg<float>(info[5], "probs", n* l);
float* dlogits = arrayArg<float>(info[6], "dlogits", n* l, true);
double loss = anative::softmaxCrossEntropy(logits, labels, n, l, static_cast<float>(smoothing),
                                           probs, dlogits);
return Napi::Number::New(info.Env(), loss);
END_BINDING

BINDING(sgdUpdate)
needArgs(info, 6);
long len;
float* w = arrayArg<float>(info[0], "w", -1, false, &len);
const float* g = arrayArg<float>(info[1], "g", len);
float* v = arrayArg<float>(info[2], "v", len);
anative::sgdUpdate(w, g, v, len, static_cast<float>(numArg(info[3], "lr")),
                   static_cast<float>(numArg(info[4], "momentum")),
                   static_cast<float>(numArg(info[5], "weightDecay")));
return info.Env().Undefined();
END_BINDING

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
  EXPORT(setIsa);
  EXPORT(peakGflops);
  EXPORT(gemm);
  EXPORT(conv2dForward);
  EXPORT(conv2dBackward);
  EXPORT(linearForward);
  EXPORT(linearBackward);
  EXPORT(maxPoolForward);
  EXPORT(maxPoolBackward);
  EXPORT(avgPoolForward);
  EXPORT(avgPoolBackward);
  EXPORT(adaptiveAvgPoolForward);
  EXPORT(adaptiveAvgPoolBackward);
  EXPORT(lrnForward);
  EXPORT(lrnBackward);
  EXPORT(activationForward);
  EXPORT(activationBackward);
  EXPORT(dropoutApply);
  EXPORT(scale);
  EXPORT(softmaxCrossEntropy);
  EXPORT(sgdUpdate);
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(alexnet_native, Init)
