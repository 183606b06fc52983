/*
 * planes16.c - window ops on 16 small planes at once, the channels in the
 * AVX-512 lanes: depthwise convolution, max and average pooling.
 *
 * Small planes (EfficientNet's and the MobileNets' 14x14 and 7x7 layers,
 * GoogLeNet's pools, hundreds of channels each) leave most of a
 * plane-wide vector empty and spend more on each plane's set-up and on
 * the loops' scalar remainders than on the taps: against ONNX Runtime's
 * blocked layout our depthwise layers took 2-3.7x the time. Here the 16
 * planes are transposed, 16 x 16 at a time, into a padded buffer of PH x
 * PW positions of 16 channels; each output position is then a run of
 * full-vector operations over the window's taps, and 16 positions are
 * transposed back into the 16 output planes.
 *
 * Only on the AVX-512 path, for planes at most DEPTHWISE_MAX_W wide for the
 * depthwise conv (at 32 no faster than a plane at a time; 3x3 kernels from
 * 20 wide go a plane at a time, see plane_kernel_faster) and
 * POOL_MAX_W for the pools (googlenet's 56-wide max pool 0.17-0.23 ->
 * 0.13-0.17 ms, its 112-wide one slower; same-size max pools from 14
 * wide sweep the flat plane, see flat_sweep_faster); the entry points
 * say false otherwise.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef CZ_HAVE_X86
#include "kernels/x86/act_avx512.h"
#include "kernels/x86/transpose_avx512.h"
#endif

#define DEPTHWISE_MAX_W 28
#define POOL_MAX_W 64
/* Positions past the padded buffer that depthwise16's last row reads in
 * its idle lanes, zeroed: (16 - out_w) x the column stride, at most 8
 * for rows of 12 to 16 outputs. */
#define ROW_SLACK 32

/* The padded buffer: the input with its padding, grown to hold every
 * window (a ceil_mode pool's last one reads past the padding). */
typedef struct blocked {
    int PH, PW;
} blocked;

static blocked blocked_of(const cz_conv_geom *g)
{
    int ph = (g->out_h - 1) * g->stride_h + g->dilation * (g->kernel_h - 1) + 1;
    int pw = (g->out_w - 1) * g->stride_w + g->dilation * (g->kernel_w - 1) + 1;
    blocked b = {g->height + 2 * g->pad_h, g->width + 2 * g->pad_w};
    b.PH = ph > b.PH ? ph : b.PH;
    b.PW = pw > b.PW ? pw : b.PW;
    return b;
}

size_t cz_planes16_scratch(const cz_conv_geom *g)
{
    if (g->width > POOL_MAX_W || g->out_w > POOL_MAX_W) /* too wide for any op here */
        return 0;
    blocked b = blocked_of(g);
    /* + ROW_SLACK positions for depthwise16's rows, + 16: room to align
     * to 64 bytes */
    return ((size_t)b.PH * b.PW + ROW_SLACK) * 16 + 16;
}

static bool planes16_fit(const cz_conv_geom *g, int max_w)
{
    return cz_kernels_current() == CZ_KPATH_AVX512 && g->width <= max_w && g->out_w <= max_w &&
           g->kernel_h * g->kernel_w <= 64;
}

