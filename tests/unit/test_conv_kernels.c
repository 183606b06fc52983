/*
 * test_conv_kernels.c - the fast convolution paths against the reference
 * ones, and their determinism:
 *   - the direct depthwise kernel on each path vs cz_depthwise_plane_ref
 *     (3x3, 5x5, stride 1 and 2, padding, dilation, rows shorter and
 *     longer than a vector chunk);
 *   - whole conv2d and linear layers (depthwise with and without a channel
 *     multiplier, pointwise, strided, grouped, ordinary) forced to each
 *     path vs the same layer forced to "ref" (im2col + reference GEMM);
 *   - training-mode gradients of those layers on each path vs "ref"
 *     (Winograd's input gradient as a conv of dy; one shared input whose
 *     second gradient adds to the first), and the Winograd weight
 *     transform vs G g G^T;
 *   - bits: a conv run with samples split across threads, with one sample
 *     split inside (batch < threads), and on one thread, all agree;
 *   - the inference plan: whole models with BatchNorm and activations
 *     fused into their convs give the same bits as without, on every path;
 *     packed weights give the per-call pack's bits; cached weights follow
 *     writes through the parameter table; node outputs that share memory
 *     by liveness give the same bits at any batch, across switches to
 *     training and back, in a fraction of the memory.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "kernels/kernels.h"
#include "testutil.h"

static const char *const fast_paths[] = {"portable", "avx2", "avx512"};
#define N_FAST 3

static int out_size(int size, int k, int s, int p, int d)
{
    return (size + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* g with its output size filled in from the rest. */
static cz_conv_geom sized(cz_conv_geom g)
{
    g.out_h = out_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation);
    g.out_w = out_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation);
    return g;
}

/* One plane (h x w), kernel kh x kw, strides sh x sw, the same padding
 * on both axes. */
static cz_conv_geom plane_geom(int h, int w, int kh, int kw, int sh, int sw, int pad, int dil)
{
    return sized((cz_conv_geom){.channels = 1, .height = h, .width = w, .kernel_h = kh,
                                .kernel_w = kw, .stride_h = sh, .stride_w = sw, .pad_h = pad,
                                .pad_w = pad, .dilation = dil});
}

/* Bounds of random_geom's draws: sizes up to h x w, strides up to
 * `stride`, pads below `pad`. */
typedef struct geom_limits {
    int h, w, stride, pad;
} geom_limits;

/* A random geometry of `channels` channels within lim, kernels 1-5 each
 * way, dilation 1-2; false when the window does not fit the padded map. */
static bool random_geom(cz_rng *rng, int channels, geom_limits lim, cz_conv_geom *g)
{
    *g = (cz_conv_geom){.channels = channels,
                        .height = 1 + (int)cz_rng_below(rng, (uint64_t)lim.h),
                        .width = 1 + (int)cz_rng_below(rng, (uint64_t)lim.w),
                        .kernel_h = 1 + (int)cz_rng_below(rng, 5),
                        .kernel_w = 1 + (int)cz_rng_below(rng, 5),
                        .stride_h = 1 + (int)cz_rng_below(rng, (uint64_t)lim.stride),
                        .stride_w = 1 + (int)cz_rng_below(rng, (uint64_t)lim.stride),
                        .pad_h = (int)cz_rng_below(rng, (uint64_t)lim.pad),
                        .pad_w = (int)cz_rng_below(rng, (uint64_t)lim.pad),
                        .dilation = 1 + (int)cz_rng_below(rng, 2)};
    if (g->height + 2 * g->pad_h < g->dilation * (g->kernel_h - 1) + 1 ||
        g->width + 2 * g->pad_w < g->dilation * (g->kernel_w - 1) + 1)
        return false;
    *g = sized(*g);
    return true;
}

static void expect_same_bits(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            fail_msg("%s: element %zu differs: %.9g vs %.9g", what, i, (double)a[i],
                     (double)b[i]);
}

/* What a depthwise conv's epilogue may do after its bias, at random:
 * BatchNorm's scale and shift (half the time) and an activation with a
 * vector form or none; scale and shift have room for 16 channels. */
static cz_dw_after random_after(cz_rng *rng, float scale[16], float shift[16])
{
    static const int acts[] = {-1,          CZ_ACT_RELU,      CZ_ACT_RELU6,
                               CZ_ACT_SILU, CZ_ACT_HARDSWISH, CZ_ACT_SIGMOID};
    tu_fill_uniform(rng, scale, 16, -2.0f, 2.0f);
    tu_fill_uniform(rng, shift, 16, -1.0f, 1.0f);
    bool scaled = cz_rng_below(rng, 2) == 0;
    int act = acts[cz_rng_below(rng, sizeof acts / sizeof *acts)];
    return (cz_dw_after){scaled ? scale : NULL, scaled ? shift : NULL, act, NULL};
}

/* after on channel c's plane y, as the conv's epilogue pass does it. */
static void apply_after(const cz_dw_after *a, int c, float *y, size_t n)
{
    if (a->scale)
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] * a->scale[c] + a->shift[c];
    if (a->act >= 0)
        cz_act_map((cz_act)a->act, y, y, n);
}

static void check_depthwise(const cz_conv_geom *g, cz_rng *rng, const char *path)
{
    size_t in = (size_t)g->height * g->width, out = (size_t)g->out_h * g->out_w;
    size_t taps = (size_t)g->kernel_h * g->kernel_w;
    float *x = malloc(sizeof(float) * in), *w = malloc(sizeof(float) * taps);
    float *want = malloc(sizeof(float) * out), *got = malloc(sizeof(float) * out);
    float *scratch = malloc(sizeof(float) * cz_depthwise_scratch(g));
    assert_true(x && w && want && got && scratch);
    tu_fill_uniform(rng, x, in, -1.0f, 1.0f);
    tu_fill_uniform(rng, w, taps, -1.0f, 1.0f);
    float bias = (float)cz_rng_uniform(rng) - 0.5f;
    cz_depthwise_plane_ref(g, x, w, bias, want);
    for (size_t i = 0; i < out; i++)
        got[i] = NAN;
    cz_depthwise_plane(g, x, w, bias, got, scratch);
    char what[160];
    snprintf(what, sizeof what, "depthwise %s %dx%d k%dx%d s%dx%d p%dx%d d%d", path, g->height,
             g->width, g->kernel_h, g->kernel_w, g->stride_h, g->stride_w, g->pad_h, g->pad_w,
             g->dilation);
    /* Sums of at most 25 products of values in [-1, 1]. */
    tu_expect_close_f(got, want, out, 1e-5, 1e-5, what);
    free(x), free(w), free(want), free(got), free(scratch);
}

static void test_depthwise_planes(void **state)
{
    (void)state;
    static const int fixed[][8] = {
        /* H  W  k  s  p  d  kw  sw */
        {7, 7, 3, 1, 1, 1, 3, 1},     {112, 112, 3, 1, 1, 1, 3, 1}, {112, 112, 3, 2, 1, 1, 3, 2},
        {56, 37, 5, 2, 2, 1, 5, 2},   {14, 14, 5, 1, 2, 1, 5, 1},   {9, 40, 3, 1, 2, 2, 3, 1},
        {1, 1, 3, 1, 1, 1, 3, 1},     {33, 50, 3, 3, 1, 1, 3, 3},   {10, 31, 1, 1, 0, 1, 1, 1},
        {12, 70, 3, 2, 0, 2, 2, 2},
    };
    cz_rng rng;
    cz_rng_seed(&rng, 17);
    for (int p = 0; p < N_FAST; p++) {
        if (!cz_kernels_force(fast_paths[p])) {
            print_message("[  SKIPPED ] depthwise on %s: not supported\n", fast_paths[p]);
            continue;
        }
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
            const int *f = fixed[i];
            cz_conv_geom g = plane_geom(f[0], f[1], f[2], f[6], f[3], f[7], f[4], f[5]);
            check_depthwise(&g, &rng, fast_paths[p]);
        }
        for (int t = 0; t < 60; t++) {
            cz_conv_geom g;
            if (random_geom(&rng, 1, (geom_limits){.h = 40, .w = 70, .stride = 3, .pad = 3}, &g))
                check_depthwise(&g, &rng, fast_paths[p]);
        }
    }
    cz_kernels_force(NULL);
}

/* How many check_planes16 calls compared the planes' means. */
static int planes16_means_checked;

/* 16 planes at once (channels in the lanes, small planes) against 16
 * calls of the plane kernel: the same bits, on the sizes it takes (up to
 * 28 wide, column strides 1-2: kernels 1-5, dilation, padding, ragged
 * last vectors); on every path it declines (returning false) or agrees.
 * True when it took the planes. */
