/*
 * gemm_avx512.c - the AVX-512 GEMM micro-kernel: an 8 x 32 tile of C in 16
 * zmm accumulators. Each k step loads one row of the B sliver (two zmm)
 * and broadcasts 8 values of the A sliver, for 16 independent FMAs: enough
 * to cover the FMA latency on one or two FMA pipes. mr = 8 divides the
 * channel counts of every classic CNN, so conv tiles are rarely ragged in
 * M; ragged N is handled with masked loads and stores, so edge tiles run
 * the same instructions as full ones (the same rounding, hence
 * deterministic however C is split).
 *
 * Compiled for any x86-64 with a target attribute; only called when cpuid
 * says AVX-512F is there.
 */
#include <immintrin.h>

#include "kernels/gemm_impl.h"

#define MR 8
#define NR 32

__attribute__((target("avx512f,fma"))) static void store_row(float *c, __m512 v, __mmask16 mask,
                                                             float beta)
{
    if (beta == 0.0f) {
        _mm512_mask_storeu_ps(c, mask, v);
        return;
    }
    __m512 old = _mm512_maskz_loadu_ps(mask, c);
    if (beta != 1.0f)
        old = _mm512_mul_ps(_mm512_set1_ps(beta), old);
    _mm512_mask_storeu_ps(c, mask, _mm512_add_ps(old, v));
}

__attribute__((target("avx512f,fma"))) static void ukernel_8x32(int kc, const float *a,
                                                                const float *b, float *c,
                                                                int ldc, int m, int n, float beta)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), ar;
#define CZ_ROW(r)                                  \
    ar = _mm512_set1_ps(a[r]);                     \
    c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);   \
    c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);
        CZ_ROW(0) CZ_ROW(1) CZ_ROW(2) CZ_ROW(3) CZ_ROW(4) CZ_ROW(5) CZ_ROW(6) CZ_ROW(7)
#undef CZ_ROW
    }
    __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 m1 = n >= 32 ? 0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : 0;
    __m512 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int r = 0; r < m; r++) {
        store_row(c + (size_t)r * ldc, rows[r][0], m0, beta);
        if (m1)
            store_row(c + (size_t)r * ldc + 16, rows[r][1], m1, beta);
    }
}

const cz_gemm_kernel cz_gemm_kernel_avx512 = {.mr = MR, .nr = NR, .ukernel = ukernel_8x32};