#ifdef CZ_HAVE_X86
/* The 16 planes x (H x W, one after another) into blk, padded with pad. */
__attribute__((target("avx512f"))) static void fill_blocks(const cz_conv_geom *g, blocked b,
                                                           const float *x, float pad,
                                                           float *blk)
{
    int H = g->height, W = g->width;
    size_t HW = (size_t)H * W;
    __m512 fill = _mm512_set1_ps(pad);
    /* The padding only (the plane's own positions are written below):
     * filling every position first was more stores than the taps' loads
     * on a 14x14 plane. Rows above and below, then each plane row's left
     * and right ends. */
    for (int h = 0; h < b.PH; h++) {
        bool inside = h >= g->pad_h && h < g->pad_h + H;
        int left = inside ? g->pad_w : b.PW, right = inside ? g->pad_w + W : b.PW;
        float *row = blk + (size_t)h * b.PW * 16;
        for (int w = 0; w < left; w++)
            _mm512_store_ps(row + (size_t)w * 16, fill);
        for (int w = right; w < b.PW; w++)
            _mm512_store_ps(row + (size_t)w * 16, fill);
    }
    /* Then the planes 16 positions at a time, across rows: a 7x7 plane
     * is 4 transposes where a row at a time made 7 of 7 lanes each. */
    int h = 0, w = 0;
    for (size_t p0 = 0; p0 < HW; p0 += 16) {
        int n = HW - p0 < 16 ? (int)(HW - p0) : 16;
        __m512 r[16];
        for (int c = 0; c < 16; c++)
            r[c] = _mm512_maskz_loadu_ps(cz_first_lanes(n), x + c * HW + p0);
        cz_transpose16(r);
        for (int j = 0; j < n; j++) {
            _mm512_store_ps(blk + ((size_t)(h + g->pad_h) * b.PW + g->pad_w + w) * 16, r[j]);
            if (++w == W)
                w = 0, h++;
        }
    }
}

/* Where output positions p0 .. p0 + 15 start in blk (positions past n
 * repeat the last real one). */
static void window_bases(const cz_conv_geom *g, blocked b, const float *blk, int p0, int n,
                         const float *base[16])
{
    /* One division for the first position, then a step along the row:
     * a division per position was 49 per 16 channels of a 7x7 map. */
    int oh = p0 / g->out_w, ow = p0 % g->out_w;
    for (int q = 0; q < 16; q++) {
        base[q] = blk + ((size_t)oh * g->stride_h * b.PW + (size_t)ow * g->stride_w) * 16;
        if (q + 1 < n && ++ow == g->out_w)
            ow = 0, oh++;
    }
}

/* Each tap's offset in blk from a window's first position, in floats. */
static int tap_offsets(const cz_conv_geom *g, blocked b, int off[64])
{
    int taps = 0;
    for (int i = 0; i < g->kernel_h; i++)
        for (int j = 0; j < g->kernel_w; j++)
            off[taps++] = (i * g->dilation * b.PW + j * g->dilation) * 16;
    return taps;
}

/* The 16 vectors acc (position q, lanes = channels) transposed into the
 * 16 output planes at p0 (n positions real). */
__attribute__((target("avx512f"), always_inline)) static inline void
store_positions(__m512 acc[16], int P, int p0, int n, float *y)
{
    cz_transpose16(acc);
    __mmask16 mask = cz_first_lanes(n);
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++)
        _mm512_mask_storeu_ps(y + (size_t)c * P + p0, mask, acc[c]);
}

