// Convolution as im2col + GEMM, per group, over chunks of images.
//
// Several images are laid side by side in one column matrix col[Kc, nb·P] (Kc = Ci/G·Kh·Kw,
// P = Ho·Wo), so that the small late maps of AlexNet (13×13, or 3×3 at small inputs) still give
// GEMMs with hundreds of columns:
//   forward   Y_g[Co/G, nb·P]  = W_g[Co/G, Kc] · col[Kc, nb·P]
//   dW        dW_g[Co/G, Kc]  += dY_g[Co/G, nb·P] · colᵀ
//   dX        dcol[Kc, nb·P]   = W_gᵀ · dY_g, then col2im (over chunks: in row blocks, each
//             added into dX as the GEMM finishes it, while it is in L2).
//
// Parallelism. With enough images (n ≥ 2·threads) the chunks are the tasks: each thread runs
// im2col, a serial GEMM and the epilogue for its chunk with thread-local buffers (the column
// matrix stays in that core's cache, one dispatch per call, chunks balance dynamically); dW is
// accumulated per thread and summed at the end. With fewer images (inference at batch 1) each
// step is parallel inside instead (im2col rows, GEMM parts, col2im planes).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "buffer.h"
#include "col2im.h"
#include "gemm.h"
#include "im2col_pack.h"
#include "kernels.h"
#include "relu.h"
#include "threadpool.h"

