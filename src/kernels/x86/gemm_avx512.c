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
#include "kernels/x86/transpose_avx512.h"

#define MR 8
#define NR 32
/* How far ahead in the A sliver the kernel asks for lines, in floats (2
 * KiB: 64 k steps). A layer's packed weights come from memory, read once
 * per call when N is small (49 positions on a 7x7 map); without the
 * prefetch the hardware fetched them too late: resnet50's 2048 -> 512 1x1
 * conv took 0.85 ms against 0.65 with its weights in cache, and 0.65 with
 * the prefetch. Rows of a packed A follow one another, so the lines ahead
 * are the next sliver's when this one ends. */
#define A_AHEAD 512

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

/* The 8 x 32 tile's left half alone, for a sliver of n <= 16 columns
 * (T = 0; Winograd's products on a 14x14 map have 16): half the FMAs,
 * where the full tile would mask off the other half after computing it;
 * 8 chains of FMAs, the fewest that cover the latency on two pipes. Or
 * for a sliver of 16 + T columns, T = 1 .. 4 (a 7x7 map's 49 positions
 * end in 17): the half, and each of the T columns after it as 8 rows in
 * a ymm (A's 8 values at k times the column's B value), 8 + T FMAs per k
 * where the full tile made 16. Each element is the same chain as in the
 * full tile (a[r] b[k][j] added in k order), so the same bits. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
ukernel_8x16(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int m,
             int n, float beta, const int T)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0;
    __m512 c7 = c0;
    __m256 t[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
    for (int k = 0; k < kc; k++, a += MR, b += ldb) {
        if ((k & 1) == 0)
            _mm_prefetch((const char *)(a + A_AHEAD), _MM_HINT_T0);
        __m512 b0 = _mm512_loadu_ps(b);
#define CZ_ROW(r) c##r = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), b0, c##r);
        CZ_ROW(0) CZ_ROW(1) CZ_ROW(2) CZ_ROW(3) CZ_ROW(4) CZ_ROW(5) CZ_ROW(6) CZ_ROW(7)
#undef CZ_ROW
        if (T > 0) {
            __m256 ak = _mm256_loadu_ps(a);
            for (int j = 0; j < T; j++)
                t[j] = _mm256_fmadd_ps(ak, _mm256_set1_ps(b[16 + j]), t[j]);
        }
    }
    __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
    __m512 rows[MR] = {c0, c1, c2, c3, c4, c5, c6, c7};
    float tail[4][MR];
    for (int j = 0; j < T; j++)
        _mm256_storeu_ps(tail[j], t[j]);
    for (int r = 0; r < m; r++) {
        float *row = c + (size_t)r * ldc;
        store_row(row, rows[r], m0, beta);
        for (int j = 0; j < T; j++)
            row[16 + j] = beta == 0.0f   ? tail[j][r]
                          : beta == 1.0f ? row[16 + j] + tail[j][r]
                                         : beta * row[16 + j] + tail[j][r];
    }
}

__attribute__((target("avx512f,fma"))) static void ukernel_8x32(int kc, const float *a,
                                                                const float *b, int ldb, float *c,
                                                                int ldc, int m, int n, float beta)
{
    switch (n <= 16 ? 16 : n) {
    case 16:
        ukernel_8x16(kc, a, b, ldb, c, ldc, m, n, beta, 0);
        return;
    case 17:
        ukernel_8x16(kc, a, b, ldb, c, ldc, m, n, beta, 1);
        return;
    case 18:
        ukernel_8x16(kc, a, b, ldb, c, ldc, m, n, beta, 2);
        return;
    case 19:
        ukernel_8x16(kc, a, b, ldb, c, ldc, m, n, beta, 3);
        return;
    case 20:
        ukernel_8x16(kc, a, b, ldb, c, ldc, m, n, beta, 4);
        return;
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++, a += MR, b += ldb) {
        if ((k & 1) == 0) /* a line of A holds two k steps */
            _mm_prefetch((const char *)(a + A_AHEAD), _MM_HINT_T0);
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), ar;
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

/* The transposing packs in 16 x 16 register transposes, not one float at
 * a time: the weight gradient's products (dy times the columns
 * transposed) pack both operands this way, and the plain loops took 6-7%
 * of a resnet50 training step. Exact copies (times alpha), as the plain
 * loops. */

/* An A sliver: rows 0-7 at k0 .. k0 + 15 in r[0..7] and at k0 + 16 ..
 * k0 + 31 in r[8..15]; transposed, r[j] holds the 8 rows at k0 + j, then
 * at k0 + 16 + j: two sliver rows of 8. */
__attribute__((target("avx512f"))) static void pack_rows(const float *A, int lda, int rows,
                                                         int kc, float alpha, float *dst)
{
    __m512 a = _mm512_set1_ps(alpha);
    for (int k0 = 0; k0 < kc; k0 += 32) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) {
            int row = i % MR, k = k0 + (i / MR) * 16;
            __mmask16 m = row < rows ? cz_first_lanes(kc - k) : 0;
            r[i] = _mm512_maskz_loadu_ps(m, A + (size_t)row * lda + k);
            if (alpha != 1.0f)
                r[i] = _mm512_mul_ps(a, r[i]);
        }
        cz_transpose16(r);
        for (int j = 0; j < 16 && k0 + j < kc; j++)
            _mm256_storeu_ps(dst + (size_t)(k0 + j) * MR, _mm512_castps512_ps256(r[j]));
        for (int j = 0; j < 16 && k0 + 16 + j < kc; j++)
            _mm256_storeu_ps(dst + (size_t)(k0 + 16 + j) * MR,
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r[j]), 1)));
    }
}

/* A B sliver, 16 of its 32 columns at a time: rows c0 .. c0 + 15 of B^T
 * at k0 .. k0 + 15, transposed, are those columns at each k. */
__attribute__((target("avx512f"))) static void pack_cols(const float *B, int ldb, int cols,
                                                         int kc, float *dst)
{
    for (int k0 = 0; k0 < kc; k0 += 16) {
        __mmask16 m = cz_first_lanes(kc - k0);
        int n = kc - k0 < 16 ? kc - k0 : 16;
        for (int c0 = 0; c0 < NR; c0 += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = _mm512_maskz_loadu_ps(c0 + i < cols ? m : 0,
                                             B + (size_t)(c0 + i) * ldb + k0);
            cz_transpose16(r);
            for (int j = 0; j < n; j++)
                _mm512_storeu_ps(dst + (size_t)(k0 + j) * NR + c0, r[j]);
        }
    }
}

/* A B sliver straight from rows of B: two masked vector copies per k,
 * rather than a memcpy call per 128 bytes (the calls were 2.5% of a
 * resnet50 training step and 3.6% of its batch-1 inference). */
__attribute__((target("avx512f"))) static void pack_plain(const float *B, int ldb, int cols,
                                                          int kc, float *dst)
{
    __mmask16 m0 = cz_first_lanes(cols), m1 = cz_first_lanes(cols - 16);
    for (int k = 0; k < kc; k++) {
        const float *src = B + (size_t)k * ldb;
        _mm512_storeu_ps(dst + (size_t)k * NR, _mm512_maskz_loadu_ps(m0, src));
        _mm512_storeu_ps(dst + (size_t)k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
}

const cz_gemm_kernel cz_gemm_kernel_avx512 = {.mr = MR,
                                              .nr = NR,
                                              .ukernel = ukernel_8x32,
                                              .pack_rows = pack_rows,
                                              .pack_cols = pack_cols,
                                              .pack_plain = pack_plain};