static float *aligned_in(float *scratch)
{
    return (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
}

/* ---------------------------------------------------------- depthwise */

/* A cz_dw_after with its 16 channels in the lanes. */
typedef struct after16 {
    bool scaled;
    __m512 scale, shift;
    int act;
} after16;

/* v * scale + shift (when scaled), then the activation: ops/conv2d.c's
 * epilogue16 after its bias, the same operations, so the same bits. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
after16_apply(const after16 *a, __m512 v)
{
    if (a->scaled)
        v = _mm512_add_ps(_mm512_mul_ps(v, a->scale), a->shift);
    return cz_act16(a->act, v);
}

/* Each output adds its taps in the plane kernel's order (row by row, then
 * column, from zero, then the bias), so the bits are the same; then
 * `after` (NULL: nothing), and where sums is not NULL each of the n
 * positions' 16 values added to sums[q] in double, q = the position mod
 * 16: cz_plane_mean's partial sums, 16 channels at once. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
depthwise_body(const int sw, const float *const base[16], const __m512 *wv, const int *off,
               int taps, __m512 bias, const after16 *after, int P, int p0, int n, float *y,
               __m512d (*sums)[2])
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
        acc[q] = _mm512_setzero_ps();
    for (int t = 0; t < taps; t++) {
        __m512 w = wv[t];
        const float *row = base[0] + off[t];
#pragma GCC unroll 16
        for (int q = 0; q < 16; q++)
            acc[q] = _mm512_fmadd_ps(
                _mm512_load_ps(sw ? row + q * 16 * sw : base[q] + off[t]), w, acc[q]);
    }
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
        acc[q] = _mm512_add_ps(acc[q], bias);
    if (after)
#pragma GCC unroll 16
        for (int q = 0; q < 16; q++)
            acc[q] = after16_apply(after, acc[q]);
    for (int q = 0; sums && q < n; q++) {
        __m512d *sum = sums[(p0 + q) % 16];
        sum[0] = _mm512_add_pd(sum[0], _mm512_cvtps_pd(_mm512_castps512_ps256(acc[q])));
        sum[1] = _mm512_add_pd(sum[1], _mm512_cvtps_pd(_mm256_castpd_ps(
                                           _mm512_extractf64x4_pd(_mm512_castps_pd(acc[q]), 1))));
    }
    store_positions(acc, P, p0, n, y);
}

/* 16 positions from anywhere, at base[0 .. 15]. */
__attribute__((target("avx512f,fma"))) static void
depthwise_positions(const float *const base[16], const __m512 *wv, const int *off, int taps,
                    __m512 bias, const after16 *after, int P, int p0, int n, float *y,
                    __m512d (*sums)[2])
{
    depthwise_body(0, base, wv, off, taps, bias, after, P, p0, n, y, sums);
}

/* The n positions of one output row from base[0], at column stride 1 or
 * 2: fixed displacements from one register, where 16 window pointers
 * were more than the registers hold and moved through xmm registers and
 * the stack at every tap (see depthwise16). */
__attribute__((target("avx512f,fma"))) static void
depthwise_row(int stride, const float *const base[16], const __m512 *wv, const int *off,
              int taps, __m512 bias, const after16 *after, int P, int p0, int n, float *y,
              __m512d (*sums)[2])
{
    if (stride == 1)
        depthwise_body(1, base, wv, off, taps, bias, after, P, p0, n, y, sums);
    else
        depthwise_body(2, base, wv, off, taps, bias, after, P, p0, n, y, sums);
}

/* The 16 planes' means from their partial sums: folded in halves, as
 * cz_plane_mean folds its 16, then divided in double by the plane's size.
 * Taken here while the outputs are in registers instead of a call per
 * plane after (23 ns for a 49-float plane, hot): efficientnet_b0 b1 0.986x
 * the time on one thread, 0.988 on two, b8 0.989, mobilenet_v3_large
 * 0.986 (paired forwards). */
__attribute__((target("avx512f"))) static void planes_mean(__m512d (*sums)[2], int P,
                                                           float *mean)
{
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            for (int h = 0; h < 2; h++)
                sums[l][h] = _mm512_add_pd(sums[l][h], sums[l + w][h]);
    for (int h = 0; h < 2; h++)
        _mm256_storeu_ps(mean + 8 * h,
                         _mm512_cvtpd_ps(_mm512_div_pd(sums[0][h], _mm512_set1_pd((double)P))));
}

/* The lanes of after's 16 channels. */
__attribute__((target("avx512f"))) static after16 after_lanes(const cz_dw_after *a)
{
    after16 v = {.scaled = a->scale != NULL, .act = a->act};
    v.scale = v.scaled ? _mm512_loadu_ps(a->scale) : _mm512_setzero_ps();
    v.shift = v.scaled ? _mm512_loadu_ps(a->shift) : _mm512_setzero_ps();
    return v;
}

__attribute__((target("avx512f,fma"))) static void
depthwise16(const cz_conv_geom *g, const float *x, const float *w, const float *bias,
            const cz_dw_after *after, float *y, float *blk)
{
    blocked b = blocked_of(g);
    int off[64], taps = tap_offsets(g, b, off);
    __m512 wv[64];
    for (int t = 0; t < taps; t++) {
        float lanes[16];
        for (int c = 0; c < 16; c++)
            lanes[c] = w[c * taps + t];
        wv[t] = _mm512_loadu_ps(lanes);
    }
    float lanes[16];
    for (int c = 0; c < 16; c++)
        lanes[c] = bias ? bias[c] : 0.0f;
    __m512 bv = _mm512_loadu_ps(lanes);
    after16 av = after ? after_lanes(after) : (after16){0};
    __m512d sums[16][2];
    bool mean = after && after->mean;
    for (int q = 0; mean && q < 16; q++)
        sums[q][0] = sums[q][1] = _mm512_setzero_pd();
    fill_blocks(g, b, x, 0.0f, blk);
    int P = g->out_h * g->out_w;
    const float *base[16];
    /* Rows of 12 to 16 outputs (14x14 maps) a row at a time: a block of 16
     * across rows needs a pointer per position. mobilenet_v2 b1, paired
     * forwards: 0.990x the time on one thread, 0.998 on two; its 14x14
     * depthwise layers about 0.05 -> 0.035 ms. */
    if (g->out_w >= 12 && g->out_w <= 16 && g->stride_w <= 2) {
        memset(blk + (size_t)b.PH * b.PW * 16, 0, sizeof(float) * ROW_SLACK * 16);
        for (int oh = 0; oh < g->out_h; oh++) {
            base[0] = blk + (size_t)oh * g->stride_h * b.PW * 16;
            depthwise_row(g->stride_w, base, wv, off, taps, bv, after ? &av : NULL, P,
                          oh * g->out_w, g->out_w, y, mean ? sums : NULL);
        }
    } else {
        for (int p0 = 0; p0 < P; p0 += 16) {
            int n = P - p0 < 16 ? P - p0 : 16;
            window_bases(g, b, blk, p0, n, base);
            depthwise_positions(base, wv, off, taps, bv, after ? &av : NULL, P, p0, n, y,
                                mean ? sums : NULL);
        }
    }
    if (mean)
        planes_mean(sums, P, after->mean);
}

/* ---------------------------------------------------------- max pool */

/* Each output is the maximum over its taps in row-major order, as
 * cz_max_nan folds them: a NaN tap makes it NaN; padding is -inf. */
__attribute__((target("avx512f"))) static void max_positions(const float *const base[16],
                                                             const int *off, int taps, int P,
                                                             int p0, int n, float *y)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
        acc[q] = _mm512_load_ps(base[q]);
    for (int t = 1; t < taps; t++)
#pragma GCC unroll 16
        for (int q = 0; q < 16; q++) {
            __m512 v = _mm512_load_ps(base[q] + off[t]);
            /* cz_max_nan(acc, v): v > acc ? v : acc, then v where v is NaN */
            acc[q] = _mm512_mask_mov_ps(_mm512_max_ps(v, acc[q]),
                                        _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
        }
    store_positions(acc, P, p0, n, y);
}

__attribute__((target("avx512f"))) static void maxpool16(const cz_conv_geom *g, const float *x,
                                                         float *y, float *blk)
{
    blocked b = blocked_of(g);
    int off[64], taps = tap_offsets(g, b, off);
    fill_blocks(g, b, x, -INFINITY, blk);
    int P = g->out_h * g->out_w;
    for (int p0 = 0; p0 < P; p0 += 16) {
        const float *base[16];
        int n = P - p0 < 16 ? P - p0 : 16;
        window_bases(g, b, blk, p0, n, base);
        max_positions(base, off, taps, P, p0, n, y);
    }
}

/* ---------------------------------------------------------- average pool */

/* Each output sums its window's taps in row-major order from zero (the
 * padding adds zeros), then divides by its divisor: the window search's
 * operations, so its bits. */
__attribute__((target("avx512f"))) static void sum_positions(const float *const base[16],
                                                             const int *off, int taps,
                                                             const float *divisors, int P,
                                                             int p0, int n, float *y)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
        acc[q] = _mm512_setzero_ps();
    for (int t = 0; t < taps; t++)
#pragma GCC unroll 16
        for (int q = 0; q < 16; q++)
            acc[q] = _mm512_add_ps(acc[q], _mm512_load_ps(base[q] + off[t]));
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
        acc[q] = _mm512_div_ps(acc[q], _mm512_set1_ps(divisors[p0 + (q < n ? q : n - 1)]));
    store_positions(acc, P, p0, n, y);
}