static bool check_planes16(const cz_conv_geom *g, cz_rng *rng)
{
    size_t in = (size_t)g->height * g->width, out = (size_t)g->out_h * g->out_w;
    size_t taps = (size_t)g->kernel_h * g->kernel_w;
    float *x = malloc(sizeof(float) * in * 16), *w = malloc(sizeof(float) * taps * 16);
    float *want = malloc(sizeof(float) * out * 16), *got = malloc(sizeof(float) * out * 16);
    float *scratch = malloc(sizeof(float) * cz_depthwise_scratch(g));
    float bias[16], scale[16], shift[16];
    assert_true(x && w && want && got && scratch);
    tu_fill_uniform(rng, x, in * 16, -1.0f, 1.0f);
    tu_fill_uniform(rng, w, taps * 16, -1.0f, 1.0f);
    tu_fill_uniform(rng, bias, 16, -0.5f, 0.5f);
    /* Half the time with what follows the bias: then the planes' bits
     * with the epilogue's pass after them. */
    cz_dw_after after = random_after(rng, scale, shift);
    bool with_after = cz_rng_below(rng, 2) == 0;
    for (int c = 0; c < 16; c++) {
        cz_depthwise_plane(g, x + c * in, w + c * taps, bias[c], want + c * out, scratch);
        if (with_after)
            apply_after(&after, c, want + c * out, out);
    }
    for (size_t i = 0; i < out * 16; i++)
        got[i] = NAN;
    /* Half of those with the planes' means too (an SE block's squeeze):
     * cz_plane_mean's bits on the planes with their epilogue. */
    float mean[16], want_mean[16];
    for (int c = 0; c < 16; c++) {
        mean[c] = NAN;
        want_mean[c] = cz_plane_mean(want + c * out, out);
    }
    after.mean = with_after && cz_rng_below(rng, 2) == 0 ? mean : NULL;
    bool taken = cz_depthwise_planes16(g, x, w, bias, with_after ? &after : NULL, got, scratch);
    if (taken) {
        char what[160];
        snprintf(what, sizeof what, "depthwise x16 %s %dx%d k%dx%d s%dx%d p%dx%d d%d%s act %d%s",
                 cz_kernels_path(), g->height, g->width, g->kernel_h, g->kernel_w, g->stride_h,
                 g->stride_w, g->pad_h, g->pad_w, g->dilation,
                 with_after && after.scale ? " scaled" : "", with_after ? after.act : -1,
                 after.mean ? " with means" : "");
        expect_same_bits(got, want, out * 16, what);
        if (after.mean)
            expect_same_bits(mean, want_mean, 16, what);
        planes16_means_checked += after.mean != NULL;
    }
    free(x), free(w), free(want), free(got), free(scratch);
    return taken;
}

/* cz_im2col on the AVX-512 path against the reference loops, bit for bit
 * (both are copies): random geometries with maps narrower and wider than
 * a vector, pads up to 3, kernels wider than the map's valid part; half
 * of them on planes of at most 6x5 (the permute per tap, any stride and
 * dilation), half on larger ones (masked row loads for column strides 1
 * and 2; dilation 2 and stride 3 fall back to the reference). */
static void test_im2col_paths(void **state)
{
    (void)state;
    if (!cz_kernels_supported(CZ_KPATH_AVX512))
        skip();
    cz_rng rng;
    cz_rng_seed(&rng, 61);
    const geom_limits sizes[2] = {{.h = 6, .w = 5, .stride = 3, .pad = 3},
                                  {.h = 12, .w = 40, .stride = 3, .pad = 4}};
    int small = 0, rowwise = 0;
    for (int trial = 0; trial < 800; trial++) {
        cz_conv_geom g;
        if (!random_geom(&rng, 1 + (int)cz_rng_below(&rng, 3), sizes[trial % 2], &g))
            continue;
        size_t in = (size_t)g.channels * g.height * g.width;
        size_t rows = (size_t)g.channels * g.kernel_h * g.kernel_w, P = (size_t)g.out_h * g.out_w;
        float *x = malloc(sizeof(float) * in), *want = malloc(sizeof(float) * rows * P);
        float *got = malloc(sizeof(float) * rows * P);
        assert_true(x && want && got);
        tu_fill_uniform(&rng, x, in, -1.0f, 1.0f);
        assert_true(cz_kernels_force("ref"));
        cz_im2col(&g, x, want);
        assert_true(cz_kernels_force("avx512"));
        for (size_t i = 0; i < rows * P; i++)
            got[i] = NAN;
        cz_im2col(&g, x, got);
        char what[160];
        snprintf(what, sizeof what, "im2col %dx%dx%d k%dx%d s%dx%d p%dx%d d%d", g.channels,
                 g.height, g.width, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h,
                 g.pad_w, g.dilation);
        expect_same_bits(got, want, rows * P, what);
        small += g.height * g.width <= 32 && g.out_h * g.out_w <= 16;
        rowwise += g.height * g.width > 32 && g.stride_w <= 2 && g.dilation == 1;
        free(x), free(want), free(got);
    }
    cz_kernels_force(NULL);
    assert_true(small > 50 && rowwise > 50); /* both vector paths ran on many */
}

static void test_depthwise_planes16(void **state)
{
    (void)state;
    static const int fixed[][6] = {
        /* H  W  k  s  p  d */
        {7, 7, 3, 1, 1, 1},   {7, 7, 5, 1, 2, 1},   {14, 14, 3, 1, 1, 1}, {14, 14, 5, 2, 2, 1},
        {19, 19, 3, 2, 1, 1}, {28, 28, 5, 1, 2, 1}, {1, 1, 3, 1, 1, 1},   {9, 16, 3, 1, 2, 2},
        {17, 5, 1, 1, 0, 1},  {13, 19, 3, 2, 0, 1},
    };
    cz_rng rng;
    cz_rng_seed(&rng, 19);
    bool avx512 = false;
    for (int p = 0; p < N_FAST; p++) {
        if (!cz_kernels_force(fast_paths[p]))
            continue;
        bool here = strcmp(fast_paths[p], "avx512") == 0;
        avx512 |= here;
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
            const int *f = fixed[i];
            cz_conv_geom g = plane_geom(f[0], f[1], f[2], f[2], f[3], f[3], f[4], f[5]);
            /* On AVX-512 every one of these is taken; elsewhere none. */
            assert_true(check_planes16(&g, &rng) == here);
        }
        /* Outputs 12 to 16 wide go a row at a time (their last row's idle
         * lanes read past the buffer); each geometry until its means have
         * been compared too. (The means' double partial sums hide their
         * grouping: summing rows from lane 0 instead of by position mod 16
         * gives the same bits.) */
        static const int rows[][8] = {
            /* H  W  kh kw s  p  d */
            {14, 14, 3, 3, 1, 1, 1}, {27, 28, 5, 5, 2, 2, 1}, {12, 12, 3, 3, 1, 1, 1},
            {9, 16, 3, 3, 1, 2, 2},  {15, 13, 5, 5, 1, 2, 1}, {16, 16, 1, 3, 1, 0, 1},
        };
        for (size_t i = 0; here && i < sizeof rows / sizeof *rows; i++) {
            const int *f = rows[i];
            cz_conv_geom g = plane_geom(f[0], f[1], f[2], f[3], f[4], f[4], f[5], f[6]);
            assert_true(g.out_w >= 12 && g.out_w <= 16);
            for (int seen = planes16_means_checked; planes16_means_checked == seen;)
                assert_true(check_planes16(&g, &rng));
        }
        /* tanh after the bias has no vector form: declined, nothing done. */
        cz_conv_geom small = plane_geom(7, 7, 3, 3, 1, 1, 1, 1);
        float zeros[16 * 49] = {0}, out[16 * 49], scratch16[16 * 9 * 9 + 64];
        cz_dw_after tanh_after = {.act = CZ_ACT_TANH};
        assert_false(cz_depthwise_planes16(&small, zeros, zeros, NULL, &tanh_after, out,
                                           scratch16));
        /* 3x3 from 20 wide: the plane kernel's (no padded copy). */
        cz_conv_geom wide = plane_geom(28, 28, 3, 3, 2, 2, 1, 1);
        assert_false(cz_depthwise_planes16_takes(&wide));
        for (int t = 0; t < 60; t++) {
            cz_conv_geom g;
            if (random_geom(&rng, 1, (geom_limits){.h = 30, .w = 28, .stride = 3, .pad = 3}, &g))
                check_planes16(&g, &rng);
        }
    }
    if (!avx512)
        print_message("[  SKIPPED ] depthwise x16: AVX-512 not supported\n");
    cz_kernels_force(NULL);
}


/* The epilogue check: adds each row's channel number, so a block run
 * twice, skipped or given the wrong rows shows in the result. */
static void add_channel(void *ctx, float *c, int ldc, int row, int rows, int cols)
{
    (void)ctx;
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < cols; p++)
            c[(size_t)r * ldc + p] += (float)(row + r);
}

/* cz_direct_conv on x (N, C, H, W): its output, on `threads` threads. */
static float *direct_forward(const cz_conv_geom *g, int OC, const float *packed, int N,
                             const float *x, int threads)
{
    size_t out = (size_t)N * OC * g->out_h * g->out_w;
    float *y = malloc(sizeof(float) * out);
    size_t scratch_floats = cz_line_floats(cz_direct_scratch(g, N, threads));
    float *scratch = aligned_alloc(64, sizeof(float) * scratch_floats);
    assert_true(y && scratch);
    /* NaN everywhere, so padding the copy leaves unwritten shows. */
    memset(scratch, 0xFF, sizeof(float) * scratch_floats);
    for (size_t i = 0; i < out; i++)
        y[i] = NAN;
    cz_gemm_epilogue ep = {.fn = add_channel};
    cz_direct_conv(g, OC, packed, N, x, y, scratch, threads, &ep);
    free(scratch);
    return y;
}

/* One direct conv geometry against im2col + the reference GEMM, at batch
 * 2 on 1, 2, 3 and 8 threads, and each sample alone: the same bits in
 * all. */