namespace anative {
namespace {

thread_local Buffer tCol, tDcol, tOut, tDec;
thread_local Buffer gDwPartial, gPackedW;  // per calling (JS) thread

// For small output maps (Wo < 8) the rows of the column matrix are too short for memcpy and
// memset calls to pay: im2col and col2im go through an OffsetTable (col2im.h).
constexpr long SMALL_MAP_WO = 8;

// One row of the column matrix: kernel offset (ki, kj) over input plane xc → dst[P].
inline void im2colRow(const float* xc, const ConvGeom& g, long ki, long kj, float* dst) {
  const long off = kj - g.pad;
  // Valid output columns for this kj: 0 ≤ ow·s + off < W  ⇒  ow ∈ [owLo, owHi).
  const long owLo = off < 0 ? (-off + g.stride - 1) / g.stride : 0;
  const long lim = g.w - off;
  long owHi = lim <= 0 ? 0 : std::min(g.wo, (lim + g.stride - 1) / g.stride);
  if (owHi < owLo) owHi = owLo;
  for (long oh = 0; oh < g.ho; oh++) {
    float* d = dst + oh * g.wo;
    const long ih = oh * g.stride - g.pad + ki;
    if (ih < 0 || ih >= g.h) {
      std::memset(d, 0, sizeof(float) * g.wo);
      continue;
    }
    const float* src = xc + ih * g.w + off;
    for (long ow = 0; ow < owLo; ow++) d[ow] = 0.f;
    if (g.stride == 1) {
      std::memcpy(d + owLo, src + owLo, sizeof(float) * (owHi - owLo));
    } else {
      for (long ow = owLo; ow < owHi; ow++) d[ow] = src[ow * g.stride];
    }
    for (long ow = owHi; ow < g.wo; ow++) d[ow] = 0.f;
  }
}

// col[Kc, m·P] for images [n0, n0+m), channels [c0, c0+Ci/G), serially.
void im2colChunk(const float* x, const ConvGeom& g, long n0, long m, long c0, float* col,
                 const OffsetTable* table) {
  const long cig = g.cIn / g.groups, P = g.ho * g.wo, ld = m * P, kk = g.kh * g.kw;
  if (table) {
    for (long i = 0; i < m; i++)
      for (long c = 0; c < cig; c++) {
        const float* xc = x + ((n0 + i) * g.cIn + c0 + c) * g.h * g.w;
        for (long k = 0; k < kk; k++) {
          const int32_t* at = table->at.data() + k * P;
          float* d = col + (c * kk + k) * ld + i * P;
          for (long p = 0; p < P; p++) d[p] = at[p] >= 0 ? xc[at[p]] : 0.f;
        }
      }
    return;
  }
  for (long i = 0; i < m; i++)
    for (long c = 0; c < cig; c++) {
      const float* xc = x + ((n0 + i) * g.cIn + c0 + c) * g.h * g.w;
      for (long ki = 0; ki < g.kh; ki++)
        for (long kj = 0; kj < g.kw; kj++)
          im2colRow(xc, g, ki, kj, col + ((c * g.kh + ki) * g.kw + kj) * ld + i * P);
    }
}

// Output plane with bias and ReLU applied while copying (src may equal dst).
inline void epilogue(const float* src, float* dst, long P, float bias, bool relu) {
  if (relu) {
    for (long i = 0; i < P; i++) dst[i] = anative::relu(src[i] + bias);
  } else {
    for (long i = 0; i < P; i++) dst[i] = src[i] + bias;
  }
}

// Images per chunk in the batch-parallel path: about TARGET columns per GEMM, and a number of
// chunks that is a multiple of the thread count where one exists near that size (so the last
// round keeps every thread busy: 32 images of 13×13 in chunks of 3 gave 11 chunks, 6 on one
// thread and 5 on the other; chunks of 2 give 16).
constexpr long TARGET_COLUMNS = 512;  // = the GEMM's NC: one packed B block per chunk

long chunkImages(const ConvGeom& g, int threads) {
  const long P = g.ho * g.wo;
  const long nb = std::max(1L, std::min(g.n, TARGET_COLUMNS / P));
  if (threads <= 1) return nb;
  // A multiple of `threads` chunks, and the thread that gets the short last chunk idle for at
  // most 1/8 of its share.
  auto balanced = [&](long b) {
    const long tasks = (g.n + b - 1) / b, rem = g.n % b;
    return tasks % threads == 0 && (rem == 0 || 8 * (b - rem) <= (tasks / threads) * b);
  };
  for (long d = 0; d < nb; d++) {  // nearest first, smaller before larger
    if (nb - d >= 1 && balanced(nb - d)) return nb - d;
    if (nb + d <= std::min(g.n, 2 * nb) && d > 0 && balanced(nb + d)) return nb + d;
  }
  long tasks = (g.n + nb - 1) / nb;  // none: at least a multiple of `threads` chunk slots
  tasks = ((tasks + threads - 1) / threads) * threads;
  return std::max(1L, (g.n + tasks - 1) / tasks);
}

bool batchParallel(const ConvGeom& g, int threads) {
  return threads == 1 || g.n >= 2 * threads;
}

// ---- the path for few images: parallel inside each step -------------------------------------

thread_local Buffer gCol, gDcol, gOut, gDec;

void im2colParallel(const float* x, const ConvGeom& g, long n0, long m, long c0, float* col) {
  const long cig = g.cIn / g.groups, P = g.ho * g.wo, ld = m * P, kk = g.kh * g.kw;
  parallelFor(static_cast<int>(cig * kk * m), [&](int t, int) {
    const long r = t / m, i = t % m, c = r / kk, ki = (r / g.kw) % g.kh, kj = r % g.kw;
    im2colRow(x + ((n0 + i) * g.cIn + c0 + c) * g.h * g.w, g, ki, kj, col + r * ld + i * P);
  });
}

void forwardFewImages(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                      bool relu) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo;
  float* col = gCol.get(static_cast<size_t>(kc) * P);
  for (long n0 = 0; n0 < g.n; n0++)
    for (long gi = 0; gi < G; gi++) {
      im2colParallel(x, g, n0, 1, gi * cig, col);
      float* yg = y + (n0 * g.cOut + gi * cog) * P;
      sgemm(false, false, cog, P, kc, w + gi * cog * kc, kc, col, P, 0.f, yg, P);
      if (b || relu)
        parallelFor(static_cast<int>(cog), [&](int o, int) {
          epilogue(yg + o * P, yg + o * P, P, b ? b[gi * cog + o] : 0.f, relu);
        });
    }
}

void backwardFewImages(const float* x, const float* w, const float* dy, float* dx, float* dw,
                       const ConvGeom& g) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo;
  float* col = dw ? gCol.get(static_cast<size_t>(kc) * P) : nullptr;
  float* dcol = dx ? gDcol.get(static_cast<size_t>(kc) * P) : nullptr;
  for (long n0 = 0; n0 < g.n; n0++)
    for (long gi = 0; gi < G; gi++) {
      const float* dyg = dy + (n0 * g.cOut + gi * cog) * P;
      if (dw) {
        im2colParallel(x, g, n0, 1, gi * cig, col);
        sgemm(false, true, cog, kc, P, dyg, P, col, P, n0 == 0 ? 0.f : 1.f, dw + gi * cog * kc, kc);
      }
      if (dx) {
        sgemm(true, false, kc, P, cog, w + gi * cog * kc, kc, dyg, P, 0.f, dcol, P);
        parallelFor(static_cast<int>(cig), [&](int c, int) {
          col2imPlane(dcol, P, g, c, dx + (n0 * g.cIn + gi * cig + c) * g.h * g.w);
        });
      }
    }
}

}  // namespace

