// The native kernels, one declaration per Backend method (src/backend/backend.ts), plain C++
// over raw float pointers. Letters: N batch, C/Ci input channels, Co output channels, H/W input
// map, Ho/Wo output map, G groups, Kh/Kw kernel, D input features, F output features, L classes.
// Every backward kernel OVERWRITES its outputs; a null output is skipped.
#pragma once
#include <cstdint>

namespace anative {

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

// sgd.cc — w, g, v: [len]
void sgdUpdate(float* w, const float* g, float* v, long len, float lr, float momentum,
               float weightDecay);

// peak.cc — fp32 FMA throughput over the pool's threads, in GFLOP/s
double peakGflops(double seconds);

}  // namespace anative
