/*
 * gemm_impl.h - what the GEMM driver (gemm.c) and the per-ISA micro-kernels
 * share. Not part of the kernels' interface.
 *
 * The driver follows the Goto/BLIS scheme: C is swept in nc-wide column
 * panels; K in kc-deep blocks (B's kc x nc block is packed once into
 * nr-wide slivers, or read in place for a few rows of C); M in mc-tall
 * blocks (A's mc x kc block packed into mr-tall slivers, alpha folded in).
 * The micro-kernel then multiplies one A sliver by one B sliver into an
 * mr x nr tile of C held in registers.
 */
#ifndef CZ_GEMM_IMPL_H
#define CZ_GEMM_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"

/* C tile (m x n, m <= mr, n <= nr, row stride ldc) = beta * C + a * b,
 * where a is a packed sliver (kc x mr, a[k * mr + i]) and b is kc rows of
 * nr values ldb apart (b[k * ldb + j]: a packed sliver with ldb = nr, or
 * B's own rows; any alignment); beta == 0 writes without reading C. Each
 * element's sum runs over k in order, the same whatever m and n. */
typedef void (*cz_ukernel_fn)(int kc, const float *a, const float *b, int ldb, float *c, int ldc,
                              int m, int n, float beta);

/* Packs in the kernel's own vector code (NULL: the driver's plain loops,
 * which give the same values). pack_rows: an A sliver from `rows` (<= mr)
 * rows of A stored along k, dst[k * mr + r] = alpha A[r * lda + k];
 * pack_cols: a B sliver from `cols` (<= nr) rows of B^T, dst[k * nr + c] =
 * B[c * ldb + k]; pack_plain: a B sliver from kc rows of B, dst[k * nr +
 * c] = B[k * ldb + c]. All zero past rows / cols. */
typedef void (*cz_pack_rows_fn)(const float *A, int lda, int rows, int kc, float alpha,
                                float *dst);
typedef void (*cz_pack_cols_fn)(const float *B, int ldb, int cols, int kc, float *dst);

typedef struct cz_gemm_kernel {
    int mr, nr;
    cz_ukernel_fn ukernel;
    cz_pack_rows_fn pack_rows;
    cz_pack_cols_fn pack_cols, pack_plain;
} cz_gemm_kernel;

extern const cz_gemm_kernel cz_gemm_kernel_portable;
#ifdef CZ_HAVE_X86
extern const cz_gemm_kernel cz_gemm_kernel_avx2, cz_gemm_kernel_avx512;
#endif

/* The blocked GEMM on one thread through kernel `uk` (same contract as
 * cz_gemm); the _packed form reads A's rows [row0, row0 + M) from pa
 * (packed for uk; A itself is the fallback when memory is short) instead
 * of packing A, runs pro on each sliver of B as it is packed and ep on
 * each block of C once it is final. */
void cz_gemm_blocked_packed(const cz_gemm_kernel *uk, const cz_packed_a *pa, int row0,
                            bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta,
                            float *C, int ldc, const cz_gemm_prologue *pro,
                            const cz_gemm_epilogue *ep);
void cz_gemm_blocked(const cz_gemm_kernel *uk, bool trans_a, bool trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc);

#endif
