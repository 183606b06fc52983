/*
 * transpose_avx512.h - the 16 x 16 float transpose in zmm registers that
 * the AVX-512 kernels use to change layouts (the direct conv's blocks, the
 * GEMM's transposing packs), and their lane masks. Include only from files built for AVX-512
 * with a target attribute; call only when cpuid says AVX-512F is there.
 */
#ifndef CZ_TRANSPOSE_AVX512_H
#define CZ_TRANSPOSE_AVX512_H

#include <immintrin.h>

/* r[i][j] -> r[j][i] for a 16 x 16 block of floats in 16 zmm: pairs of
 * rows interleaved by 32 bits, then by 64, then 128-bit lanes gathered in
 * two rounds. */
__attribute__((target("avx512f"), always_inline)) static inline void cz_transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + k], lane L: column 4L + k of rows 4g .. 4g + 3 */
    __m512 u[16];
    for (int g = 0; g < 16; g += 4) {
        __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 1]);
        __m512d c = _mm512_castps_pd(t[g + 2]), d = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {
        __m512 a = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88); /* k, 8+k of rows 0-7 */
        __m512 b = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
        __m512 c = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD); /* 4+k, 12+k */
        __m512 d = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
        r[k] = _mm512_shuffle_f32x4(a, b, 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(a, b, 0xDD);
        r[4 + k] = _mm512_shuffle_f32x4(c, d, 0x88);
        r[12 + k] = _mm512_shuffle_f32x4(c, d, 0xDD);
    }
}

/* The mask of the first n of 16 lanes (all for n >= 16). */
static inline __mmask16 cz_first_lanes(int n)
{
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* The mask of lanes [lo, hi) of 16, clipped to 0 .. 16 (a row's columns
 * in a vector that may start before it or end past it). */
static inline __mmask16 cz_lane_range(int lo, int hi)
{
    lo = lo < 0 ? 0 : lo, hi = hi > 16 ? 16 : hi;
    return hi <= lo ? 0 : (__mmask16)(((1u << (hi - lo)) - 1u) << lo);
}

#endif