#if defined(__x86_64__) || defined(_M_X64)
// The forward GEMM's B panels are packed from the image (im2col_pack.h) at the AVX-512 and the
// AVX2 kernels' widths; the portable kernel's go through an explicit column matrix.
static bool implicitForward() {
  const long nr = gemmPanelWidth();
  return nr == 32 || nr == 16;
}

// Few images (AVX-512 and AVX2): per image, one dispatch in which the threads split the work of
// the groups' GEMMs (implicit im2col, bias and ReLU fused into the stores, no column buffer, no
// separate dispatch to pack the weights):
//   - whole groups, where there are as many groups as threads (conv2, conv4, conv5 at G = 2);
//   - else output positions, in whole panels, where the map has at least 128 per thread
//     (conv1's 55×55, 27×27);
//   - else output channels, in whole tiles (13×13: on AVX-512, 5 panels of 32 and 9 columns,
//     split by columns one thread got 96 columns, the other 80 and did not keep up; on AVX2 each
//     thread packed all the weights, and split by rows conv3–5 took 22% less time).
static void forwardSplitColumns(const float* x, const float* w, const float* b, float* y,
                                const ConvGeom& g, bool relu, int threads) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo, nr = gemmPanelWidth(), mr = gemmTileRows();
  const long colPanels = (P + nr - 1) / nr, rowPanels = (cog + mr - 1) / mr;
  enum { WholeGroups, Columns, Rows } mode;
  long panels = 1;
  if (G % threads == 0) {
    mode = WholeGroups;
  } else if (P >= 128 * threads || rowPanels < threads) {
    mode = Columns;
    panels = colPanels;
  } else {
    mode = Rows;
    panels = rowPanels;
  }
  const long parts = std::min<long>(mode == WholeGroups ? 1 : threads, panels);
  const bool strided = g.stride > 1;
  const size_t decSize = strided ? StridedPanels::bufferSize(g, 1) : 0;
  float* dec = strided ? gDec.get(decSize * G) : nullptr;
  const long decRows = strided ? StridedPanels::bufferRows(g, 1) : 0;
  std::vector<std::unique_ptr<BPanelSource>> cols(G);
  for (long n0 = 0; n0 < g.n; n0++) {
    if (strided) {
      parallelFor(threads, [&](int t, int) {
        const long r0 = G * decRows * t / threads, r1 = G * decRows * (t + 1) / threads;
        for (long r = r0; r < r1;) {  // rows of group r / decRows
          const long gi = r / decRows, e = std::min(r1, (gi + 1) * decRows);
          StridedPanels::fill(x, g, n0, 1, gi * cig, dec + gi * decSize, r - gi * decRows,
                              e - gi * decRows);
          r = e;
        }
      });
    }
    for (long gi = 0; gi < G; gi++) {
      if (strided)
        cols[gi].reset(new StridedPanels(dec + gi * decSize, g, 1));
      else
        cols[gi].reset(new Im2colPanels(x, g, n0, 1, gi * cig, false));
    }
    parallelFor(static_cast<int>(G * parts), [&](int t, int) {
      const long gi = t / parts, part = t % parts;
      long i0 = 0, i1 = cog, j0 = 0, j1 = P;
      if (mode == Columns)
        tilesOfPart(P, nr, parts, part, &j0, &j1);
      else if (mode == Rows)
        tilesOfPart(cog, mr, parts, part, &i0, &i1);
      if (i0 >= i1 || j0 >= j1) return;
      // The weights are packed inside the task: each thread packs the rows it uses (conv1's
      // small weights, split by columns, are packed by both).
      sgemmSerialSrcBBlock(w + gi * cog * kc, kc, cog, P, kc, i0, i1, j0, j1, *cols[gi], 0.f,
                           y + (n0 * g.cOut + gi * cog) * P, P, b ? b + gi * cog : nullptr, relu);
    });
  }
}

