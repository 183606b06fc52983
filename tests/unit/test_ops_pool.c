/*
 * test_ops_pool.c - max, average and adaptive average pooling forward
 * against direct definitions over an explicitly padded input, on odd
 * shapes: 1x1 maps, H != W, stride > kernel, ceil_mode windows hanging off
 * the edge, count_include_pad both ways; output sizes and edge divisors
 * against values PyTorch 1.13 gave; argument errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ references */

/* The input plane x (H, W) placed in a (H + 2 ph, W + 2 pw) plane filled
 * with `fill` elsewhere; is_real marks the input's cells. */
typedef struct padded {
    int H, W;
    double *v;
    bool *is_real;
} padded;

static padded pad_plane(const float *x, int H, int W, int ph, int pw, double fill)
{
    padded p = {.H = H + 2 * ph, .W = W + 2 * pw};
    p.v = malloc(sizeof(double) * p.H * p.W);
    p.is_real = calloc((size_t)p.H * p.W, sizeof(bool));
    assert_non_null(p.v);
    assert_non_null(p.is_real);
    for (int h = 0; h < p.H; h++)
        for (int w = 0; w < p.W; w++) {
            bool real = h >= ph && h < ph + H && w >= pw && w < pw + W;
            p.v[h * p.W + w] = real ? x[(h - ph) * W + (w - pw)] : fill;
            p.is_real[h * p.W + w] = real;
        }
    return p;
}

static void pad_free(padded *p)
{
    free(p->v);
    free(p->is_real);
}

typedef struct pool_case {
    int N, C, H, W;
    int kh, kw, sh, sw, ph, pw;
    bool ceil_mode, count_include_pad;
} pool_case;

/* Output size by the documented rule, computed in floating point. */
static int ref_out_size(int size, int k, int s, int p, bool ceil_mode)
{
    double q = (double)(size + 2 * p - k) / s;
    int out = (int)(ceil_mode ? ceil(q) : floor(q)) + 1;
    if (ceil_mode && (out - 1) * s >= size + p)
        out--;
    return out;
}

/* Max or average over each window of the padded plane; a window is
 * clipped to the padded plane (ceil_mode can hang it past the end). */
static void ref_pool(const pool_case *pc, bool is_max, const float *x, double *y, int OH, int OW)
{
    for (int plane = 0; plane < pc->N * pc->C; plane++) {
        padded p = pad_plane(x + (size_t)plane * pc->H * pc->W, pc->H, pc->W, pc->ph, pc->pw,
                             is_max ? -INFINITY : 0.0);
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double acc = is_max ? -INFINITY : 0.0;
                int cells = 0, real = 0;
                for (int i = 0; i < pc->kh; i++)
                    for (int j = 0; j < pc->kw; j++) {
                        int h = oh * pc->sh + i, w = ow * pc->sw + j;
                        if (h >= p.H || w >= p.W)
                            continue;
                        double v = p.v[h * p.W + w];
                        acc = is_max ? fmax(acc, v) : acc + v;
                        cells++;
                        real += p.is_real[h * p.W + w];
                    }
                if (!is_max)
                    acc /= pc->count_include_pad ? cells : real;
                y[((size_t)plane * OH + oh) * OW + ow] = acc;
            }
        pad_free(&p);
    }
}

