/*
 * gemm_portable.c - the GEMM micro-kernel in plain C for any CPU: a 4 x 8
 * tile of C in a local array the compiler keeps in vector registers (SSE2
 * on baseline x86-64, NEON elsewhere). No intrinsics; the driver's packing
 * and blocking do the rest. Edge tiles compute the full tile and store only
 * the valid part, so every element sees the same operations.
 */
#include "kernels/gemm_impl.h"

#define MR 4
#define NR 8

static void ukernel_4x8(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int m,
                        int n, float beta)
{
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++, a += MR, b += ldb)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++)
                acc[r][j] += a[r] * b[j];
    for (int r = 0; r < m; r++) {
        float *row = c + (size_t)r * ldc;
        for (int j = 0; j < n; j++) {
            if (beta == 0.0f)
                row[j] = acc[r][j];
            else if (beta == 1.0f)
                row[j] += acc[r][j];
            else
                row[j] = beta * row[j] + acc[r][j];
        }
    }
}

const cz_gemm_kernel cz_gemm_kernel_portable = {.mr = MR, .nr = NR, .ukernel = ukernel_4x8};