__attribute__((target("avx512f"))) static void avgpool16(const cz_conv_geom *g,
                                                         const float *divisors, const float *x,
                                                         float *y, float *blk)
{
    blocked b = blocked_of(g);
    int off[64], taps = tap_offsets(g, b, off);
    fill_blocks(g, b, x, 0.0f, blk);
    int P = g->out_h * g->out_w;
    for (int p0 = 0; p0 < P; p0 += 16) {
        const float *base[16];
        int n = P - p0 < 16 ? P - p0 : 16;
        window_bases(g, b, blk, p0, n, base);
        sum_positions(base, off, taps, divisors, P, p0, n, y);
    }
}
#endif

/* Where depthwise.c's plane kernel, with no padded copy for 3x3 kernels,
 * beats the transposes here: from 20 wide (480 planes, one thread, hot:
 * 20x20 stride 1 93 against 97 us, stride 2 47 against 57; 28x28 128
 * against 176 and 62 against 97). At 14x14 stride 1 it was faster alone
 * (43 against 50 us) but mobilenet_v2's depthwise layers on two threads
 * 13% slower: a plane at a time reads what the other core's GEMM wrote
 * one short stream at a time. 5x5 kernels stay here (28x28 stride 1 306
 * against 401 us). */
static bool plane_kernel_faster(const cz_conv_geom *g)
{
    bool k3 = g->kernel_h == 3 && g->kernel_w == 3 && g->dilation == 1 &&
              g->stride_h == g->stride_w;
    return k3 && g->width >= 20;
}