static void check_direct(const cz_conv_geom *g, int OC, cz_rng *rng)
{
    const int N = 2;
    size_t in = (size_t)g->channels * g->height * g->width, P = (size_t)g->out_h * g->out_w;
    size_t K = (size_t)g->channels * g->kernel_h * g->kernel_w;
    float *x = malloc(sizeof(float) * in * N), *w = malloc(sizeof(float) * OC * K);
    float *col = malloc(sizeof(float) * K * P), *want = malloc(sizeof(float) * N * OC * P);
    float *packed = malloc(sizeof(float) * cz_direct_weights_size(g, OC));
    assert_true(x && w && col && want && packed);
    tu_fill_uniform(rng, x, in * N, -1.0f, 1.0f);
    tu_fill_uniform(rng, w, (size_t)OC * K, -1.0f, 1.0f);
    for (int n = 0; n < N; n++) {
        float *yn = want + (size_t)n * OC * P;
        cz_im2col(g, x + n * in, col);
        cz_gemm_ref(false, false, OC, (int)P, (int)K, 1.0f, w, (int)K, col, (int)P, 0.0f, yn,
                    (int)P);
        for (int oc = 0; oc < OC; oc++)
            for (size_t p = 0; p < P; p++)
                yn[oc * P + p] += (float)oc;
    }
    cz_direct_weights(g, OC, w, packed);
    char what[160];
    snprintf(what, sizeof what, "direct %dx%dx%d -> %d k%dx%d s%dx%d p%dx%d d%d", g->channels,
             g->height, g->width, OC, g->kernel_h, g->kernel_w, g->stride_h, g->stride_w,
             g->pad_h, g->pad_w, g->dilation);
    float *got = direct_forward(g, OC, packed, N, x, 1);
    /* Sums of up to 3600 products of values in [-1, 1]. */
    tu_expect_close_f(got, want, (size_t)N * OC * P, 1e-4, 1e-5, what);
    static const int thread_counts[] = {2, 3, 8};
    for (int t = 0; t < 3; t++) {
        float *many = direct_forward(g, OC, packed, N, x, thread_counts[t]);
        expect_same_bits(many, got, (size_t)N * OC * P, what);
        free(many);
    }
    for (int n = 0; n < N; n++) {
        float *alone = direct_forward(g, OC, packed, 1, x + n * in, 2);
        expect_same_bits(alone, got + (size_t)n * OC * P, (size_t)OC * P, what);
        free(alone);
    }
    free(x), free(w), free(col), free(want), free(packed), free(got);
}

/* The blocked direct conv over the geometries its kernel splits on: row
 * widths 1 to 20 (every tile width), filter sets of 1 to 4 blocks,
 * ragged channel blocks, stems of 3 to 15 channels stored without
 * padded lanes, several input-block passes (3x3 from 113 channels, 1x1
 * from 1025: the partial sums stored and reloaded), non-square
 * kernels (Inception's 1x7 and 7x1), strides, padding, dilation. */
static void test_direct_geometries(void **state)
{
    (void)state;
    if (!cz_kernels_force("avx512")) {
        print_message("[  SKIPPED ] direct conv: no AVX-512\n");
        return;
    }
    static const int fixed[][11] = {
        /* C  H   W  OC  kh kw sh sw ph pw d */
        {64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1},   {48, 17, 17, 40, 1, 7, 1, 1, 0, 3, 1},
        {48, 17, 17, 40, 7, 1, 1, 1, 3, 0, 1},   {144, 9, 9, 80, 1, 1, 2, 2, 0, 0, 1},
        {16, 1, 1, 16, 3, 3, 1, 1, 1, 1, 1},     {20, 8, 1, 24, 3, 1, 1, 1, 1, 0, 1},
        {32, 11, 11, 96, 5, 5, 2, 2, 2, 2, 1},   {24, 12, 20, 200, 3, 3, 1, 1, 2, 2, 2},
        {3, 40, 37, 64, 7, 7, 2, 2, 3, 3, 1},    {3, 35, 35, 32, 3, 3, 2, 2, 0, 0, 1},
        {5, 9, 30, 48, 11, 11, 4, 4, 2, 2, 1},   {32, 10, 13, 40, 3, 3, 3, 2, 1, 2, 3},
        {16, 16, 32, 36, 3, 3, 1, 1, 1, 1, 1}, /* 512 outputs: two whole chunks of 256 */
        {144, 9, 9, 64, 3, 3, 1, 1, 1, 1, 1},  /* passes of 7 + 2 input blocks */
        {1040, 3, 5, 40, 1, 1, 1, 1, 0, 0, 1}, /* passes of 64 + 1 */
    };
    cz_rng rng;
    cz_rng_seed(&rng, 23);
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        const int *f = fixed[i];
        cz_conv_geom g = sized((cz_conv_geom){.channels = f[0], .height = f[1], .width = f[2],
                                              .kernel_h = f[4], .kernel_w = f[5],
                                              .stride_h = f[6], .stride_w = f[7],
                                              .pad_h = f[8], .pad_w = f[9], .dilation = f[10]});
        check_direct(&g, f[3], &rng);
    }
    static const int channels[] = {3, 8, 16, 24, 40, 72, 100, 144};
    static const int outs[] = {16, 24, 48, 64, 80, 96, 200};
    for (int t = 0; t < 40; t++) {
        cz_conv_geom g;
        int C = channels[cz_rng_below(&rng, 8)];
        if (random_geom(&rng, C, (geom_limits){.h = 12, .w = 20, .stride = 2, .pad = 4}, &g))
            check_direct(&g, outs[cz_rng_below(&rng, 7)], &rng);
    }
    cz_kernels_force(NULL);
}

typedef struct layer_case {
    int C, H, W, OC, k, stride, pad, dilation, groups;
    bool bias;
    const char *kernel; /* the kernel name's stem on a fast path */
    const char *avx512; /* but this one on avx512 (NULL: the same) */
    int kh, kw, ph, pw; /* a kernel of kh x kw, padding ph x pw, where kh > 0 */
} layer_case;

static const layer_case layer_cases[] = {
    {32, 19, 21, 32, 3, 1, 1, 1, 32, true, "depthwise-", NULL, 0, 0, 0, 0},
    {24, 20, 20, 24, 5, 2, 2, 1, 24, false, "depthwise-", NULL, 0, 0, 0, 0},
    {8, 9, 11, 16, 3, 2, 1, 2, 8, true, "depthwise-", NULL, 0, 0, 0, 0}, /* multiplier 2, dilated */
    {40, 14, 14, 24, 1, 1, 0, 1, 1, true, "conv1x1-", NULL, 0, 0, 0, 0},
    {16, 15, 15, 20, 1, 2, 0, 1, 1, false, "conv-gemm-", NULL, 0, 0, 0, 0},
    {13, 17, 16, 33, 3, 1, 1, 1, 1, true, "conv-gemm-", NULL, 0, 0, 0, 0}, /* under 16 channels */
    {12, 12, 12, 18, 3, 1, 1, 1, 3, true, "conv-grouped-gemm-", NULL, 0, 0, 0, 0},
    {3, 30, 30, 16, 7, 2, 3, 1, 1, false, "conv-gemm-", "conv-direct-", 0, 0, 0, 0}, /* a stem */
    /* 3x3 stems: by output rows at batch 1, some starting in the padding */
    {3, 10, 12, 16, 3, 2, 1, 1, 1, false, "conv-gemm-", "conv-stem-", 0, 0, 0, 0},
    {3, 6, 9, 8, 3, 1, 2, 2, 1, true, "conv-gemm-", NULL, 0, 0, 0, 0},
    /* Winograd from 7 M multiply-adds where the direct conv runs (avx512) */
    {24, 26, 30, 48, 3, 1, 1, 1, 1, true, "winograd-f4x3-", NULL, 0, 0, 0, 0},
    {48, 27, 29, 40, 3, 1, 0, 1, 1, false, "winograd-f4x3-", NULL, 0, 0, 0, 0}, /* ragged last tiles */
    {64, 24, 24, 64, 3, 1, 1, 1, 1, true, "winograd-f4x3-", NULL, 0, 0, 0, 0},
    {64, 14, 14, 64, 3, 1, 1, 1, 1, true, "winograd-f4x3-", NULL, 0, 0, 0, 0}, /* 16 tiles, the fewest */
    /* 12 tiles of 4x4 but 42 of 2x2; a 7x7 map, 16 of 2x2; ragged 2x2 tiles */
    {64, 11, 13, 96, 3, 1, 1, 1, 1, true, "winograd-f2x3-", NULL, 0, 0, 0, 0},
    {128, 7, 7, 128, 3, 1, 1, 1, 1, false, "winograd-f2x3-", NULL, 0, 0, 0, 0},
    {128, 9, 11, 112, 3, 1, 0, 1, 1, true, "winograd-f2x3-", NULL, 0, 0, 0, 0},
    /* 9 tiles of 2x2: direct, the samples side by side */
    {64, 5, 6, 64, 3, 1, 1, 1, 1, true, "conv-gemm-", "conv-direct-", 0, 0, 0, 0},
    /* 16 tiles of 2x2 but 0.7 M multiply-adds; 16 of 4x4 and 6.4 M */
    {32, 7, 7, 48, 3, 1, 1, 1, 1, true, "winograd-f2x3-", "conv-direct-", 0, 0, 0, 0},
    {32, 14, 14, 114, 3, 1, 1, 1, 1, true, "winograd-f4x3-", "conv-direct-", 0, 0, 0, 0},
    {64, 1, 1, 40, 3, 1, 1, 1, 1, true, "conv-gemm-", "conv-direct-", 0, 0, 0, 0},  /* 1x1 map: one at a time */
    {24, 9, 13, 20, 5, 2, 2, 2, 1, true, "conv-gemm-", "conv-direct-", 0, 0, 0, 0}, /* ragged blocks, dilated */
    {40, 5, 13, 100, 3, 1, 0, 1, 1, false, "conv-gemm-", "conv-direct-", 0, 0, 0, 0}, /* sets of 4 + 3 blocks */
    {48, 4, 4, 36, 1, 1, 0, 1, 2, false, "conv-grouped-gemm-", NULL, 0, 0, 0, 0}, /* side by side, grouped */
    /* Inception-v3's 1x7, 7x1, 1x3 and 3x1 (Winograd in one dimension),
     * with ragged last tile rows (17 outputs in tiles of 2, 9 in tiles of
     * 4), with padding on the other axis only, and with none */
    {32, 17, 17, 48, 0, 1, 0, 1, 1, true, "winograd1d-f4x7-", NULL, 1, 7, 0, 3},
    {24, 17, 13, 40, 0, 1, 0, 1, 1, false, "winograd1d-f4x7-", NULL, 7, 1, 3, 0},
    {20, 12, 10, 16, 0, 1, 0, 1, 1, true, "winograd1d-f4x7-", NULL, 1, 7, 2, 0},
    {40, 8, 8, 36, 0, 1, 0, 1, 1, true, "winograd1d-f4x3-", NULL, 1, 3, 0, 1},
    {16, 9, 11, 20, 0, 1, 0, 1, 1, false, "winograd1d-f4x3-", NULL, 3, 1, 1, 0},
    {17, 14, 5, 18, 0, 1, 0, 1, 1, true, "winograd1d-f4x3-", NULL, 3, 1, 0, 0},
    /* 5x5 (AlexNet, Inception-v3): Winograd down the columns, 5 shifted
     * products along the rows; padded, and not, with a ragged tile row */
    {24, 13, 15, 32, 5, 1, 2, 1, 1, true, "winograd1d-f4x5-", NULL, 0, 0, 0, 0},
    {20, 11, 9, 24, 5, 1, 0, 1, 1, false, "winograd1d-f4x5-", NULL, 0, 0, 0, 0},
};