// Small maps at stride 1 (AVX-512 and AVX2; 13×13: P = 169 columns an image): the chunks are
// runs of whole panels of the batch's column matrix col[Kc, n·P], not whole images, so they
// cross image boundaries (the implicit panels take any column). Chunks of whole images left a
// part-filled panel each: on AVX-512, 2 images are 338 columns, 10 panels of 32 and 18 columns
// in an 11th, 4% of the FMAs wasted; 32 images are 5408 columns, exactly 169 panels. The chunks
// (about TARGET_COLUMNS each, a multiple of the thread count) differ by at most one panel. Each
// task computes its [Co/G, cols] block into a scratch tile and copies its image runs out.
class ShiftedPanels : public BPanelSource {
 public:
  ShiftedPanels(const BPanelSource& src, long j0) : src_(src), j0_(j0) {}
  void pack(long j0, long cols, long p0, long kc, float* dst) const override {
    src_.pack(j0_ + j0, cols, p0, kc, dst);
  }

 private:
  const BPanelSource& src_;
  long j0_;
};

static void forwardAcrossImages(const float* x, const float* packedW, size_t wPack, const float* b,
                                float* y, const ConvGeom& g, bool relu, int threads) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo, cols = g.n * P, nr = gemmPanelWidth();
  const long panels = (cols + nr - 1) / nr;
  long tasks = std::max(1L, (panels * nr + TARGET_COLUMNS / 2) / TARGET_COLUMNS);
  tasks = std::min(panels, (tasks + threads - 1) / threads * threads);
  std::vector<std::unique_ptr<Im2colPanels>> src(G);
  for (long gi = 0; gi < G; gi++) src[gi].reset(new Im2colPanels(x, g, 0, g.n, gi * cig, false));
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    const long j0 = panels * t / tasks * nr, j1 = std::min(cols, panels * (t + 1) / tasks * nr);
    const long ld = j1 - j0;
    float* out = tOut.get(static_cast<size_t>(cog) * ld);
    for (long gi = 0; gi < G; gi++) {
      sgemmSerialPackedASrcB(packedW + gi * wPack, cog, ld, kc, ShiftedPanels(*src[gi], j0), 0.f,
                             out, ld, b ? b + gi * cog : nullptr, relu);
      for (long q = j0; q < j1;) {  // the run of image i = q / P in this chunk
        const long i = q / P, p = q % P, run = std::min(P - p, j1 - q);
        for (long o = 0; o < cog; o++)
          std::memcpy(y + ((i * g.cOut + gi * cog + o) * P + p), out + o * ld + (q - j0),
                      sizeof(float) * run);
        q += run;
      }
    }
  });
}
#endif  // x86-64