bool cz_depthwise_planes16_takes(const cz_conv_geom *g)
{
#ifdef CZ_HAVE_X86
    /* Column strides above 2 run on the reference plane kernel, whose
     * rounding this would not match. */
    return planes16_fit(g, DEPTHWISE_MAX_W) && g->stride_w <= 2 && !plane_kernel_faster(g);
#else
    (void)g;
    return false;
#endif
}

bool cz_depthwise_planes16(const cz_conv_geom *g, const float *x, const float *w,
                           const float *bias, const cz_dw_after *after, float *y,
                           float *scratch)
{
#ifdef CZ_HAVE_X86
    /* An activation with no vector form would pass unapplied: the caller
     * then runs the planes and its pass. */
    bool vector_act = !after || after->act < 0 || cz_act16_has(after->act);
    if (!cz_depthwise_planes16_takes(g) || !vector_act)
        return false;
    depthwise16(g, x, w, bias, after, y, aligned_in(scratch));
    return true;
#else
    (void)g, (void)x, (void)w, (void)bias, (void)after, (void)y, (void)scratch;
    return false;
#endif
}

/* Same-size max pools (stride 1, window 2 pad + 1) from 14 wide sweep
 * the flat plane faster (ops/pool.h cz_pool_plane_same): googlenet's
 * 3x3/1 on 28x28 0.063 -> 0.035 ms, on 14x14 0.051 -> 0.031; on 7x7
 * the blocks win, 0.030 against 0.043. */
static bool flat_sweep_faster(const cz_conv_geom *g)
{
    bool same = g->stride_h == 1 && g->stride_w == 1 && g->kernel_h == 2 * g->pad_h + 1 &&
                g->kernel_w == 2 * g->pad_w + 1;
    return same && g->width >= 14;
}

bool cz_maxpool_planes16_takes(const cz_conv_geom *g)
{
#ifdef CZ_HAVE_X86
    return planes16_fit(g, POOL_MAX_W) && !flat_sweep_faster(g);
#else
    (void)g;
    return false;
#endif
}

bool cz_maxpool_planes16(const cz_conv_geom *g, const float *x, float *y, float *scratch)
{
#ifdef CZ_HAVE_X86
    if (!cz_maxpool_planes16_takes(g))
        return false;
    maxpool16(g, x, y, aligned_in(scratch));
    return true;
#else
    (void)g, (void)x, (void)y, (void)scratch;
    return false;
#endif
}

bool cz_avgpool_planes16(const cz_conv_geom *g, const float *divisors, const float *x, float *y,
                         float *scratch)
{
#ifdef CZ_HAVE_X86
    if (!planes16_fit(g, POOL_MAX_W))
        return false;
    avgpool16(g, divisors, x, y, aligned_in(scratch));
    return true;
#else
    (void)g, (void)divisors, (void)x, (void)y, (void)scratch;
    return false;
#endif
}