/* lc's output height and width. */
static int layer_out_h(const layer_case *lc)
{
    return out_size(lc->H, lc->kh ? lc->kh : lc->k, lc->stride, lc->kh ? lc->ph : lc->pad,
                    lc->dilation);
}

static int layer_out_w(const layer_case *lc)
{
    return out_size(lc->W, lc->kh ? lc->kw : lc->k, lc->stride, lc->kh ? lc->pw : lc->pad,
                    lc->dilation);
}

/* The one-conv net of lc (initialised from `seed`; *node: the conv) and
 * a random input x of `batch` samples drawn from `input_seed`. */
static cz_net *layer_net(const layer_case *lc, uint64_t seed, int *node, int batch,
                         uint64_t input_seed, cz_tensor *x)
{
    cz_rng rng;
    cz_rng_seed(&rng, input_seed);
    tu_tensor_random(x, &rng, batch, lc->C, lc->H, lc->W);
    cz_net *net = cz_net_create(lc->C, lc->H, lc->W, seed);
    *node = cz_conv2d(net, CZ_INPUT, "conv",
                      (cz_conv_args){.out_channels = lc->OC, .kernel = lc->k,
                                     .kernel_h = lc->kh, .kernel_w = lc->kw,
                                     .padding_h = lc->kh ? lc->ph : lc->pad,
                                     .padding_w = lc->kh ? lc->pw : lc->pad,
                                     .stride = lc->stride, .padding = lc->pad,
                                     .dilation = lc->dilation, .groups = lc->groups,
                                     .bias = lc->bias});
    tu_check(cz_net_status(net));
    cz_net_set_training(net, false);
    return net;
}

/* The layer's output for input x under the current path and threads. */
static float *layer_forward(cz_net *net, const cz_tensor *x)
{
    const cz_tensor *y;
    tu_check(cz_net_forward(net, x, &y));
    float *copy = malloc(sizeof(float) * cz_tensor_numel(y));
    assert_non_null(copy);
    memcpy(copy, y->data, sizeof(float) * cz_tensor_numel(y));
    return copy;
}

static void test_conv_layers_per_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) {
        const layer_case *lc = &layer_cases[i];
        int node;
        cz_tensor x = {0};
        cz_net *net = layer_net(lc, 70 + i, &node, 2, 7 + i, &x);
        assert_true(cz_kernels_force("ref"));
        float *want = layer_forward(net, &x);
        size_t n = cz_tensor_numel(&x) / (size_t)lc->C / lc->H / lc->W * lc->OC *
                   (size_t)layer_out_h(lc) * (size_t)layer_out_w(lc);
        for (int p = 0; p < N_FAST; p++) {
            if (!cz_kernels_force(fast_paths[p]))
                continue;
            float *got = layer_forward(net, &x);
            char what[96];
            snprintf(what, sizeof what, "layer case %zu on %s", i, fast_paths[p]);
            tu_expect_close_f(got, want, n, 1e-5, 1e-5, what);
            char kernel[64];
            snprintf(kernel, sizeof kernel, "%s%s",
                     lc->avx512 && strcmp(fast_paths[p], "avx512") == 0 ? lc->avx512
                                                                         : lc->kernel,
                     fast_paths[p]);
            assert_string_equal(cz_net_node_kernel(net, node), kernel);
            free(got);
        }
        free(want);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_kernels_force(NULL);
}

/* One sample of x (N, C, H, W) as a batch of 1. */
static void take_sample(const cz_tensor *x, int n, cz_tensor *one)
{
    int shape[4] = {1, x->shape[1], x->shape[2], x->shape[3]};
    tu_check(cz_tensor_alloc(one, 4, shape));
    size_t per = cz_tensor_numel(one);
    memcpy(one->data, x->data + (size_t)n * per, sizeof(float) * per);
}

/* Batch 3 on 1 thread (samples whole), on 2 (two whole, one split inside),
 * on 4 (all split inside), and each sample alone at batch 1 on 2 threads:
 * the same bits everywhere, on every path. */
static void test_conv_thread_bits(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) {
        const layer_case *lc = &layer_cases[i];
        int node;
        cz_tensor x = {0};
        cz_net *net = layer_net(lc, 90 + i, &node, 3, 30 + i, &x);
        for (int p = 0; p < 4; p++) {
            if (!cz_kernels_force(paths[p]))
                continue;
            cz_set_threads(1);
            float *one = layer_forward(net, &x);
            const cz_tensor *y;
            tu_check(cz_net_forward(net, &x, &y));
            size_t n = cz_tensor_numel(y), per = n / 3;
            static const int thread_counts[] = {2, 4};
            for (int t = 0; t < 2; t++) {
                cz_set_threads(thread_counts[t]);
                float *many = layer_forward(net, &x);
                expect_same_bits(many, one, n, paths[p]);
                free(many);
            }
            cz_set_threads(2);
            for (int s = 0; s < 3; s++) {
                cz_tensor xs = {0};
                take_sample(&x, s, &xs);
                float *alone = layer_forward(net, &xs);
                expect_same_bits(alone, one + (size_t)s * per, per, paths[p]);
                free(alone);
                cz_tensor_free(&xs);
            }
            free(one);
        }
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_set_threads(saved);
    cz_kernels_force(NULL);
}

/* One training step's gradients of a layer net: the input's and the
 * weight's, copied out (dy: the same seeded values every time). */
static void layer_grads(cz_net *net, const cz_tensor *x, float **dx, float **dw)
{
    const cz_tensor *y;
    tu_check(cz_net_forward(net, x, &y));
    cz_tensor dy = {0};
    cz_rng rng;
    cz_rng_seed(&rng, 5);
    tu_tensor_random(&dy, &rng, y->shape[0], y->shape[1], y->shape[2], y->shape[3]);
    cz_net_zero_grad(net);
    tu_check(cz_net_backward(net, &dy));
    const cz_tensor *g = cz_net_input_grad(net);
    const cz_param *w = cz_net_find_param(net, "conv.weight");
    size_t nx = cz_tensor_numel(g), nw = cz_tensor_numel(&w->grad);
    *dx = malloc(sizeof(float) * nx);
    *dw = malloc(sizeof(float) * nw);
    assert_non_null(*dx);
    assert_non_null(*dw);
    memcpy(*dx, g->data, sizeof(float) * nx);
    memcpy(*dw, w->grad.data, sizeof(float) * nw);
    cz_tensor_free(&dy);
}

/* Backward at batch 5: each sample's input gradient is taken by whichever
 * thread comes free, yet its bits repeat exactly, and on maps of more than
 * 128 outputs (one sample at a time) they are the same on 1, 2 and 3
 * threads; on smaller maps training puts each thread's samples side by
 * side, so the products there depend on the split, as the weight
 * gradient's per-thread partials do: both repeat at a given thread count. */
static void test_conv_backward_bits(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) {
        const layer_case *lc = &layer_cases[i];
        int node;
        cz_tensor x = {0};
        cz_net *net = layer_net(lc, 110 + i, &node, 5, 50 + i, &x);
        cz_net_set_training(net, true);
        cz_net_set_input_grad(net, true);
        size_t nx = cz_tensor_numel(&x);
        size_t nw = cz_tensor_numel(&cz_net_find_param(net, "conv.weight")->grad);
        bool alone = layer_out_h(lc) * layer_out_w(lc) > 128;
        for (int p = 0; p < 4; p++) {
            if (!cz_kernels_force(paths[p]))
                continue;
            cz_set_threads(1);
            float *dx1, *dw1;
            layer_grads(net, &x, &dx1, &dw1);
            for (int t = 2; t <= 3; t++) {
                cz_set_threads(t);
                float *dx, *dw, *dx_again, *dw_again;
                layer_grads(net, &x, &dx, &dw);
                layer_grads(net, &x, &dx_again, &dw_again);
                char what[96];
                snprintf(what, sizeof what, "layer case %zu on %s, %d threads: dx", i, paths[p],
                         t);
                expect_same_bits(dx_again, dx, nx, what);
                if (alone)
                    expect_same_bits(dx, dx1, nx, what);
                snprintf(what, sizeof what, "layer case %zu on %s, %d threads: dw", i, paths[p],
                         t);
                expect_same_bits(dw_again, dw, nw, what);
                free(dx), free(dw), free(dx_again), free(dw_again);
            }
            free(dx1), free(dw1);
        }
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_set_threads(saved);
    cz_kernels_force(NULL);
}

/* net's training-mode gradients (its input's and conv.weight's) on each
 * fast path against the reference path's; with `winograd`, node must have
 * run Winograd F(2x2). Sums of up to 1728 products of values in [-1, 1]:
 * the fast GEMMs' order alone puts dw up to 2.3e-5 from the reference's. */
