// Implicit im2col: the conv GEMMs' column-matrix operand packed into micro-panels straight from
// the image, never written out whole (it is 2–5 MB per chunk at AlexNet shapes: it went through
// L3 twice, once written by im2col and once read back by the packing).
//
// The column matrix of a chunk of m images, one group: col[Kc, m·P], Kc = Ci/G·Kh·Kw rows
// r = (c, ki, kj), P = Ho·Wo columns q = (image i, oh, ow):
//   col[r, q] = x[i, c0 + c, oh·s − pad + ki, ow·s − pad + kj]   (0 outside the image)
// As a GEMM B operand it is used two ways:
//   forward  Y[Co/G, m·P]  = W · col      op(B)(k, j) = col[k, j]   (depth: rows, width: columns)
//   dW       dW[Co/G, Kc] = dY · colᵀ     op(B)(k, j) = col[j, k]   (depth: columns, width: rows)
// dX still goes through an explicit dcol and col2im in conv.cc.
// x86-64 only: the panels are as wide as the GEMM micro-kernel in use (gemmPanelWidth()), 32
// built with AVX-512 or 16 with AVX2; the dW operand (forDw) only 32 wide.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "kernels.h"

namespace anative {

class Im2colPanels : public BPanelSource {
 public:
  /** x: the whole batch [N, Ci, H, W]; images [n0, n0+m), channels [c0, c0 + Ci/G).
   *  forDw: the dW operand colᵀ instead of the forward operand col. */
  Im2colPanels(const float* x, const ConvGeom& g, long n0, long m, long c0, bool forDw);
  void pack(long j0, long cols, long p0, long kc, float* dst) const override;

 private:
  void packColumns(long j0, long cols, long p0, long kc, float* dst) const;
  void packColumns16(long j0, long cols, long p0, long kc, float* dst) const;
  void packRows(long j0, long cols, long p0, long kc, float* dst) const;

  const float* base_;  // x at image n0, channel c0
  long h_, w_;
  bool forDw_;
  long nr_;  // panel width: gemmPanelWidth() when built
  // Per column q: offset of the window's top-left (possibly outside the image) from base_,
  // and its top-left row and column. Per row r: offset c·H·W + ki·W + kj, and ki, kj.
  // Padded by 32 entries, so a 16-lane load past the end stays inside.
  std::vector<int32_t> colOff_, colIh_, colIw_, rowOff_, rowKi_, rowKj_;
  long nCols_, nRows_;
};

/** The forward operand col at stride s > 1 (conv1: 11×11 at stride 4), whose columns are not
 *  runs of the image (gathers, one element per lane). It is read instead from a copy of the
 *  chunk's images, zero-padded and split into the s column phases of each row:
 *    xd[i][c][ihp][ph][j] = x[n0 + i][c0 + c][ihp − pad][j·s + ph − pad]   (0 outside the image)
 *  ihp < Hp = H + 2·pad, j < Wd = Wo + (Kw − 1)/s. Then element (r = (c, ki, kj), q = (i, oh, ow))
 *  is xd at colOff[q] + rowOff[r] with
 *    colOff = ((i·Ci/G·Hp) + oh·s)·s·Wd + ow,   rowOff = (c·Hp + ki)·s·Wd + (kj mod s)·Wd + kj/s,
 *  consecutive in ow: a panel row is one or two contiguous loads, with no bounds checks. */
class StridedPanels : public BPanelSource {
 public:
  /** Floats of the copy of m images (one group's channels). */
  static size_t bufferSize(const ConvGeom& g, long m);
  /** Rows of the copy (m · Ci/G · Hp, each s·Wd floats): fill() takes a range of them, so that
   *  threads can split the copying. */
  static long bufferRows(const ConvGeom& g, long m);
  /** Copies rows [r0, r1) of images [n0, n0+m), channels [c0, c0 + Ci/G) of x into buf. */
  static void fill(const float* x, const ConvGeom& g, long n0, long m, long c0, float* buf, long r0,
                   long r1);
  /** buf: the filled copy. */
  StridedPanels(const float* buf, const ConvGeom& g, long m);
  void pack(long j0, long cols, long p0, long kc, float* dst) const override;

 private:
  void pack16(long j0, long cols, long p0, long kc, float* dst) const;
  void pack32(long j0, long cols, long p0, long kc, float* dst) const;

  const float* buf_;
  long nr_;                               // panel width: gemmPanelWidth() when built
  std::vector<int32_t> colOff_, rowOff_;  // padded by 32 entries
};

}  // namespace anative

#endif  // x86-64
