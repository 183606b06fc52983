/*
 * act_avx512.h - the activations on 16 floats in a zmm register, for
 * cz_act_map on the AVX-512 path (activation.c). Include only from code
 * built for AVX-512 with a target attribute; call only when cpuid says
 * AVX-512F is there.
 *
 * ReLU, ReLU6, Hardswish and Hardsigmoid do the plain C loops' IEEE
 * operations, so they give the same bits. The sigmoid and SiLU do not:
 * exp by the same Cephes polynomial in FMAs, 2^n by vscalefps and 1 / (1
 * + e) by vrcp14ps and one Newton step, within 2e-7 of the exact value
 * relative to it (the C loop: 1.2e-7; test_ops_activation sweeps
 * [-100, 100]), where the C loop's division alone limited a whole
 * EfficientNet to one element per 1.4 cycles. tanh has no vector form
 * here (cz_act16_has says so).
 */
#ifndef CZ_ACT_AVX512_H
#define CZ_ACT_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

#include "cnnzoo.h"

#define CZ_AVX512 __attribute__((target("avx512f"), always_inline)) static inline

static inline bool cz_act16_has(int act) { return act != CZ_ACT_TANH; }

/* x < 0 ? 0 : x > 6 ? 6 : x, NaN passing through. */
CZ_AVX512 __m512 cz_relu6_16(__m512 x)
{
    x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ),
                           _mm512_setzero_ps());
    return _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, _mm512_set1_ps(6.0f), _CMP_GT_OQ),
                              _mm512_set1_ps(6.0f));
}

/* 1 / (1 + e^-x), NaN not passed through (the callers' multiply or blend
 * does). -x is clamped to [-87.3, 88.3] so that e^-x is finite and
 * normal, then e^-x = 2^n e^r with |r| <= ln2 / 2, ln 2 split in two so
 * that r is exact. */
CZ_AVX512 __m512 cz_sigmoid16_raw(__m512 x)
{
    __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x),
                                           _mm512_set1_ps(-87.3f)),
                             _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504089f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512 d = _mm512_add_ps(_mm512_scalef_ps(p, n), _mm512_set1_ps(1.0f));
    /* 1 / d: 14 bits, then a Newton step, rcp (2 - d rcp). */
    __m512 rcp = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(rcp, _mm512_fnmadd_ps(d, rcp, _mm512_set1_ps(2.0f)));
}

/* act (a cz_act with cz_act16_has) applied to 16 floats. */
CZ_AVX512 __m512 cz_act16(int act, __m512 x)
{
    const __m512 zero = _mm512_setzero_ps(), three = _mm512_set1_ps(3.0f);
    const __m512 sixth = _mm512_set1_ps(1.0f / 6.0f); /* as the C loops: no division */
    switch (act) {
    case CZ_ACT_RELU:
        /* x > 0 ? x : (x is NaN ? x : 0) */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, zero, _CMP_GT_OQ) |
                                       _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
                                   x);
    case CZ_ACT_RELU6:
        return cz_relu6_16(x);
    case CZ_ACT_SIGMOID:
        return _mm512_mask_mov_ps(cz_sigmoid16_raw(x), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
                                  x);
    case CZ_ACT_SILU:
        return _mm512_mul_ps(x, cz_sigmoid16_raw(x));
    case CZ_ACT_HARDSWISH:
        return _mm512_mul_ps(_mm512_mul_ps(x, cz_relu6_16(_mm512_add_ps(x, three))), sixth);
    case CZ_ACT_HARDSIGMOID:
        return _mm512_mul_ps(cz_relu6_16(_mm512_add_ps(x, three)), sixth);
    default:
        return x;
    }
}

/* BODY(A) with A the constant equal to act (a cz_act with cz_act16_has,
 * or -1 for none): a loop that calls cz_act16(A, ...) then inlines one
 * case and runs no switch per vector (with the switch inside the loop,
 * ReLU6 mapped 20 floats/ns where a BatchNorm sweep mapped 40). */
#define CZ_ACT16_SWITCH(act, BODY)                                                            \
    switch (act) {                                                                            \
    case CZ_ACT_RELU: BODY(CZ_ACT_RELU); break;                                               \
    case CZ_ACT_RELU6: BODY(CZ_ACT_RELU6); break;                                             \
    case CZ_ACT_SIGMOID: BODY(CZ_ACT_SIGMOID); break;                                         \
    case CZ_ACT_SILU: BODY(CZ_ACT_SILU); break;                                               \
    case CZ_ACT_HARDSWISH: BODY(CZ_ACT_HARDSWISH); break;                                     \
    case CZ_ACT_HARDSIGMOID: BODY(CZ_ACT_HARDSIGMOID); break;                                 \
    default: BODY(-1); break;                                                                 \
    }

#undef CZ_AVX512
#endif