static void expect_grads_per_path(cz_net *net, const cz_tensor *x, int node, bool winograd,
                                  const char *name)
{
    cz_net_set_training(net, true);
    cz_net_set_input_grad(net, true);
    size_t nx = cz_tensor_numel(x);
    size_t nw = cz_tensor_numel(&cz_net_find_param(net, "conv.weight")->grad);
    assert_true(cz_kernels_force("ref"));
    float *dx_ref, *dw_ref;
    layer_grads(net, x, &dx_ref, &dw_ref);
    for (int p = 0; p < N_FAST; p++) {
        if (!cz_kernels_force(fast_paths[p]))
            continue;
        float *dx, *dw;
        layer_grads(net, x, &dx, &dw);
        const char *kernel = cz_net_node_kernel(net, node);
        char what[128];
        snprintf(what, sizeof what, "winograd-f2x3-%s", fast_paths[p]);
        if (winograd)
            assert_string_equal(kernel, what);
        snprintf(what, sizeof what, "%s on %s (%s): dx", name, fast_paths[p], kernel);
        tu_expect_close_f(dx, dx_ref, nx, 1e-4, 1e-4, what);
        snprintf(what, sizeof what, "%s on %s (%s): dw", name, fast_paths[p], kernel);
        tu_expect_close_f(dw, dw_ref, nw, 1e-4, 1e-4, what);
        free(dx), free(dw);
    }
    free(dx_ref), free(dw_ref);
    cz_kernels_force(NULL);
}

/* Every layer case's gradients on each path against the reference's:
 * Winograd's input gradient (a conv of dy with the filters turned,
 * cz_winograd_weights' flip) among them. */
static void test_conv_backward_per_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) {
        int node;
        cz_tensor x = {0};
        cz_net *net = layer_net(&layer_cases[i], 130 + i, &node, 3, 70 + i, &x);
        char name[32];
        snprintf(name, sizeof name, "layer case %zu", i);
        expect_grads_per_path(net, &x, node, false, name);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
}

/* Two Winograd convs reading one input, their outputs added: backward's
 * first input gradient (conv2's) is fresh and runs as a Winograd conv, the
 * second adds to it through the GEMM. */
static void test_conv_backward_shared_input(void **state)
{
    (void)state;
    cz_conv_args a = {.out_channels = 24, .kernel = 3, .padding = 1};
    cz_net *net = cz_net_create(32, 20, 20, 5);
    int c1 = cz_conv2d(net, CZ_INPUT, "conv", a);
    int c2 = cz_conv2d(net, CZ_INPUT, "conv2", a);
    cz_add(net, c1, c2, "add");
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 8);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 32, 20, 20);
    expect_grads_per_path(net, &x, c2, true, "shared input");
    cz_tensor_free(&x);
    cz_net_free(net);
}

/* G of F(4x4, 3x3) and F(2x2, 3x3), rows by interpolation point. */
static const double wino_g4[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
static const double wino_g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* cz_winograd_weights against G g G^T in double, read where the GEMM's
 * pack puts each element (cz_gemm_packed_index; row-major on the
 * reference path): every float of U is one element or a padding row's
 * zero, written exactly once; filters turned and transposed with flip. */
static void test_winograd_weights(void **state)
{
    (void)state;
    static const int cases[][4] = {/* m, OC, C, flip */
                                   {4, 64, 64, 0}, {4, 33, 17, 1}, {2, 40, 24, 0},
                                   {4, 13, 300, 0}, {2, 20, 520, 1}, {4, 9, 70, 1}};
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    cz_rng rng;
    cz_rng_seed(&rng, 77);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int m = cases[c][0], OC = cases[c][1], C = cases[c][2], a = m + 2;
        bool flip = cases[c][3];
        float *w = malloc(sizeof(float) * OC * C * 9);
        assert_non_null(w);
        tu_fill_uniform(&rng, w, (size_t)OC * C * 9, -1.0f, 1.0f);
        for (int p = 0; p < 4; p++) {
            if (!cz_kernels_force(paths[p]))
                continue;
            size_t n = cz_winograd_weights_size(m, OC, C), stride = n / (size_t)(a * a);
            float *U = malloc(sizeof(float) * n);
            unsigned char *seen = calloc(n, 1);
            assert_non_null(U), assert_non_null(seen);
            cz_winograd_weights(m, OC, C, w, flip, U, 2);
            bool packed = cz_gemm_pack_size(OC, C) > 0;
            int pad_rows = OC;
            if (packed) {
                int rows;
                cz_gemm_packed_index(OC, C, 0, 0, &rows);
                pad_rows = (OC + rows - 1) / rows * rows;
            }
            for (int i = 0; i < pad_rows; i++)
                for (int k = 0; k < C; k++) {
                    int rows;
                    size_t at = packed ? cz_gemm_packed_index(OC, C, i, k, &rows)
                                       : (size_t)i * C + k;
                    for (int xi = 0; xi < a * a; xi++) {
                        double want = 0;
                        for (int r = 0; i < OC && r < 3; r++)
                            for (int q = 0; q < 3; q++) {
                                /* filter (i, k); flipped: weight's (k, i), turned */
                                float g = flip ? w[((size_t)k * OC + i) * 9 + 8 - (3 * r + q)]
                                               : w[((size_t)i * C + k) * 9 + 3 * r + q];
                                double gi = m == 4 ? wino_g4[xi / a][r] : wino_g2[xi / a][r];
                                double gj = m == 4 ? wino_g4[xi % a][q] : wino_g2[xi % a][q];
                                want += gi * g * gj;
                            }
                        size_t e = (size_t)xi * stride + at;
                        assert_true(e < n);
                        seen[e]++;
                        if (fabs(U[e] - want) > 1e-6 * (1 + fabs(want)))
                            fail_msg("m %d, %d x %d%s on %s: U[%d] (%d, %d) = %.9g, want %.9g", m,
                                     OC, C, flip ? " flipped" : "", paths[p], xi, i, k, U[e],
                                     want);
                    }
                }
            for (size_t e = 0; e < n; e++)
                if (seen[e] != 1)
                    fail_msg("m %d, %d x %d on %s: U's float %zu written %d times", m, OC, C,
                             paths[p], e, seen[e]);
            free(U), free(seen);
        }
        free(w);
    }
    cz_kernels_force(NULL);
}

/* The packed weights give the same bits in a forward that prepares for
 * backward (whose packs hold W^T too) as in inference, and the caches
 * follow the weights: written
 * through cz_net_find_param between two forwards, the second forward uses
 * the new weights (Winograd and packed alike). */
static void test_weight_caches(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) {
        const layer_case *lc = &layer_cases[i];
        int node;
        cz_tensor x = {0};
        cz_net *net = layer_net(lc, 120 + i, &node, 2, 60 + i, &x);
        for (int p = 0; p < N_FAST; p++) {
            if (!cz_kernels_force(fast_paths[p]))
                continue;
            char what[96];
            snprintf(what, sizeof what, "layer case %zu on %s", i, fast_paths[p]);
            float *cached = layer_forward(net, &x);
            const cz_tensor *y;
            tu_check(cz_net_forward(net, &x, &y));
            size_t n = cz_tensor_numel(y);
            /* The direct conv, Winograd F(4x4) and Winograd in one
             * dimension, for inference only, round differently from the
             * GEMM or F(2x2) that a forward before backward runs; F(2x2)
             * runs in both. */
            const char *kernel = cz_net_node_kernel(net, node);
            bool eval_only = strncmp(kernel, "conv-direct", 11) == 0 ||
                             strncmp(kernel, "winograd-f4x3", 13) == 0 ||
                             strncmp(kernel, "winograd1d", 10) == 0;
            cz_net_set_input_grad(net, true); /* backward's packs: W and W^T */
            float *plain = layer_forward(net, &x);
            cz_net_set_input_grad(net, false);
            if (!eval_only)
                expect_same_bits(cached, plain, n, what);
            cz_param *w = cz_net_find_param(net, "conv.weight");
            for (size_t k = 0; k < cz_tensor_numel(&w->value); k++)
                w->value.data[k] *= -0.5f;
            float *after = layer_forward(net, &x);
            cz_net_set_input_grad(net, true);
            float *want = layer_forward(net, &x);
            cz_net_set_input_grad(net, false);
            tu_expect_close_f(after, want, n, 1e-5, 1e-5, what);
            for (size_t k = 0; k < cz_tensor_numel(&w->value); k++)
                w->value.data[k] *= -2.0f;
            cz_net_params_changed(net);
            free(cached), free(plain), free(after), free(want);
        }
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_kernels_force(NULL);
}

/* A fused BatchNorm's affine map is kept between forwards (a square root
 * per channel), but follows its running statistics: after a training
 * forward moves them, the fused eval forward gives the unfused one's
 * bits, and not its own earlier ones. */
static void test_fused_batchnorm_follows_stats(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(8, 9, 9, 3);
    int conv = cz_conv2d(net, CZ_INPUT, "conv", (cz_conv_args){.out_channels = 16, .kernel = 3});
    cz_relu(net, cz_batchnorm(net, conv, "bn", 1e-5f, 0.5f), "relu");
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 8);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 8, 9, 9);
    cz_net_set_fusion(net, true);
    float *before = layer_forward(net, &x);
    cz_net_set_training(net, true);
    free(layer_forward(net, &x));
    cz_net_set_training(net, false);
    float *fused = layer_forward(net, &x);
    cz_net_set_fusion(net, false);
    float *plain = layer_forward(net, &x);
    size_t n = 2 * 16 * 7 * 7;
    expect_same_bits(fused, plain, n, "fused after a training forward");
    assert_true(memcmp(fused, before, sizeof(float) * n) != 0);
    free(before), free(fused), free(plain);
    cz_tensor_free(&x);
    cz_net_free(net);
}

/* Random BatchNorm statistics and affine parameters, so a fold that
 * dropped a term would show. */
static void randomise_batchnorm(cz_net *net, cz_rng *rng)
{
    for (int i = 0; i < cz_net_param_count(net); i++) {
        cz_param *p = cz_net_param(net, i);
        size_t n = p->dtype == CZ_F32 ? cz_tensor_numel(&p->value) : 0;
        const char *dot = strrchr(p->name, '.');
        if (!n || !dot)
            continue;
        if (strcmp(dot, ".running_var") == 0)
            tu_fill_uniform(rng, p->value.data, n, 0.5f, 2.0f);
        else if (strcmp(dot, ".running_mean") == 0)
            tu_fill_uniform(rng, p->value.data, n, -0.5f, 0.5f);
        else if (strstr(p->name, "bn") || strstr(p->name, "norm"))
            tu_fill_uniform(rng, p->value.data, n, 0.5f, 1.5f);
    }
}

