/*
 * gemm_avx2.c - the AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile of C in 12
 * ymm accumulators (with two B vectors and one broadcast, 15 of the 16 ymm
 * registers). Ragged N uses masked loads and stores, so edge tiles run the
 * same instructions as full ones. Called only when cpuid has AVX2 and FMA.
 */
#include <immintrin.h>

#include "kernels/gemm_impl.h"

#define MR 6
#define NR 16

/* Lane i is on (all ones) when i < n. */
__attribute__((target("avx2,fma"))) static __m256i lanes_below(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2,fma"))) static void store_row(float *c, __m256 v, __m256i mask,
                                                          float beta)
{
    if (beta == 0.0f) {
        _mm256_maskstore_ps(c, mask, v);
        return;
    }
    __m256 old = _mm256_maskload_ps(c, mask);
    if (beta != 1.0f)
        old = _mm256_mul_ps(_mm256_set1_ps(beta), old);
    _mm256_maskstore_ps(c, mask, _mm256_add_ps(old, v));
}

__attribute__((target("avx2,fma"))) static void ukernel_6x16(int kc, const float *a,
                                                             const float *b, int ldb, float *c,
                                                             int ldc, int m, int n, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++, a += MR, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ar;
#define CZ_ROW(r)                                  \
    ar = _mm256_broadcast_ss(a + r);               \
    c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);   \
    c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);
        CZ_ROW(0) CZ_ROW(1) CZ_ROW(2) CZ_ROW(3) CZ_ROW(4) CZ_ROW(5)
#undef CZ_ROW
    }
    __m256i m0 = lanes_below(n), m1 = lanes_below(n - 8);
    __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                          {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < m; r++) {
        store_row(c + (size_t)r * ldc, rows[r][0], m0, beta);
        if (n > 8)
            store_row(c + (size_t)r * ldc + 8, rows[r][1], m1, beta);
    }
}

const cz_gemm_kernel cz_gemm_kernel_avx2 = {.mr = MR, .nr = NR, .ukernel = ukernel_6x16};
