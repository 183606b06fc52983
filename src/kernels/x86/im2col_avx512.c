/*
 * im2col_avx512.c - im2col on the AVX-512 path: for column strides 1 and 2
 * (dilation 1), each output row of a tap is masked vector loads of the
 * input row, the masks zeroing the taps that fall in the padding; planes
 * of up to 32 floats with up to 16 outputs, any stride or dilation, a
 * permute per tap (im2col_small).
 *
 * The reference (ref/im2col.c) copies each row in three loops: left
 * padding, the valid taps, right padding. On the small maps of a
 * training step (resnet18 at 32x32: 8x8 to 1x1 maps, rows of 8 floats or
 * fewer) those loops and their memset and memcpy calls took 13% of the
 * step. The same values in the same places: a copy, so the same bits.
 *
 * Compiled for any x86-64 with a target attribute; only called when cpuid
 * says AVX-512F is there.
 */
#include <stdint.h>

#include "kernels/kernels.h"
#include "kernels/x86/transpose_avx512.h"

/* The lanes j of 16 with lo <= j < hi. */
static inline __mmask16 lanes_between(int lo, int hi)
{
    lo = lo < 0 ? 0 : lo;
    return (__mmask16)(cz_first_lanes(hi) & ~cz_first_lanes(lo));
}

/* row[w] at w = base + j for the 16 j whose w is in [0, W) (0 elsewhere),
 * without forming a pointer outside the row: masked-off lanes are never
 * read, but C only allows pointers into the array. */
__attribute__((target("avx512f"))) static inline __m512 load_taps(const float *row, int W,
                                                                  int base)
{
    __mmask16 m = lanes_between(-base, W - base);
    uintptr_t at = (uintptr_t)row + (uintptr_t)((intptr_t)base * (intptr_t)sizeof(float));
    return _mm512_maskz_loadu_ps(m, (const float *)at);
}

/* One output row of a tap: out[ow] = in[iw0 + stride * ow] for ow < OW,
 * 0 where that is outside [0, W). */
__attribute__((target("avx512f"))) static void tap_row(const float *in, int W, int iw0,
                                                        int stride, float *out, int OW)
{
    /* Even lanes of two vectors, for stride 2. */
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                           2, 0);
    for (int ow = 0; ow < OW; ow += 16) {
        int base = iw0 + stride * ow;
        __m512 v = load_taps(in, W, base);
        if (stride == 2)
            v = _mm512_permutex2var_ps(v, evens, load_taps(in, W, base + 16));
        _mm512_mask_storeu_ps(out + ow, cz_first_lanes(OW - ow), v);
    }
}

/* A plane of at most 32 floats and at most 16 outputs (resnet18's 4x4 to
 * 1x1 maps at 32x32 input): each tap's whole column row is one permute of
 * the plane in two registers, its index and zero mask made once for all
 * channels, where row by row took a masked load and store per output row
 * of 4 floats or fewer. */
__attribute__((target("avx512f"))) static void im2col_small(const cz_conv_geom *g,
                                                             const float *x, float *col)
{
    int H = g->height, W = g->width, OH = g->out_h, OW = g->out_w, HW = H * W;
    int taps = g->kernel_h * g->kernel_w;
    __mmask16 out_lanes = cz_first_lanes(OH * OW);
    __m512i index[64];
    __mmask16 valid[64];
    for (int t = 0; t < taps; t++) {
        int kh = t / g->kernel_w, kw = t % g->kernel_w, lanes[16] = {0};
        valid[t] = 0;
        for (int p = 0; p < OH * OW; p++) {
            int ih = p / OW * g->stride_h - g->pad_h + kh * g->dilation;
            int iw = p % OW * g->stride_w - g->pad_w + kw * g->dilation;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                lanes[p] = ih * W + iw;
                valid[t] |= (__mmask16)(1u << p);
            }
        }
        index[t] = _mm512_loadu_si512(lanes);
    }
    for (int c = 0; c < g->channels; c++) {
        const float *plane = x + (size_t)c * HW;
        __m512 lo = _mm512_maskz_loadu_ps(cz_first_lanes(HW), plane);
        __m512 hi = _mm512_maskz_loadu_ps(cz_first_lanes(HW - 16), plane + 16);
        float *rows = col + (size_t)c * taps * OH * OW;
        for (int t = 0; t < taps; t++)
            _mm512_mask_storeu_ps(rows + (size_t)t * OH * OW, out_lanes,
                                  _mm512_maskz_permutex2var_ps(valid[t], lo, index[t], hi));
    }
}

__attribute__((target("avx512f"))) bool cz_im2col_avx512(const cz_conv_geom *g, const float *x,
                                                       float *col)
{
    if (g->height * g->width <= 32 && g->out_h * g->out_w <= 16 &&
        g->kernel_h * g->kernel_w <= 64) {
        im2col_small(g, x, col);
        return true;
    }
    if (g->dilation != 1 || (g->stride_w != 1 && g->stride_w != 2))
        return false;
    int H = g->height, W = g->width, OH = g->out_h, OW = g->out_w;
    size_t P = (size_t)OH * OW;
    for (int c = 0; c < g->channels; c++) {
        const float *plane = x + (size_t)c * H * W;
        for (int kh = 0; kh < g->kernel_h; kh++)
            for (int kw = 0; kw < g->kernel_w; kw++) {
                float *row = col + ((size_t)(c * g->kernel_h + kh) * g->kernel_w + kw) * P;
                for (int oh = 0; oh < OH; oh++) {
                    int ih = oh * g->stride_h - g->pad_h + kh;
                    float *out = row + (size_t)oh * OW;
                    if (ih < 0 || ih >= H) {
                        for (int ow = 0; ow < OW; ow += 16)
                            _mm512_mask_storeu_ps(out + ow, cz_first_lanes(OW - ow),
                                                  _mm512_setzero_ps());
                        continue;
                    }
                    tap_row(plane + (size_t)ih * W, W, kw - g->pad_w, g->stride_w, out, OW);
                }
            }
    }
    return true;
}