/* Average pooling 16 planes at once against a window search (summed row
 * by row from zero, then divided): the same bits, with the divisors of
 * count_include_pad and without. */
static void check_avgpool_planes16(const cz_conv_geom *g, const float *x, float *y,
                                   float *scratch)
{
    int H = g->height, W = g->width, OH = g->out_h, OW = g->out_w;
    int k = g->kernel_h, s = g->stride_h, pad = g->pad_h;
    size_t in = (size_t)H * W, out = (size_t)OH * OW;
    float *divisors = malloc(sizeof(float) * out);
    assert_non_null(divisors);
    for (int include = 0; include < 2; include++) {
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int h0 = oh * s - pad, w0 = ow * s - pad;
                int h1 = h0 + k > H + pad ? H + pad : h0 + k;
                int w1 = w0 + k > W + pad ? W + pad : w0 + k;
                int real = ((h1 > H ? H : h1) - (h0 < 0 ? 0 : h0)) *
                           ((w1 > W ? W : w1) - (w0 < 0 ? 0 : w0));
                divisors[(size_t)oh * OW + ow] = (float)(include ? (h1 - h0) * (w1 - w0) : real);
            }
        assert_true(cz_avgpool_planes16(g, divisors, x, y, scratch));
        for (int pl = 0; pl < 16; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    float sum = 0.0f;
                    for (int h = oh * s - pad; h < oh * s - pad + k; h++)
                        for (int w = ow * s - pad; w < ow * s - pad + k; w++)
                            if (h >= 0 && h < H && w >= 0 && w < W)
                                sum += x[pl * in + (size_t)h * W + w];
                    float want = sum / divisors[(size_t)oh * OW + ow];
                    float got = y[pl * out + (size_t)oh * OW + ow];
                    if (memcmp(&got, &want, sizeof got) != 0)
                        fail_msg("avgpool x16 %dx%d k%d s%d p%d: plane %d (%d, %d) is %.9g, "
                                 "want %.9g", H, W, k, s, pad, pl, oh, ow, got, want);
                }
    }
    free(divisors);
}

/* Max pooling 16 planes at once against a window search: the same
 * maxima (random values, no ties), NaN wherever a window holds one, on
 * small planes with strides 1-2, kernels 2-5, padding, and ceil_mode's
 * windows that run past the padding. Then average pooling (without the
 * NaN). */
static void test_pool_planes16(void **state)
{
    (void)state;
    static const int cases[][6] = {
        /* H  W  k  s  p  ceil */
        {28, 28, 3, 2, 0, 1}, {14, 14, 2, 2, 0, 1}, {14, 14, 3, 1, 1, 0}, {7, 7, 3, 1, 1, 0},
        {28, 28, 3, 1, 1, 0}, {13, 9, 3, 2, 1, 1},  {5, 17, 5, 2, 2, 0},  {1, 1, 1, 1, 0, 0},
    };
    cz_rng rng;
    cz_rng_seed(&rng, 23);
    bool ran = false;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const int *c = cases[i];
        int H = c[0], W = c[1], k = c[2], s = c[3], pad = c[4];
        int span_h = H + 2 * pad - k, span_w = W + 2 * pad - k;
        int OH = (c[5] ? span_h + s - 1 : span_h) / s + 1;
        int OW = (c[5] ? span_w + s - 1 : span_w) / s + 1;
        /* PyTorch's ceil_mode rule: the last window starts inside. */
        if (c[5] && (OH - 1) * s >= H + pad)
            OH--;
        if (c[5] && (OW - 1) * s >= W + pad)
            OW--;
        cz_conv_geom g = {.channels = 1, .height = H, .width = W, .kernel_h = k, .kernel_w = k,
                          .stride_h = s, .stride_w = s, .pad_h = pad, .pad_w = pad,
                          .dilation = 1, .out_h = OH, .out_w = OW};
        size_t in = (size_t)H * W, out = (size_t)OH * OW;
        float *x = malloc(sizeof(float) * in * 16), *y = malloc(sizeof(float) * out * 16);
        float *scratch = malloc(sizeof(float) * cz_planes16_scratch(&g));
        assert_true(x && y && scratch);
        tu_fill_uniform(&rng, x, in * 16, -1.0f, 1.0f);
        x[in * 3 + in / 2] = NAN;
        if (!cz_maxpool_planes16(&g, x, y, scratch)) {
            free(x), free(y), free(scratch);
            continue;
        }
        ran = true;
        for (int pl = 0; pl < 16; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    float want = -INFINITY;
                    bool nan = false;
                    for (int h = oh * s - pad; h < oh * s - pad + k; h++)
                        for (int w = ow * s - pad; w < ow * s - pad + k; w++)
                            if (h >= 0 && h < H && w >= 0 && w < W) {
                                float v = x[pl * in + (size_t)h * W + w];
                                nan |= v != v;
                                want = v > want ? v : want;
                            }
                    float got = y[pl * out + (size_t)oh * OW + ow];
                    if (nan ? !isnan(got) : got != want)
                        fail_msg("maxpool x16 %dx%d k%d s%d p%d: plane %d (%d, %d) is %g, want %g",
                                 H, W, k, s, pad, pl, oh, ow, got, nan ? NAN : want);
                }
        x[in * 3 + in / 2] = 0.25f;
        check_avgpool_planes16(&g, x, y, scratch);
        free(x), free(y), free(scratch);
    }
    if (!ran)
        print_message("[  SKIPPED ] pools x16: AVX-512 not on this path\n");
}

/* Sample s of x as a batch of one. */
static cz_tensor one_sample(const cz_tensor *x, int s)
{
    cz_tensor one = *x;
    size_t per = cz_tensor_numel(x) / (size_t)x->shape[0];
    one.shape[0] = 1;
    one.data = x->data + (size_t)s * per;
    return one;
}

/* The number of nodes whose last forward ran `kernel`. */
static int count_kernel(const cz_net *net, const char *kernel)
{
    int n = 0;
    for (int i = 0; i < cz_net_node_count(net); i++)
        n += cz_net_node_kernel(net, i) && strcmp(cz_net_node_kernel(net, i), kernel) == 0;
    return n;
}

/* The inference plan folds conv -> BatchNorm -> activation into one pass
 * with the separate ops' arithmetic: the logits are the same bits with
 * fusion on and off, on every path (ReLU, ReLU6, SiLU, Hardswish;
 * depthwise, pointwise, Winograd, grouped convs; DenseNet's BN-before-conv
 * order, where BatchNorm and ReLU fold into one pass), at batch 2 (lanes)
 * and batch 1 (the net itself). DenseNet's and GoogLeNet's concats are
 * done in place there: the writers of their inputs write into them. */
static void test_fusion_bits(void **state)
{
    (void)state;
    static const struct { const char *model; int size; } models[] = {
        {"resnet18", 64}, {"mobilenet_v2", 64}, {"mobilenet_v3_large", 64},
        {"efficientnet_b0", 64}, {"densenet121", 64}, {"vgg11_bn", 32},
        {"resnext50_32x4d", 48}, {"googlenet", 64},
    };
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        cz_net *net = cz_model_create(models[m].model, 10, models[m].size, models[m].size, 5);
        assert_non_null(net);
        cz_rng rng;
        cz_rng_seed(&rng, 40 + m);
        randomise_batchnorm(net, &rng);
        cz_net_set_training(net, false);
        cz_tensor x = {0};
        tu_tensor_random(&x, &rng, 2, 3, models[m].size, models[m].size);
        for (int p = 0; p < 4; p++) {
            if (!cz_kernels_force(paths[p]))
                continue;
            cz_net_set_fusion(net, false);
            float *plain = layer_forward(net, &x);
            cz_net_set_fusion(net, true);
            float *fused = layer_forward(net, &x);
            int n_fused = count_kernel(net, "fused");
            char what[96];
            snprintf(what, sizeof what, "%s on %s, %d nodes fused", models[m].model, paths[p],
                     n_fused);
            assert_true(n_fused > 0);
            expect_same_bits(fused, plain, 20, what);
            /* A linear layer sums one row in another order than several,
             * so batch 1 against batch 1. */
            for (int s = 0; s < 2; s++) {
                cz_tensor one = one_sample(&x, s);
                cz_net_set_fusion(net, false);
                float *plain1 = layer_forward(net, &one);
                cz_net_set_fusion(net, true);
                float *fused1 = layer_forward(net, &one);
                int in_place = count_kernel(net, "in place");
                snprintf(what, sizeof what, "%s on %s, sample %d alone, %d concats in place",
                         models[m].model, paths[p], s, in_place);
                expect_same_bits(fused1, plain1, 10, what);
                bool concats = strcmp(models[m].model, "densenet121") == 0 ||
                               strcmp(models[m].model, "googlenet") == 0;
                assert_true(concats ? in_place > 0 : in_place == 0);
                free(plain1);
                free(fused1);
            }
            free(plain);
            free(fused);
        }
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_kernels_force(NULL);
}

/* The stem's direct conv (kernels/stem.c, inference on AVX-512) sums each
 * output's taps as im2col and the GEMM do: a conv -> BatchNorm -> ReLU6
 * stem gives the bits of the GEMM path, which the same net runs when the
 * input's gradient is wanted (strides 1 and 2, padding rows and columns,
 * an odd map, a last block of 8 channels, 2 to 4 input channels, a 5x3
 * kernel), at batch 3 on 1 and 2 threads. */
