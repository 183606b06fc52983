/*
 * stem_avx512.c - the stem's direct convolution on AVX-512 (inference): a
 * KH x KW conv of stride 1 or 2 on 2 to 4 input channels (the 3x3 stems
 * of MobileNet and EfficientNet, VGG's first conv), with output positions
 * in the lanes. Each tap's 16 inputs (one load, or for stride 2 the even
 * lanes of two) meet 16 output channels' weights, broadcast, in 16
 * accumulators: 16 FMAs per input vector, and the sums come out as rows
 * of the NCHW output, with no column matrix and no transposes. Through
 * im2col and the GEMM such a layer runs at half the FMA peak: its K of 27
 * is too short to pay for packing the columns.
 *
 * Each output sums its taps in im2col's order (channel, row, column), one
 * FMA chain from zero, as the GEMM's micro-kernel does, and a tap outside
 * the plane adds a zero product as im2col's zeros do: the same bits as
 * the GEMM path.
 *
 * Compiled for any x86-64 with a target attribute; only called when cpuid
 * says AVX-512F is there.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/x86/transpose_avx512.h"

#define TARGET __attribute__((target("avx512f,fma")))

/* The inputs of outputs ow0 .. ow0 + 15 for column tap kw in input row r
 * (NULL: a padding row): input columns s ow - pad_w + kw, zero outside
 * [0, W). */
TARGET static inline __m512 tap_inputs(const cz_conv_geom *g, const float *r, int ow0, int kw)
{
    if (!r)
        return _mm512_setzero_ps();
    int c0 = g->stride_w * ow0 - g->pad_w + kw; /* lane 0's column */
    if (g->stride_w == 1)
        return _mm512_maskz_loadu_ps(cz_lane_range(-c0, g->width - c0), r + c0);
    /* Stride 2: the even lanes of the 32 columns from c0. */
    __m512 lo = _mm512_maskz_loadu_ps(cz_lane_range(-c0, g->width - c0), r + c0);
    __m512 hi = _mm512_maskz_loadu_ps(cz_lane_range(-c0 - 16, g->width - c0 - 16), r + c0 + 16);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(lo, even, hi);
}

/* tap_inputs for a block whose every tap lies inside the row: plain
 * loads, no masks to make (which cost about as much as the tap's 16 FMAs;
 * the same values). */
TARGET static inline __m512 inner_inputs(const cz_conv_geom *g, const float *r, int ow0, int kw)
{
    if (!r)
        return _mm512_setzero_ps();
    const float *p = r + g->stride_w * ow0 - g->pad_w + kw;
    if (g->stride_w == 1)
        return _mm512_loadu_ps(p);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}

/* Output row oh of one sample for output channels [oc0, oc0 + 16): w the
 * block's packed weights (taps x 16), y the sample's output. */
TARGET void cz_stem_row_avx512(const cz_conv_geom *g, const float *x, const float *w, int oh,
                               int oc0, int out_channels, float *y)
{
    int KH = g->kernel_h, KW = g->kernel_w, OW = g->out_w;
    size_t plane = (size_t)g->height * g->width, P = (size_t)g->out_h * OW;
    int n = out_channels - oc0 < 16 ? out_channels - oc0 : 16;
    for (int ow0 = 0; ow0 < OW; ow0 += 16) {
        __m512 acc[16];
        for (int o = 0; o < 16; o++)
            acc[o] = _mm512_setzero_ps();
        const float *wt = w;
        /* Whether all taps of the block read inside the row (the last
         * tap's widest load ends there). */
        int c0 = g->stride_w * ow0 - g->pad_w;
        bool inner = c0 >= 0 && c0 + KW - 1 + 16 * g->stride_w <= g->width;
        for (int c = 0; c < g->channels; c++)
            for (int kh = 0; kh < KH; kh++) {
                int ih = oh * g->stride_h - g->pad_h + kh;
                const float *r =
                    ih >= 0 && ih < g->height ? x + c * plane + (size_t)ih * g->width : NULL;
                for (int kw = 0; kw < KW; kw++, wt += 16) {
                    __m512 v = inner ? inner_inputs(g, r, ow0, kw) : tap_inputs(g, r, ow0, kw);
                    for (int o = 0; o < 16; o++)
                        acc[o] = _mm512_fmadd_ps(v, _mm512_set1_ps(wt[o]), acc[o]);
                }
            }
        __mmask16 keep = cz_lane_range(0, OW - ow0);
        float *out = y + (size_t)oc0 * P + (size_t)oh * OW + ow0;
        /* All 16 with a mask (none past the last channel): a loop to n
         * would index acc at run time and keep it in memory. */
        for (int o = 0; o < 16; o++)
            _mm512_mask_storeu_ps(out + o * P, o < n ? keep : 0, acc[o]);
    }
}
#endif
