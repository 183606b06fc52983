/*
 * act_avx512.h - the activations on 16 floats in a zmm register, for
 * cz_act_map on the AVX-512 path (activation.c). Include only from code
 * built for AVX-512 with a target attribute; call only when cpuid says
 * AVX-512F is there.
 *
 * ReLU, ReLU6, Hardswish and Hardsigmoid do the plain C loops' IEEE
 * operations, so they give the same bits. The sigmoid and SiLU do not:
 * 1 + e^-x by a polynomial in FMAs and 2^n by vscalefps, then one vector
 * division (x / (1 + e^-x) for SiLU), within 1.8e-7 of the exact value
 * relative to it (the C loop: 1.2e-7; test_ops_activation sweeps [-100,
 * 100]). On this Zen 5 a vdivps beat vrcp14ps and a Newton step (SiLU
 * 4.7 -> 5.7 elements/ns in L1), and the degree-6 polynomial with the
 * sign folded into it Cephes' degree 7 (-> 6.9): the FMA pipes bound it.
 * tanh has no vector form here (cz_act16_has says so).
 */
#ifndef CZ_ACT_AVX512_H
#define CZ_ACT_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

#include "cnnzoo.h"

#define CZ_AVX512 __attribute__((target("avx512f"), always_inline)) static inline

static inline bool cz_act16_has(int act) { return act != CZ_ACT_TANH; }

/* x < 0 ? 0 : x > 6 ? 6 : x, NaN passing through: vmaxps and vminps
 * return their second operand where either is NaN or both are zeros, so
 * max(0, x) keeps a NaN and -0 as the comparisons do (two instructions
 * where the compares and blends took four). */
CZ_AVX512 __m512 cz_relu6_16(__m512 x)
{
    return _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), x));
}

/* 1 + e^-x, for the sigmoid 1 / (1 + e^-x) and SiLU x / (1 + e^-x).
 * x is clamped to [-88.3, 87.3] so that e^-x is finite and normal (a NaN
 * becomes -88.3: the callers pass NaN on by a blend or by x itself); then
 * e^-x = 2^n e^-s with n = round(-x log2 e) and s = x + n ln 2 (ln 2 in
 * two parts, so s is exact), |s| <= ln2 / 2, and e^-s by a degree-6
 * polynomial fitted to e^r on [-ln2 / 2, ln2 / 2] (relative error 2e-9,
 * the odd coefficients negated for -s). */
CZ_AVX512 __m512 cz_one_plus_exp_neg16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.3f)), _mm512_set1_ps(87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(-1.44269504089f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 s = _mm512_fmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    s = _mm512_fnmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), s);
    __m512 p = _mm512_set1_ps(1.3836845823e-3f);
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-8.3748159319e-3f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(4.1668225580e-2f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-1.6666420168e-1f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(4.9999992080e-1f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-1.0000000363f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(1.0000000006f));
    return _mm512_add_ps(_mm512_scalef_ps(p, n), _mm512_set1_ps(1.0f));
}

/* act (a cz_act with cz_act16_has) applied to 16 floats. */
CZ_AVX512 __m512 cz_act16(int act, __m512 x)
{
    const __m512 zero = _mm512_setzero_ps(), three = _mm512_set1_ps(3.0f);
    const __m512 sixth = _mm512_set1_ps(1.0f / 6.0f); /* as the C loops: no division */
    switch (act) {
    case CZ_ACT_RELU:
        /* x > 0 ? x : (x is NaN ? x : 0): "not x <= 0" in one compare */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, zero, _CMP_NLE_UQ), x);
    case CZ_ACT_RELU6:
        return cz_relu6_16(x);
    case CZ_ACT_SIGMOID:
        return _mm512_mask_mov_ps(_mm512_div_ps(_mm512_set1_ps(1.0f), cz_one_plus_exp_neg16(x)),
                                  _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
    case CZ_ACT_SILU:
        return _mm512_div_ps(x, cz_one_plus_exp_neg16(x));
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