static void test_stem_bits(void **state)
{
    (void)state;
    static const struct { int C, H, W, OC, kh, kw, s, p; } cases[] = {
        {3, 37, 37, 24, 3, 3, 2, 1}, {3, 20, 40, 64, 3, 3, 1, 1}, {4, 17, 33, 16, 5, 3, 2, 2},
        {2, 9, 50, 8, 2, 2, 2, 0},  {3, 11, 101, 32, 3, 3, 2, 1}, {3, 9, 99, 32, 3, 3, 2, 0},
    };
    if (!cz_kernels_force("avx512")) {
        print_message("[  SKIPPED ] stem: AVX-512 not on this machine\n");
        return;
    }
    int saved = omp_get_max_threads();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cz_net *net = cz_net_create(cases[c].C, cases[c].H, cases[c].W, 30 + c);
        int conv = cz_conv2d(net, CZ_INPUT, "conv",
                             (cz_conv_args){.out_channels = cases[c].OC,
                                            .kernel_h = cases[c].kh, .kernel_w = cases[c].kw,
                                            .stride = cases[c].s, .padding = cases[c].p});
        cz_activation(net, cz_batchnorm(net, conv, "bn", 1e-5f, 0.1f), "act", CZ_ACT_RELU6);
        tu_check(cz_net_status(net));
        cz_rng rng;
        cz_rng_seed(&rng, 50 + c);
        randomise_batchnorm(net, &rng);
        cz_net_set_training(net, false);
        cz_tensor x = {0};
        tu_tensor_random(&x, &rng, 3, cases[c].C, cases[c].H, cases[c].W);
        cz_net_set_input_grad(net, true);
        float *want = layer_forward(net, &x);
        assert_string_equal(cz_net_node_kernel(net, conv), "conv-gemm-avx512");
        cz_net_set_input_grad(net, false);
        size_t n = cz_tensor_numel(&net->nodes[cz_net_output(net)].out);
        for (int t = 1; t <= 2; t++) {
            cz_set_threads(t);
            float *got = layer_forward(net, &x);
            char what[64];
            snprintf(what, sizeof what, "stem case %zu, %d threads", c, t);
            assert_string_equal(cz_net_node_kernel(net, conv), "conv-stem-avx512");
            expect_same_bits(got, want, n, what);
            free(got);
        }
        free(want);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_set_threads(saved);
    cz_kernels_force(NULL);
}

/* Whether node's buffer [at, at + numel) lies inside other's. */
static bool buffer_in(const cz_node *node, const cz_node *other)
{
    size_t at = node->arena_at, end = at + cz_node_numel(node);
    return other->arena_at <= at && end <= other->arena_at + cz_node_numel(other);
}

/* Whether the buffers of a and b share any float. */
static bool buffers_overlap(const cz_node *a, const cz_node *b)
{
    return a->arena_at < b->arena_at + cz_node_numel(b) &&
           b->arena_at < a->arena_at + cz_node_numel(a);
}

/* In a plan for a batch of one, every pool's output that is not a slice
 * of a concat's buffer has memory no other node's output uses (net.c's
 * owns_buffer); at other batches the pools share. Returns how many pools
 * were checked. */
static int expect_pools_own_buffers(const cz_net *net, const char *what)
{
    int checked = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        const cz_node *pool = &net->nodes[i];
        if ((pool->op != &cz_op_maxpool && pool->op != &cz_op_avgpool) ||
            pool->arena_at == CZ_NO_BUFFER)
            continue;
        bool slice = false;
        for (int j = 0; j < net->n_nodes && !slice; j++)
            slice = net->nodes[j].op == &cz_op_concat &&
                    net->nodes[j].arena_at != CZ_NO_BUFFER && buffer_in(pool, &net->nodes[j]);
        if (slice)
            continue;
        for (int j = 0; j < net->n_nodes; j++)
            if (j != i && net->nodes[j].arena_at != CZ_NO_BUFFER &&
                buffers_overlap(pool, &net->nodes[j]))
                fail_msg("%s: pool %s shares memory with %s", what, pool->name,
                         net->nodes[j].name);
        checked++;
    }
    return checked;
}

/* The plan's shared buffers: DenseNet (each dense layer's output is read
 * by every later concat of its block, so lifetimes are long and nested),
 * GoogLeNet (four branches alive at once) and ResNet give the plain
 * forward's bits at batch 2, then 1, then 3, and again after a
 * training-mode forward in between, with their feature maps in under a
 * quarter of the memory that one buffer per node takes; at batch 1 the
 * pools have buffers of their own, and the plan changes with the batch
 * without changing the bits. */
static void test_plan_buffers(void **state)
{
    (void)state;
    static const char *const models[] = {"densenet121", "googlenet", "resnet18"};
    static const int batches[] = {2, 1, 3, 0, 2}; /* 0: a training forward */
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        cz_net *net = cz_model_create(models[m], 10, 64, 64, 9);
        assert_non_null(net);
        cz_rng rng;
        cz_rng_seed(&rng, 70 + m);
        randomise_batchnorm(net, &rng);
        size_t per_node = 0;
        int pools = 0;
        for (int i = 0; i < cz_net_node_count(net); i++)
            per_node += net->nodes[i].train_only ? 0 : cz_node_numel(&net->nodes[i]);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            cz_tensor x = {0};
            tu_tensor_random(&x, &rng, batches[b] ? batches[b] : 2, 3, 64, 64);
            cz_net_set_training(net, batches[b] == 0);
            cz_net_set_fusion(net, false);
            float *plain = layer_forward(net, &x);
            cz_net_set_fusion(net, true);
            float *planned = layer_forward(net, &x);
            char what[96];
            snprintf(what, sizeof what, "%s planned, batch %d", models[m], batches[b]);
            if (batches[b])
                expect_same_bits(planned, plain, 10 * (size_t)batches[b], what);
            if (batches[b] == 1)
                pools += expect_pools_own_buffers(net, what);
            free(plain);
            free(planned);
            cz_tensor_free(&x);
        }
        print_message("%s: %zu floats of feature maps per sample planned, %zu one per node\n",
                      models[m], net->arena_per_sample, per_node);
        assert_true(net->arena_per_sample * 4 < per_node);
        /* googlenet's stem and branch pools, resnet18's; densenet121's
         * all start a dense block, in its concats' buffers */
        assert_int_equal(pools, m == 0 ? 0 : m == 1 ? 13 : 1);
        cz_net_free(net);
    }
}

/* Under the inference plan, whose buffers the ops share and reuse, a
 * forward leaves the caller's input as it was, and the next forward on
 * another input gives that input's output (the unplanned net's bits),
 * not the first one's. At batch 1, and at batch 2 in a net that keeps
 * the whole batch together (CBAM's channel MLPs keep it off the lanes). */
static void test_input_untouched(void **state)
{
    (void)state;
    static const struct { const char *model; int batch; } cases[] = {
        {"resnet18", 1}, {"mobilenet_v3_large", 1}, {"cbam_resnet50", 2}};
    for (size_t m = 0; m < sizeof cases / sizeof *cases; m++) {
        cz_net *net = cz_model_create(cases[m].model, 10, 32, 32, 11);
        assert_non_null(net);
        cz_rng rng;
        cz_rng_seed(&rng, 90 + m);
        randomise_batchnorm(net, &rng);
        cz_net_set_training(net, false);
        cz_tensor x[2] = {{0}, {0}};
        float *plain[2], *kept[2];
        size_t n = (size_t)cases[m].batch * 3 * 32 * 32, classes = 10 * (size_t)cases[m].batch;
        for (int i = 0; i < 2; i++) {
            tu_tensor_random(&x[i], &rng, cases[m].batch, 3, 32, 32);
            kept[i] = malloc(sizeof(float) * n);
            assert_non_null(kept[i]);
            memcpy(kept[i], x[i].data, sizeof(float) * n);
            plain[i] = layer_forward(net, &x[i]);
        }
        cz_net_set_fusion(net, true);
        for (int i = 0; i < 2; i++) {
            float *planned = layer_forward(net, &x[i]);
            char what[96];
            snprintf(what, sizeof what, "%s planned, input %d: output", cases[m].model, i);
            expect_same_bits(planned, plain[i], classes, what);
            snprintf(what, sizeof what, "%s planned, input %d: the input after", cases[m].model, i);
            expect_same_bits(x[i].data, kept[i], n, what);
            free(planned);
        }
        for (int i = 0; i < 2; i++) {
            free(plain[i]);
            free(kept[i]);
            cz_tensor_free(&x[i]);
        }
        cz_net_free(net);
    }
}

/* A model at size x size in eval mode with fusion on and random
 * BatchNorm statistics, and x: `batch` random images, both from `seed`. */
static cz_net *planned_net(const char *model, int size, uint64_t seed, int batch, cz_tensor *x)
{
    cz_net *net = cz_model_create(model, 10, size, size, seed);
    assert_non_null(net);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    randomise_batchnorm(net, &rng);
    tu_tensor_random(x, &rng, batch, 3, size, size);
    cz_net_set_training(net, false);
    cz_net_set_fusion(net, true);
    return net;
}

/* Lanes (lanes.c): at a batch over one the inference plan takes the
 * trunk sample by sample, a lane per thread, then the classifier on the
 * whole batch. Batch 5 on 1, 2 and 3 threads (whole rounds of a sample
 * per thread, and a rest on all of them), with the per-node profile on,
 * after a training forward (which packs the weights again, so the lanes
 * must find them made before they run side by side) and after the
 * weights change: the bits of the whole batch run op by op. NIN has no
 * fully connected layer (its output comes from a lane); GoogLeNet's
 * auxiliary classifiers are skipped in eval. */