void conv2dForward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                   bool relu) {
  const int threads = getThreads();
  if (!batchParallel(g, threads)) {
#if defined(__x86_64__) || defined(_M_X64)
    if (implicitForward()) return forwardSplitColumns(x, w, b, y, g, relu, threads);
#endif
    return forwardFewImages(x, w, b, y, g, relu);
  }
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G, kc = cig * g.kh * g.kw;
  const long P = g.ho * g.wo;
  const long nb = chunkImages(g, threads);
  const long tasks = (g.n + nb - 1) / nb;
#if defined(__x86_64__) || defined(_M_X64)
  const bool implicit = implicitForward();  // B panels packed from the image
#else
  const bool implicit = false;  // the implicit panels are x86-64 only (im2col_pack.h)
#endif
  std::unique_ptr<OffsetTable> table(!implicit && g.wo < SMALL_MAP_WO ? new OffsetTable(g)
                                                                      : nullptr);
  // The weights are packed for the GEMM once, not once per chunk.
  const size_t wPack = packedASize(cog, kc);
  float* packedW = gPackedW.get(wPack * G);
  for (long gi = 0; gi < G; gi++)
    packWholeA(false, cog, kc, w + gi * cog * kc, kc, packedW + gi * wPack);
#if defined(__x86_64__) || defined(_M_X64)
  // (the column tables hold offsets into the whole batch as int32)
  if (implicit && g.stride == 1 && P < TARGET_COLUMNS &&
      g.n * g.cIn * g.h * g.w < (1L << 31) - g.cIn * g.h * g.w)
    return forwardAcrossImages(x, packedW, wPack, b, y, g, relu, threads);
#endif
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    const long n0 = t * nb, m = std::min(nb, g.n - n0), ld = m * P;
    float* col = implicit ? nullptr : tCol.get(static_cast<size_t>(kc) * ld);
    float* out = m > 1 ? tOut.get(static_cast<size_t>(cog) * ld) : nullptr;
    // Stride > 1: the panels come from a phase-split copy of the chunk (im2col_pack.h).
    const bool strided = implicit && g.stride > 1;
#if defined(__x86_64__) || defined(_M_X64)
    float* dec = strided ? tDec.get(StridedPanels::bufferSize(g, m)) : nullptr;
#endif
    for (long gi = 0; gi < G; gi++) {
      const float* wg = packedW + gi * wPack;
#if defined(__x86_64__) || defined(_M_X64)
      const float* bg = b ? b + gi * cog : nullptr;
#endif
      // col[Kc, ld] · packed W: packed from the image directly (bias and ReLU applied as the
      // GEMM stores its tiles), or through an im2col buffer (then in a pass of their own).
      auto product = [&](float* c) {
        if (strided) {
#if defined(__x86_64__) || defined(_M_X64)
          StridedPanels::fill(x, g, n0, m, gi * cig, dec, 0, StridedPanels::bufferRows(g, m));
          sgemmSerialPackedASrcB(wg, cog, ld, kc, StridedPanels(dec, g, m), 0.f, c, ld, bg, relu);
#endif
        } else if (implicit) {
#if defined(__x86_64__) || defined(_M_X64)
          sgemmSerialPackedASrcB(wg, cog, ld, kc, Im2colPanels(x, g, n0, m, gi * cig, false), 0.f,
                                 c, ld, bg, relu);
#endif
        } else {
          sgemmSerialPackedA(wg, false, cog, ld, kc, col, ld, 0.f, c, ld);
        }
      };
      if (!implicit) im2colChunk(x, g, n0, m, gi * cig, col, table.get());
      const bool fused = implicit;
      if (m == 1) {
        float* yg = y + (n0 * g.cOut + gi * cog) * P;
        product(yg);
        if (!fused && (b || relu))
          for (long o = 0; o < cog; o++)
            epilogue(yg + o * P, yg + o * P, P, b ? b[gi * cog + o] : 0.f, relu);
      } else {
        product(out);
        for (long i = 0; i < m; i++)
          for (long o = 0; o < cog; o++) {
            float* yo = y + ((n0 + i) * g.cOut + gi * cog + o) * P;
            if (fused)
              std::memcpy(yo, out + o * ld + i * P, sizeof(float) * P);
            else
              epilogue(out + o * ld + i * P, yo, P, b ? b[gi * cog + o] : 0.f, relu);
          }
      }
    }
  });
}