/* Builds one pooling net, runs it on random input, compares. */
static void check_pool_case(const pool_case *pc, bool is_max, uint64_t seed)
{
    cz_net *net = cz_net_create(pc->C, pc->H, pc->W, seed);
    assert_non_null(net);
    cz_pool_args args = {.kernel_h = pc->kh, .kernel_w = pc->kw, .stride_h = pc->sh,
                         .stride_w = pc->sw, .padding_h = pc->ph, .padding_w = pc->pw,
                         .ceil_mode = pc->ceil_mode, .count_include_pad = pc->count_include_pad};
    int node = is_max ? cz_maxpool(net, CZ_INPUT, "pool", args)
                      : cz_avgpool(net, CZ_INPUT, "pool", args);
    tu_check(cz_net_status(net));
    assert_true(node > 0);
    int OH = ref_out_size(pc->H, pc->kh, pc->sh, pc->ph, pc->ceil_mode);
    int OW = ref_out_size(pc->W, pc->kw, pc->sw, pc->pw, pc->ceil_mode);
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[0], pc->C);
    assert_int_equal(shape[1], OH);
    assert_int_equal(shape[2], OW);

    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, pc->N, pc->C, pc->H, pc->W);
    const cz_tensor *y;
    /* Training too: maxpool then also records its argmax; same output. */
    cz_net_set_training(net, seed & 1);
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = (size_t)pc->N * pc->C * OH * OW;
    assert_int_equal(cz_tensor_numel(y), n);
    double *want = malloc(sizeof(double) * n);
    assert_non_null(want);
    ref_pool(pc, is_max, x.data, want, OH, OW);
    tu_expect_close(y->data, want, n, 1e-6, 1e-5, is_max ? "maxpool" : "avgpool");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static const pool_case pool_cases[] = {
    /* N C  H  W  kh kw sh sw ph pw ceil  incl */
    {2, 3, 8, 8, 2, 2, 2, 2, 0, 0, false, true},
    {1, 2, 7, 5, 3, 3, 2, 2, 1, 1, false, true},
    {2, 2, 7, 5, 3, 3, 2, 2, 1, 1, true, true},
    {2, 2, 7, 5, 3, 3, 2, 2, 1, 1, true, false},
    {1, 3, 6, 9, 3, 2, 2, 3, 1, 1, true, false},
    {3, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, true},  /* 1x1 map */
    {2, 2, 1, 1, 3, 3, 2, 2, 1, 1, true, true},   /* 1x1 map, padded */
    {2, 2, 1, 1, 3, 3, 2, 2, 1, 1, true, false},
    {1, 2, 9, 11, 2, 2, 3, 4, 0, 0, false, true}, /* stride > kernel */
    {1, 2, 9, 11, 2, 2, 3, 4, 1, 1, true, true},
    {1, 2, 9, 11, 2, 3, 5, 4, 1, 1, true, false},
    {2, 3, 13, 13, 3, 3, 2, 2, 0, 0, true, true}, /* GoogLeNet-style */
    {1, 2, 10, 6, 4, 4, 3, 3, 2, 2, true, true},
    {1, 2, 10, 6, 4, 4, 3, 3, 2, 2, false, false},
    {2, 1, 8, 8, 2, 2, 2, 2, 1, 1, true, true},
    {1, 4, 5, 3, 5, 3, 1, 1, 2, 1, false, true},  /* window = whole padded map */
    {1, 2, 7, 147, 3, 3, 2, 2, 0, 0, false, true}, /* wide 3x3/2 rows (Inception-v3) */
    {1, 2, 9, 112, 3, 3, 2, 2, 1, 1, false, true}, /* and ResNet's, padded */
    {1, 2, 5, 37, 3, 3, 2, 2, 1, 1, true, true},
    {1, 2, 6, 112, 2, 2, 2, 2, 0, 0, false, true}, /* VGG's 2x2/2 */
    /* Same size, stride 1 (the flat path: maxpool's in inference,
     * avgpool's always), each case at an even index (inference) and an
     * odd one (training). */
    {2, 3, 28, 28, 3, 3, 1, 1, 1, 1, true, true}, /* GoogLeNet's branch pools */
    {2, 3, 28, 28, 3, 3, 1, 1, 1, 1, true, true},
    {1, 2, 7, 9, 5, 5, 1, 1, 2, 2, false, true},
    {1, 2, 7, 9, 5, 5, 1, 1, 2, 2, false, true},
    {1, 2, 6, 1, 3, 3, 1, 1, 1, 1, true, true},   /* one column: every column an edge */
    {1, 2, 6, 1, 3, 3, 1, 1, 1, 1, true, true},
    {1, 2, 1, 5, 3, 5, 1, 1, 1, 2, true, true},   /* one row */
    {1, 2, 1, 5, 3, 5, 1, 1, 1, 2, true, true},
    {1, 2, 9, 4, 1, 7, 1, 1, 0, 3, false, true},  /* window wider than the map */
    {1, 2, 9, 4, 1, 7, 1, 1, 0, 3, false, true},
    {1, 2, 5, 6, 3, 1, 1, 1, 1, 0, false, true},  /* one column wide: no edges */
    {1, 2, 5, 6, 3, 1, 1, 1, 1, 0, false, true},
    {1, 2, 6, 1, 3, 3, 1, 1, 1, 1, true, false},  /* every column an edge, clipped */
    {1, 2, 6, 1, 3, 3, 1, 1, 1, 1, true, false},
    {1, 2, 1, 5, 3, 5, 1, 1, 1, 2, true, false},  /* one row, clipped */
    {1, 2, 1, 5, 3, 5, 1, 1, 1, 2, true, false},
    {2, 3, 17, 17, 3, 3, 1, 1, 1, 1, false, false}, /* divisors clipped at the edges */
    {2, 3, 17, 17, 3, 3, 1, 1, 1, 1, false, false},
    {1, 2, 8, 9, 5, 3, 1, 1, 2, 1, false, false},
    {1, 2, 8, 9, 5, 3, 1, 1, 2, 1, false, false},
};