static void test_lanes_bits(void **state)
{
    (void)state;
    static const struct { const char *model; int size; } models[] = {
        {"mobilenet_v3_large", 64}, {"resnet18", 48}, {"nin_cifar10", 32}, {"googlenet", 64},
    };
    int saved = omp_get_max_threads();
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        cz_tensor x = {0};
        cz_net *net = planned_net(models[m].model, models[m].size, 80 + m, 5, &x);
        tu_check(cz_net_set_bn_momentum(net, 0.0f)); /* training forwards keep the statistics */
        double *seconds = calloc((size_t)cz_net_node_count(net), sizeof *seconds);
        assert_non_null(seconds);
        for (int round = 0; round < 2; round++) {
            cz_set_threads(2);
            net->lanes_off = true;
            float *want = layer_forward(net, &x);
            net->lanes_off = false;
            static const int threads[] = {1, 2, 3};
            for (int t = 0; t < 3; t++) {
                cz_set_threads(threads[t]);
                cz_net_set_profile(net, t == 1 ? seconds : NULL);
                float *got = layer_forward(net, &x);
                char what[96];
                snprintf(what, sizeof what, "%s in lanes on %d threads, round %d",
                         models[m].model, threads[t], round);
                expect_same_bits(got, want, 50, what);
                free(got);
                cz_net_set_training(net, true); /* packs the weights for training */
                free(layer_forward(net, &x));
                cz_net_set_training(net, false);
            }
            free(want);
            /* New weights: the lanes' caches must follow. */
            cz_net_param(net, 0)->value.data[0] += 0.5f;
            cz_net_params_changed(net);
        }
        double trunk = 0;
        for (int i = 1; i < cz_lanes_split(net); i++)
            trunk += seconds[i];
        assert_true(trunk > 0);
        free(seconds);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_set_threads(saved);
}

/* Every other op family in lanes running side by side (split attention,
 * Res2Net's split sums, grouped convs and channel shuffles, LRN's saved
 * scratch, Inception's same-size pools, separable convs, SE blocks, dense
 * concats): batch 4 on two threads, two lanes at once, gives the bits of
 * the batch run layer by layer, so no op shares state between lanes.
 * CBAM, whose channel MLPs put fully connected layers in the trunk, stays
 * on the whole batch (a linear layer's sums differ between one row and
 * several), and so gives those bits too. */
static void test_lanes_op_families(void **state)
{
    (void)state;
    static const struct { const char *model; int size; } models[] = {
        {"resnest50d", 64},   {"res2net50_26w_4s", 64}, {"cbam_resnet50", 64},
        {"shufflenet_v1", 64}, {"alexnet_paper", 67},    {"inception_v3", 75},
        {"xception", 71},     {"efficientnet_b0", 64},  {"densenet121", 64},
    };
    int saved = omp_get_max_threads();
    cz_set_threads(2);
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        cz_tensor x = {0};
        cz_net *net = planned_net(models[m].model, models[m].size, 90 + m, 4, &x);
        bool cbam = strcmp(models[m].model, "cbam_resnet50") == 0;
        assert_true(cz_lanes_split(net) > 0 ? !cbam : cbam);
        net->lanes_off = true;
        float *want = layer_forward(net, &x);
        net->lanes_off = false;
        for (int run = 0; run < 2; run++) { /* making the caches, then finding them */
            float *got = layer_forward(net, &x);
            expect_same_bits(got, want, 40, models[m].model);
            free(got);
        }
        free(want);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
    cz_set_threads(saved);
}

/* One training step's results: the logits, then every parameter's
 * gradient and every buffer (BatchNorm's running statistics), in table
 * order. */
static float *training_step(cz_net *net, const cz_tensor *x, cz_rng *rng, size_t *n)
{
    float *logits = layer_forward(net, x);
    const cz_tensor *y = cz_net_node_output(net, cz_net_output(net));
    size_t total = cz_tensor_numel(y);
    cz_tensor seed = {0};
    bool maps = y->ndim == 4;
    tu_tensor_random(&seed, rng, y->shape[0], y->shape[1], maps ? y->shape[2] : 0,
                     maps ? y->shape[3] : 0);
    tu_check(cz_net_backward(net, &seed));
    cz_tensor_free(&seed);
    for (int i = 0; i < cz_net_param_count(net); i++) {
        const cz_param *p = cz_net_param(net, i);
        total += p->dtype == CZ_F32 ? 2 * cz_tensor_numel(&p->value) : 0;
    }
    float *all = realloc(logits, sizeof(float) * total);
    assert_non_null(all);
    size_t at = cz_tensor_numel(y);
    for (int i = 0; i < cz_net_param_count(net); i++) {
        const cz_param *p = cz_net_param(net, i);
        size_t k = p->dtype == CZ_F32 ? cz_tensor_numel(&p->value) : 0;
        const float *src = p->kind == CZ_PARAM_WEIGHT ? p->grad.data : p->value.data;
        if (k && src)
            memcpy(all + at, src, sizeof(float) * k), at += k;
    }
    *n = at;
    return all;
}

/* A residual that a node after the chain's BatchNorm reads too, so that
 * the chain adds to its gradient rather than storing it: out = relu(bn(
 * conv(r)) + r) + r / 2, r = conv(x). */
static cz_net *shared_residual_net(void)
{
    cz_net *net = cz_net_create(3, 8, 8, 11);
    cz_conv_args conv = {.out_channels = 8, .kernel = 3, .padding = 1};
    int r = cz_conv2d(net, CZ_INPUT, "conv1", conv);
    int b = cz_batchnorm(net, cz_conv2d(net, r, "conv2", conv), "bn", 1e-5f, 0.1f);
    int half = cz_scale(net, r, "half", 0.5f);
    int a = cz_relu(net, cz_add(net, b, r, "add"), "relu");
    cz_add(net, a, half, "out");
    tu_check(cz_net_status(net));
    return net;
}

/* The training plan: BatchNorm -> add -> activation chains in one pass
 * forward, their backward recomputing the add's and the activation's
 * inputs. A training step gives the same logits, gradients and running
 * statistics, bit for bit, with fusion on and off: ReLU chains with and
 * without the residual (ResNet), ReLU6 and BatchNorm -> add with no
 * activation (MobileNetV2), SiLU and Hardswish through the activation's
 * own backward (EfficientNet, MobileNetV3), DenseNet's BN-ReLU-conv, and
 * a residual whose gradient the chain adds to. The chains' inner maps and
 * gradients are not kept. */
static void test_training_plan_bits(void **state)
{
    (void)state;
    static const char *const models[] = {"resnet18",           "mobilenet_v2", "efficientnet_b0",
                                         "mobilenet_v3_large", "densenet121",  NULL};
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        float *result[2];
        size_t n[2];
        int inner = 0, size = models[m] ? 32 : 8;
        for (int fused = 0; fused < 2; fused++) {
            cz_net *net = models[m] ? cz_model_create(models[m], 10, size, size, 11)
                                    : shared_residual_net();
            assert_non_null(net);
            cz_rng rng;
            cz_rng_seed(&rng, 90 + m);
            randomise_batchnorm(net, &rng);
            cz_net_set_training(net, true);
            cz_net_set_dropout(net, false);
            cz_net_set_fusion(net, fused);
            cz_tensor x = {0};
            tu_tensor_random(&x, &rng, 3, 3, size, size);
            result[fused] = training_step(net, &x, &rng, &n[fused]);
            for (int i = 0; fused && i < cz_net_node_count(net); i++)
                inner += !cz_net_node_grad(net, i) && i != CZ_INPUT;
            cz_tensor_free(&x);
            cz_net_free(net);
        }
        char what[96];
        snprintf(what, sizeof what, "%s training step, %d inner maps not kept",
                 models[m] ? models[m] : "shared residual", inner);
        assert_true(inner > 0);
        assert_int_equal(n[0], n[1]);
        expect_same_bits(result[1], result[0], n[0], what);
        free(result[0]);
        free(result[1]);
    }
}

/* Linear: fast paths vs ref, and batch 1 on 2 threads = batch 3 on 1. */
static void test_linear_paths(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    cz_net *net = cz_net_create(300, 1, 1, 3);
    cz_linear(net, cz_flatten(net, CZ_INPUT, NULL), "fc", 77, true);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 12);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 3, 300, 1, 1);
    assert_true(cz_kernels_force("ref"));
    float *want = layer_forward(net, &x);
    for (int p = 0; p < N_FAST; p++) {
        if (!cz_kernels_force(fast_paths[p]))
            continue;
        cz_set_threads(1);
        float *got = layer_forward(net, &x);
        tu_expect_close_f(got, want, 3 * 77, 1e-5, 1e-5, fast_paths[p]);
        cz_set_threads(2);
        for (int s = 0; s < 3; s++) {
            cz_tensor xs = {0};
            take_sample(&x, s, &xs);
            float *alone = layer_forward(net, &xs);
            /* Batch 1 is a matrix-vector product (the reference's dot
             * products); compare values, not bits, with the batch-3 GEMM. */
            tu_expect_close_f(alone, want + (size_t)s * 77, 77, 1e-5, 1e-5, "linear batch 1");
            free(alone);
            cz_tensor_free(&xs);
        }
        float *par = layer_forward(net, &x);
        expect_same_bits(par, got, 3 * 77, "linear, 2 threads vs 1");
        free(par);
        free(got);
    }
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
    cz_set_threads(saved);
    cz_kernels_force(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_planes),
        cmocka_unit_test(test_depthwise_planes16),
        cmocka_unit_test(test_im2col_paths),
        cmocka_unit_test(test_pool_planes16),
        cmocka_unit_test(test_direct_geometries),
        cmocka_unit_test(test_conv_layers_per_path),
        cmocka_unit_test(test_conv_thread_bits),
        cmocka_unit_test(test_conv_backward_bits),
        cmocka_unit_test(test_conv_backward_per_path),
        cmocka_unit_test(test_conv_backward_shared_input),
        cmocka_unit_test(test_winograd_weights),
        cmocka_unit_test(test_fusion_bits),
        cmocka_unit_test(test_stem_bits),
        cmocka_unit_test(test_training_plan_bits),
        cmocka_unit_test(test_plan_buffers),
        cmocka_unit_test(test_input_untouched),
        cmocka_unit_test(test_lanes_bits),
        cmocka_unit_test(test_lanes_op_families),
        cmocka_unit_test(test_weight_caches),
        cmocka_unit_test(test_fused_batchnorm_follows_stats),
        cmocka_unit_test(test_linear_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
