/*
 * gemm.c - reference single-precision GEMM.
 *
 * Loop orders keep the innermost loop on contiguous memory so the compiler
 * can vectorise it; the A*B^T case is a row-by-row dot product with eight
 * independent partial sums (a float reduction is not reassociated by the
 * compiler without -ffast-math, which we never use). This is the oracle:
 * the fast blocked GEMM (../gemm.c) is tested against it, and
 * CZ_KERNELS=ref runs every product through it.
 */
#include <string.h>

#include "kernels/kernels.h"

static float dot(const float *a, const float *b, int n)
{
    float s[8] = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++)
            s[l] += a[k + l] * b[k + l];
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; k < n; k++)
        sum += a[k] * b[k];
    return sum;
}

void cz_gemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
        if (trans_b && !trans_a) {
            /* c[j] += alpha * A[i,:] . B[j,:] */
            for (int j = 0; j < N; j++)
                c[j] += alpha * dot(A + (size_t)i * lda, B + (size_t)j * ldb, K);
            continue;
        }
        for (int k = 0; k < K; k++) {
            float a = alpha * (trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
            if (a == 0.0f)
                continue;
            if (!trans_b) {
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++)
                    c[j] += a * b[j];
            } else {
                for (int j = 0; j < N; j++)
                    c[j] += a * B[(size_t)j * ldb + k];
            }
        }
    }
}