static void test_maxpool_forward(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        check_pool_case(&pool_cases[i], true, 100 + i);
}

static void test_avgpool_forward(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        check_pool_case(&pool_cases[i], false, 200 + i);
}

/* dx of a maxpool net for x and dy, after a training forward (which
 * keeps each maximum's index) or an eval one (backward searches the
 * windows again), into dx. */
static void maxpool_dx(cz_net *net, const cz_tensor *x, const cz_tensor *dy, bool training,
                       float *dx)
{
    cz_net_set_training(net, training);
    cz_net_set_input_grad(net, true);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, x, &y));
    tu_check(cz_net_backward(net, dy));
    const cz_tensor *g = cz_net_input_grad(net);
    memcpy(dx, g->data, sizeof(float) * cz_tensor_numel(g));
}

/* The training forward's indices are the window search's: on values with
 * many ties (0, 1, 2) and some NaNs, dy (1, 2, 3 ...) lands on the same
 * elements either way. */
static void check_argmax(const pool_case *pc, uint64_t seed)
{
    cz_net *net = cz_net_create(pc->C, pc->H, pc->W, seed);
    assert_non_null(net);
    cz_pool_args args = {.kernel_h = pc->kh, .kernel_w = pc->kw, .stride_h = pc->sh,
                         .stride_w = pc->sw, .padding_h = pc->ph, .padding_w = pc->pw,
                         .ceil_mode = pc->ceil_mode};
    int node = cz_maxpool(net, CZ_INPUT, "pool", args);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0}, dy = {0};
    int xshape[4] = {pc->N, pc->C, pc->H, pc->W}, dshape[4] = {pc->N, shape[0], shape[1], shape[2]};
    tu_check(cz_tensor_alloc(&x, 4, xshape));
    tu_check(cz_tensor_alloc(&dy, 4, dshape));
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] = cz_rng_below(&rng, 20) == 0 ? NAN : (float)cz_rng_below(&rng, 3);
    for (size_t i = 0; i < cz_tensor_numel(&dy); i++)
        dy.data[i] = (float)(i + 1);
    size_t n = cz_tensor_numel(&x);
    float *trained = malloc(sizeof(float) * n), *searched = malloc(sizeof(float) * n);
    assert_true(trained && searched);
    maxpool_dx(net, &x, &dy, true, trained);
    maxpool_dx(net, &x, &dy, false, searched);
    char what[96];
    snprintf(what, sizeof what, "maxpool argmax %dx%d k%dx%d s%dx%d p%dx%d%s", pc->H, pc->W,
             pc->kh, pc->kw, pc->sh, pc->sw, pc->ph, pc->pw, pc->ceil_mode ? " ceil" : "");
    tu_expect_close_f(trained, searched, n, 0, 0, what);
    free(trained), free(searched);
    cz_tensor_free(&x), cz_tensor_free(&dy);
    cz_net_free(net);
}