void conv2dBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, const ConvGeom& g) {
  const long G = g.groups, cig = g.cIn / G, cog = g.cOut / G;
  const long kc = cig * g.kh * g.kw, P = g.ho * g.wo, wl = g.cOut * kc;
  const int threads = getThreads();

  if (db) {
    // db[o] = Σ dy over the images and positions: per image 16 float sums (lane j takes the
    // positions ≡ j mod 16), added in a fixed tree, then over the images in double. The lanes
    // are independent chains, so the compiler vectorises them without reordering a sum: the
    // same bits on every ISA. (One float chain per image ran at one add per add latency:
    // 11% of conv1's weight gradient at batch 32.)
    parallelFor(static_cast<int>(g.cOut), [&](int o, int) {
      double s = 0;
      for (long m = 0; m < g.n; m++) {
        const float* p = dy + (m * g.cOut + o) * P;
        float lane[16] = {};
        long i = 0;
        for (; i + 16 <= P; i += 16)
          for (int j = 0; j < 16; j++) lane[j] += p[i + j];
        for (long j = 0; i + j < P; j++) lane[j] += p[i + j];
        for (int half = 8; half > 0; half /= 2)
          for (int j = 0; j < half; j++) lane[j] += lane[j + half];
        s += lane[0];
      }
      db[o] = static_cast<float>(s);
    });
  }
  if (!dx && !dw) return;
  if (!batchParallel(g, threads)) return backwardFewImages(x, w, dy, dx, dw, g);

  const long nb = chunkImages(g, threads);
  const long tasks = (g.n + nb - 1) / nb;
  // dW: one partial per chunk, summed at the end in chunk order, so the result does not depend
  // on which thread happened to take which chunk (runs are reproducible bit for bit).
  float* partial = dw ? gDwPartial.get(static_cast<size_t>(tasks) * wl) : nullptr;
  // AVX-512 at stride 1: dW's colᵀ packed from the image (at stride 4 its rows are not runs of
  // the image and the gathers measured no faster than im2col + transposing pack).
#if defined(__x86_64__) || defined(_M_X64)
  const bool implicit = g.stride == 1 && gemmPanelWidth() == 32;
#else
  const bool implicit = false;  // the implicit panels are x86-64 only (im2col_pack.h)
#endif
  std::unique_ptr<OffsetTable> table(g.wo < SMALL_MAP_WO ? new OffsetTable(g) : nullptr);
  // dX uses W_gᵀ [Kc, cog] as its A operand: packed once, not once per chunk.
  const size_t wPack = packedASize(kc, cog);
  float* packedWt = dx ? gPackedW.get(wPack * G) : nullptr;
  if (dx)
    for (long gi = 0; gi < G; gi++)
      packWholeA(true, kc, cog, w + gi * cog * kc, kc, packedWt + gi * wPack);
  parallelFor(static_cast<int>(tasks), [&](int t, int) {
    const long n0 = t * nb, m = std::min(nb, g.n - n0), ld = m * P;
    float* col = dw && !implicit ? tCol.get(static_cast<size_t>(kc) * ld) : nullptr;
    const long rows = col2imBlockRows(ld, gemmTileRows());
    float* dcol = dx ? tDcol.get(static_cast<size_t>(rows) * ld) : nullptr;
    float* dyc = m > 1 ? tOut.get(static_cast<size_t>(cog) * ld) : nullptr;
    for (long gi = 0; gi < G; gi++) {
      const float* dyg = dy + (n0 * g.cOut + gi * cog) * P;
      if (m > 1) {  // dY_g of this chunk as [cog, m·P]
        for (long o = 0; o < cog; o++)
          for (long i = 0; i < m; i++)
            std::memcpy(dyc + o * ld + i * P, dy + ((n0 + i) * g.cOut + gi * cog + o) * P,
                        sizeof(float) * P);
        dyg = dyc;
      }
      if (dw && implicit) {
#if defined(__x86_64__) || defined(_M_X64)
        sgemmSerialSrcB(false, cog, kc, ld, dyg, ld, Im2colPanels(x, g, n0, m, gi * cig, true), 0.f,
                        partial + t * wl + gi * cog * kc, kc);
#endif
      } else if (dw) {
        im2colChunk(x, g, n0, m, gi * cig, col, table.get());
        sgemmSerial(false, true, cog, kc, ld, dyg, ld, col, ld, 0.f,
                    partial + t * wl + gi * cog * kc, kc);
      }
      if (dx) {  // dcol in row blocks, each added into dX while it is in cache
        const long plane = g.h * g.w;
        for (long i = 0; i < m; i++)
          std::memset(dx + ((n0 + i) * g.cIn + gi * cig) * plane, 0, sizeof(float) * cig * plane);
        sgemmSerialPackedARowBlocks(
            packedWt + gi * wPack, kc, ld, cog, dyg, ld, dcol, ld, rows, [&](long r0, long r1) {
              for (long i = 0; i < m; i++)
                col2imAddRows(dcol + i * P, ld, g, r0, r1,
                              dx + ((n0 + i) * g.cIn + gi * cig) * plane, table.get());
            });
      }
    }
  });
  if (dw) {
    parallelRange(wl, 1 << 14, [&](long b, long e) {
      std::memcpy(dw + b, partial + b, sizeof(float) * (e - b));
      for (long k = 1; k < tasks; k++) {
        const float* part = partial + k * wl;
        for (long i = b; i < e; i++) dw[i] += part[i];
      }
    });
  }
}

}  // namespace anative
