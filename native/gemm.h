// Single-precision GEMM, row-major, with the transposes the layers need:
//   conv forward   Y[Co, P]  = W[Co, Kc] · col[Kc, P]
//   conv dW        dW[Co, Kc] = dY[Co, P] · col[Kc, P]ᵀ      (transB)
//   conv dX        dcol[Kc, P] = W[Co, Kc]ᵀ · dY[Co, P]      (transA)
//   linear         y = x·wᵀ (transB), dx = dy·w, dw = dyᵀ·x (transA)
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace anative {

/** C[M, N] = op(A)[M, K] · op(B)[K, N] + beta · C, with beta ∈ {0, 1} (overwrite or accumulate).
 *  op(A)(i, k) = transA ? A[k·lda + i] : A[i·lda + k]
 *  op(B)(k, j) = transB ? B[j·ldb + k] : B[k·ldb + j]
 *  Parallel over the pool's threads; must not be called from inside a pool task. */
void sgemm(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc);

/** sgemm(false, true, M, N, K, A, lda, B, ldb, 0, C, ldc) with A bfloat16, each micro-panel's
 *  depth slice widened to float32 as the product reaches it — where sgemm takes its tall-skinny
 *  form (many rows of A, ≤ 64 columns: linear_bf16.cc's portable yᵀ = w·xᵀ at batch 8…64, which
 *  reads w once instead of widening it whole); else false, and nothing done. The sums are
 *  sgemm's on the widened A, bit for bit. */
bool sgemmTallSkinnyBf16A(long M, long N, long K, const uint16_t* A, long lda, const float* B,
                          long ldb, float* C, long ldc);
/** The same product on the calling thread only (for callers that parallelise above it). */
void sgemmSerial(bool transA, bool transB, long M, long N, long K, const float* A, long lda,
                 const float* B, long ldb, float beta, float* C, long ldc);

/** A packed once for many products with different B (conv weights over image chunks).
 *  The packing is tied to the ISA in use: pack and multiply without switching ISA between. */
size_t packedASize(long M, long K);
void packWholeA(bool transA, long M, long K, const float* A, long lda, float* packed);
void sgemmSerialPackedA(const float* packedA, bool transB, long M, long N, long K, const float* B,
                        long ldb, float beta, float* C, long ldc);
/** sgemmSerialPackedA(packedA, false, …, beta 0) in blocks of blockRows rows (a multiple of
 *  gemmTileRows()), each handed to rowsDone as soon as it is final, so that its consumer reads
 *  it from cache (conv.cc's col2im of dX): all of B is packed once first (it should fit in L2;
 *  over the pool when called outside a pool task), then each block runs through every depth
 *  slice. Block rows [i0, i1) of the product are stored
 *  in C's rows [0, i1 − i0): C holds one block. The sums are sgemmSerialPackedA's, bit for bit. */
void sgemmSerialPackedARowBlocks(const float* packedA, long M, long N, long K, const float* B,
                                 long ldb, float* C, long ldc, long blockRows,
                                 const std::function<void(long i0, long i1)>& rowsDone);

/** A B operand that is never stored whole: the GEMM asks it for one packed micro-panel at a
 *  time, op(B)[p0 : p0+kc, j0 : j0+cols] → dst[kc][nr] (columns ≥ cols zero). Conv packs the
 *  column matrix straight from the image this way (im2col_pack.cc) at the AVX-512 and AVX2
 *  micro-kernels' widths (32, 16): callers check gemmPanelWidth() first. */
struct BPanelSource {
  virtual void pack(long j0, long cols, long p0, long kc, float* dst) const = 0;
  virtual ~BPanelSource() = default;
};
long gemmPanelWidth();
/** sgemmSerialPackedA / sgemmSerial with B given by a panel source. bias (M floats, or null)
 *  and relu: C = relu(product + beta·C + bias[row]) as the tiles are stored (the conv
 *  epilogue, with no second pass over C). */
void sgemmSerialPackedASrcB(const float* packedA, long M, long N, long K, const BPanelSource& B,
                            float beta, float* C, long ldc, const float* bias = nullptr,
                            bool relu = false);
/** Columns [j0, j1) only (C addressed as for the whole product): threads split one product. */
void sgemmSerialPackedASrcBCols(const float* packedA, long M, long N, long K, long j0, long j1,
                                const BPanelSource& B, float beta, float* C, long ldc,
                                const float* bias = nullptr, bool relu = false);
/** Rows [i0, i1) and columns [j0, j1) only; i0 a multiple of gemmTileRows(). (packedA null:
 *  A [M, K] row-major with row stride lda, packed as it is used.) */
long gemmTileRows();
void sgemmSerialPackedASrcBBlock(const float* packedA, long M, long N, long K, long i0, long i1,
                                 long j0, long j1, const BPanelSource& B, float beta, float* C,
                                 long ldc, const float* bias = nullptr, bool relu = false,
                                 const float* A = nullptr, long lda = 0);
/** The same with A unpacked ([M, K], row stride lda): each caller packs only the rows it uses
 *  (threads splitting one product by rows or by groups pack no weights twice). */
void sgemmSerialSrcBBlock(const float* A, long lda, long M, long N, long K, long i0, long i1,
                          long j0, long j1, const BPanelSource& B, float beta, float* C, long ldc,
                          const float* bias = nullptr, bool relu = false);
void sgemmSerialSrcB(bool transA, long M, long N, long K, const float* A, long lda,
                     const BPanelSource& B, float beta, float* C, long ldc);

}  // namespace anative