static void test_maxpool_argmax(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        check_argmax(&pool_cases[i], 300 + i);
}

/* Random shapes and attributes within PyTorch's rules. */
static void test_pool_random(void **state)
{
    (void)state;
    cz_rng rng;
    cz_rng_seed(&rng, 7);
    for (int t = 0; t < 60; t++) {
        pool_case pc = {.N = 1 + (int)cz_rng_below(&rng, 2), .C = 1 + (int)cz_rng_below(&rng, 3),
                        .H = 1 + (int)cz_rng_below(&rng, 12), .W = 1 + (int)cz_rng_below(&rng, 12),
                        .kh = 1 + (int)cz_rng_below(&rng, 4), .kw = 1 + (int)cz_rng_below(&rng, 4),
                        .sh = 1 + (int)cz_rng_below(&rng, 4), .sw = 1 + (int)cz_rng_below(&rng, 4),
                        .ceil_mode = cz_rng_below(&rng, 2),
                        .count_include_pad = cz_rng_below(&rng, 2)};
        pc.ph = (int)cz_rng_below(&rng, (uint64_t)pc.kh / 2 + 1);
        pc.pw = (int)cz_rng_below(&rng, (uint64_t)pc.kw / 2 + 1);
        if (pc.H + 2 * pc.ph < pc.kh || pc.W + 2 * pc.pw < pc.kw)
            continue;
        check_pool_case(&pc, true, 1000 + t);
        check_pool_case(&pc, false, 2000 + t);
        check_argmax(&pc, 3000 + t);
    }
}

/* Output sizes and ceil_mode edge divisors PyTorch 1.13 gave for
 * max_pool2d / avg_pool2d(count_include_pad=True) on an all-ones H x H
 * input: the last output row. */
static void test_pool_matches_pytorch(void **state)
{
    (void)state;
    static const struct {
        int H, k, s, p;
        bool ceil_mode;
        int out;
        float last_row[5];
    } cases[] = {
        {5, 2, 2, 0, true, 3, {1, 1, 1}},
        {6, 3, 2, 1, true, 4, {1.0f / 3, 0.5f, 0.5f, 0.25f}},
        {7, 3, 2, 1, true, 4, {4.0f / 9, 2.0f / 3, 2.0f / 3, 4.0f / 9}},
        {4, 3, 3, 1, true, 2, {4.0f / 9, 4.0f / 9}},
        {5, 3, 3, 1, true, 2, {2.0f / 3, 1}},
        {1, 3, 2, 1, true, 1, {1.0f / 9}},
        {2, 3, 3, 1, true, 1, {4.0f / 9}},
        {10, 4, 3, 2, true, 4, {0.375f, 0.75f, 0.75f, 0.5625f}},
        {10, 4, 3, 2, false, 4, {0.375f, 0.75f, 0.75f, 0.5625f}},
        {3, 2, 5, 1, true, 1, {0.25f}},
        {8, 2, 2, 1, true, 5, {0.25f, 0.5f, 0.5f, 0.5f, 0.25f}},
        {1, 2, 2, 0, true, 1, {1}}, /* input smaller than the kernel: ceil keeps one */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cz_net *net = cz_net_create(1, cases[i].H, cases[i].H, 1);
        cz_pool_args args = {.kernel = cases[i].k, .stride = cases[i].s, .padding = cases[i].p,
                             .ceil_mode = cases[i].ceil_mode, .count_include_pad = true};
        int mp = cz_maxpool(net, CZ_INPUT, "max", args);
        int ap = cz_avgpool(net, CZ_INPUT, "avg", args);
        tu_check(cz_net_status(net));
        int shape[3];
        cz_net_node_shape(net, mp, shape);
        assert_int_equal(shape[1], cases[i].out);
        cz_net_node_shape(net, ap, shape);
        assert_int_equal(shape[1], cases[i].out);
        int H = cases[i].H, shape4[4] = {1, 1, H, H};
        cz_tensor x = {0};
        tu_check(cz_tensor_alloc(&x, 4, shape4));
        for (int j = 0; j < H * H; j++)
            x.data[j] = 1.0f;
        tu_check(cz_net_forward(net, &x, NULL));
        const cz_tensor *y = cz_net_node_output(net, ap);
        int out = cases[i].out;
        tu_expect_close_f(y->data + (size_t)(out - 1) * out, cases[i].last_row, (size_t)out, 1e-7,
                          1e-6, "avgpool last row");
        cz_tensor_free(&x);
        cz_net_free(net);
    }
}

/* Ties go to the first maximum; a NaN wins and propagates. */
static void test_maxpool_ties_and_nan(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(1, 2, 2, 1);
    cz_maxpool(net, CZ_INPUT, "pool", (cz_pool_args){.kernel = 2});
    tu_check(cz_net_status(net));
    int shape[4] = {2, 1, 2, 2};
    cz_tensor x = {0};
    tu_check(cz_tensor_alloc(&x, 4, shape));
    float values[8] = {1, 3, 3, 2, -1, NAN, 5, 0};
    memcpy(x.data, values, sizeof values);
    cz_net_set_training(net, true);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    assert_true(y->data[0] == 3.0f);
    assert_true(isnan(y->data[1]));
    /* The gradient goes to the first 3 (index 1), and to the NaN. */
    cz_tensor dy = {0};
    int dshape[4] = {2, 1, 1, 1};
    tu_check(cz_tensor_alloc(&dy, 4, dshape));
    dy.data[0] = 1.0f;
    dy.data[1] = 2.0f;
    cz_net_set_input_grad(net, true);
    tu_check(cz_net_backward(net, &dy));
    const float *dx = cz_net_input_grad(net)->data;
    float want[8] = {0, 1, 0, 0, 0, 2, 0, 0};
    tu_expect_close_f(dx, want, 8, 0, 0, "maxpool tie gradient");
    /* Inference takes the maxima row by row: the NaN still wins, even
     * after a larger value (5) in a later row. */
    cz_net_set_training(net, false);
    cz_net_set_input_grad(net, false);
    tu_check(cz_net_forward(net, &x, &y));
    assert_true(y->data[0] == 3.0f);
    assert_true(isnan(y->data[1]));
    cz_tensor_free(&dy);
    cz_tensor_free(&x);
    cz_net_free(net);

    /* A 3x3/2 pool on wide rows (its taps in one vector loop): a NaN in
     * row 1, column 36 wins windows 17 and 18 and no other. */
    net = cz_net_create(1, 3, 60, 1);
    cz_maxpool(net, CZ_INPUT, "pool", (cz_pool_args){.kernel = 3, .stride = 2});
    tu_check(cz_net_status(net));
    tu_check(cz_tensor_alloc(&x, 4, (int[]){1, 1, 3, 60}));
    for (int i = 0; i < 180; i++)
        x.data[i] = (float)(i % 7);
    x.data[60 + 36] = NAN;
    tu_check(cz_net_forward(net, &x, &y));
    assert_int_equal(cz_tensor_numel(y), 29);
    for (int ow = 0; ow < 29; ow++)
        assert_true(isnan(y->data[ow]) == (ow == 17 || ow == 18));
    cz_tensor_free(&x);
    cz_net_free(net);
}

/* ------------------------------------------------------------ adaptive */

static void check_adaptive(int N, int C, int H, int W, int OH, int OW, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    int node = cz_adaptive_avgpool(net, CZ_INPUT, "avgpool", OH, OW);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[1], OH);
    assert_int_equal(shape[2], OW);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = (size_t)N * C * OH * OW;
    double *want = malloc(sizeof(double) * n);
    assert_non_null(want);
    for (int p = 0; p < N * C; p++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                int h0 = (int)floor((double)i * H / OH), h1 = (int)ceil((double)(i + 1) * H / OH);
                int w0 = (int)floor((double)j * W / OW), w1 = (int)ceil((double)(j + 1) * W / OW);
                double sum = 0.0;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        sum += x.data[((size_t)p * H + h) * W + w];
                want[((size_t)p * OH + i) * OW + j] = sum / ((h1 - h0) * (w1 - w0));
            }
    tu_expect_close(y->data, want, n, 1e-6, 1e-5, "adaptive_avgpool");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_adaptive_avgpool_forward(void **state)
{
    (void)state;
    check_adaptive(2, 3, 7, 7, 1, 1, 1);  /* global average pooling */
    check_adaptive(1, 2, 13, 13, 6, 6, 2); /* AlexNet's 6x6 on 13x13 */
    check_adaptive(2, 2, 5, 9, 3, 4, 3);  /* overlapping windows, H != W */
    check_adaptive(1, 2, 2, 3, 5, 7, 4);  /* output larger than input */
    check_adaptive(1, 1, 1, 1, 2, 3, 5);  /* 1x1 map */
    check_adaptive(3, 2, 10, 4, 10, 4, 6); /* identity */
}

/* ------------------------------------------------------------ errors */

static void expect_build_error(cz_pool_args args, int H, bool is_max, const char *needle)
{
    cz_net *net = cz_net_create(2, H, H, 1);
    int node = is_max ? cz_maxpool(net, CZ_INPUT, "features.3", args)
                      : cz_avgpool(net, CZ_INPUT, "features.3", args);
    assert_int_equal(node, -1);
    assert_int_not_equal(cz_net_status(net), CZ_OK);
    const char *msg = cz_last_error();
    if (!strstr(msg, "features.3") || !strstr(msg, needle))
        fail_msg("message \"%s\" should name the node and say \"%s\"", msg, needle);
    /* The error sticks: later builders fail too. */
    assert_int_equal(cz_relu(net, CZ_INPUT, NULL), -1);
    cz_net_free(net);
}

static void test_pool_errors(void **state)
{
    (void)state;
    for (int is_max = 0; is_max < 2; is_max++) {
        expect_build_error((cz_pool_args){.kernel = -2}, 8, is_max, "must be positive");
        expect_build_error((cz_pool_args){.kernel = 0}, 8, is_max, "must be positive");
        expect_build_error((cz_pool_args){.kernel = 2, .stride = -1}, 8, is_max,
                           "must be positive");
        expect_build_error((cz_pool_args){.kernel = 3, .padding = 2}, 8, is_max,
                           "at most half the kernel");
        expect_build_error((cz_pool_args){.kernel = 3, .padding = -1}, 8, is_max,
                           "at most half the kernel");
        expect_build_error((cz_pool_args){.kernel = 5}, 3, is_max, "smaller than the kernel");
    }
    cz_net *net = cz_net_create(2, 4, 4, 1);
    assert_int_equal(cz_adaptive_avgpool(net, CZ_INPUT, "avgpool", 0, 2), -1);
    assert_non_null(strstr(cz_last_error(), "must be positive"));
    cz_net_free(net);
    /* 1-D input */
    net = cz_net_create(2, 4, 4, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    assert_int_equal(cz_maxpool(net, f, "pool", (cz_pool_args){.kernel = 2}), -1);
    assert_non_null(strstr(cz_last_error(), "(C, H, W)"));
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_forward),
        cmocka_unit_test(test_avgpool_forward),
        cmocka_unit_test(test_pool_random),
        cmocka_unit_test(test_pool_matches_pytorch),
        cmocka_unit_test(test_maxpool_ties_and_nan),
        cmocka_unit_test(test_maxpool_argmax),
        cmocka_unit_test(test_adaptive_avgpool_forward),
        cmocka_unit_test(test_pool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
