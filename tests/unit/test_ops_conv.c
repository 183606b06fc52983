/*
 * test_ops_conv.c - conv2d and linear forward against direct loops (the
 * 7-loop definition of a grouped, dilated, strided, padded
 * cross-correlation; y = x W^T + b), with random weights and biases, on
 * odd shapes: depthwise (groups = channels, with and without a channel
 * multiplier), dilation, stride > kernel, rectangular kernels, strides and
 * paddings, bias on/off, 1x1 maps, pointwise convs; parameter names,
 * shapes and counts; argument errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct conv_case {
    int N, C, H, W;
    int OC, kh, kw, sh, sw, ph, pw, dilation, groups;
    bool bias;
} conv_case;

static int out_size(int size, int k, int s, int p, int d)
{
    return (size + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* y[n, oc, oh, ow] = b[oc] + sum over (ic, i, j) of the group's
 * x[n, g Cg + ic, oh sh - ph + i d, ow sw - pw + j d] w[oc, ic, i, j] */
static void ref_conv(const conv_case *cc, const float *x, const float *w, const float *b,
                     double *y, int OH, int OW)
{
    int Cg = cc->C / cc->groups, OCg = cc->OC / cc->groups;
    for (int n = 0; n < cc->N; n++)
        for (int oc = 0; oc < cc->OC; oc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = b ? b[oc] : 0.0;
                    int g = oc / OCg;
                    for (int ic = 0; ic < Cg; ic++)
                        for (int i = 0; i < cc->kh; i++)
                            for (int j = 0; j < cc->kw; j++) {
                                int h = oh * cc->sh - cc->ph + i * cc->dilation;
                                int v = ow * cc->sw - cc->pw + j * cc->dilation;
                                if (h < 0 || h >= cc->H || v < 0 || v >= cc->W)
                                    continue;
                                acc += (double)x[(((size_t)n * cc->C + g * Cg + ic) * cc->H + h) *
                                                     cc->W + v] *
                                       w[(((size_t)oc * Cg + ic) * cc->kh + i) * cc->kw + j];
                            }
                    y[(((size_t)n * cc->OC + oc) * OH + oh) * OW + ow] = acc;
                }
}

static void check_conv(const conv_case *cc, uint64_t seed)
{
    cz_net *net = cz_net_create(cc->C, cc->H, cc->W, seed);
    cz_conv_args args = {.out_channels = cc->OC, .kernel_h = cc->kh, .kernel_w = cc->kw,
                         .stride_h = cc->sh, .stride_w = cc->sw, .padding_h = cc->ph,
                         .padding_w = cc->pw, .dilation = cc->dilation, .groups = cc->groups,
                         .bias = cc->bias};
    /* A zero padding pair falls back to the square value, which is 0 too. */
    int node = cz_conv2d(net, CZ_INPUT, "conv", args);
    tu_check(cz_net_status(net));
    int OH = out_size(cc->H, cc->kh, cc->sh, cc->ph, cc->dilation);
    int OW = out_size(cc->W, cc->kw, cc->sw, cc->pw, cc->dilation);
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[0], cc->OC);
    assert_int_equal(shape[1], OH);
    assert_int_equal(shape[2], OW);

    cz_param *w = cz_net_find_param(net, "conv.weight");
    assert_non_null(w);
    assert_int_equal(w->value.ndim, 4);
    assert_int_equal(w->value.shape[0], cc->OC);
    assert_int_equal(w->value.shape[1], cc->C / cc->groups);
    assert_int_equal(w->value.shape[2], cc->kh);
    assert_int_equal(w->value.shape[3], cc->kw);
    cz_param *b = cz_net_find_param(net, "conv.bias");
    assert_int_equal(b != NULL, cc->bias);
    assert_int_equal(cz_net_param_count(net), cc->bias ? 2 : 1);
    assert_int_equal(cz_net_node_macs(net, node),
                     (int64_t)cc->OC * OH * OW * (cc->C / cc->groups) * cc->kh * cc->kw);

    cz_rng rng;
    cz_rng_seed(&rng, seed);
    tu_fill_uniform(&rng, w->value.data, cz_tensor_numel(&w->value), -1.0f, 1.0f);
    if (b)
        tu_fill_uniform(&rng, b->value.data, (size_t)cc->OC, -1.0f, 1.0f);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, cc->N, cc->C, cc->H, cc->W);
    const cz_tensor *y;
    size_t n = (size_t)cc->N * cc->OC * OH * OW;
    double *want = malloc(sizeof(double) * n);
    ref_conv(cc, x.data, w->value.data, b ? b->value.data : NULL, want, OH, OW);
    for (int training = 0; training < 2; training++) {
        cz_net_set_training(net, training);
        tu_check(cz_net_forward(net, &x, &y));
        assert_int_equal(cz_tensor_numel(y), n);
        tu_expect_close(y->data, want, n, 1e-5, 1e-5, "conv2d");
    }
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static const conv_case conv_cases[] = {
    /* N C  H  W  OC kh kw sh sw ph pw d  g  bias */
    {2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {3, 3, 8, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, false},
    {2, 4, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 4, true},   /* depthwise */
    {2, 4, 6, 5, 8, 3, 3, 2, 2, 1, 1, 1, 4, false},  /* depthwise, multiplier 2 */
    {1, 6, 5, 7, 4, 3, 3, 1, 1, 1, 1, 1, 2, true},   /* 2 groups */
    {2, 2, 9, 9, 3, 3, 3, 1, 1, 2, 2, 2, 1, true},   /* dilation 2 */
    {1, 2, 11, 10, 3, 3, 2, 2, 3, 0, 1, 3, 1, true}, /* dilation 3, rectangular */
    {2, 3, 9, 10, 2, 2, 2, 3, 4, 0, 0, 1, 1, true},  /* stride > kernel */
    {1, 3, 7, 8, 4, 1, 3, 1, 1, 0, 1, 1, 1, true},   /* 1x3 */
    {1, 3, 7, 8, 4, 3, 1, 1, 1, 1, 0, 1, 1, false},  /* 3x1 */
    {1, 2, 10, 7, 3, 7, 1, 2, 1, 3, 0, 1, 1, true},  /* 7x1, Inception v3 */
    {3, 5, 1, 1, 4, 1, 1, 1, 1, 0, 0, 1, 1, true},   /* 1x1 map, pointwise */
    {2, 3, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, true},   /* 1x1 map, 3x3 padded */
    {2, 4, 1, 1, 4, 3, 3, 2, 2, 1, 1, 1, 4, false},  /* 1x1 map, depthwise */
    {2, 6, 5, 4, 9, 1, 1, 1, 1, 0, 0, 1, 3, true},   /* grouped pointwise */
    {2, 4, 6, 6, 3, 1, 1, 2, 2, 0, 0, 1, 1, false},  /* 1x1 stride 2 (ResNet downsample) */
    {1, 3, 12, 12, 4, 7, 7, 2, 2, 3, 3, 1, 1, false}, /* ResNet stem */
    {1, 3, 15, 15, 4, 11, 11, 4, 4, 2, 2, 1, 1, true}, /* AlexNet stem */
    {5, 2, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, true},   /* more samples than threads */
};

static void test_conv2d_forward(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
        check_conv(&conv_cases[i], 100 + i);
}

/* Random geometry: everything in range, groups dividing both channel counts. */
static void test_conv2d_random(void **state)
{
    (void)state;
    cz_rng rng;
    cz_rng_seed(&rng, 5);
    for (int t = 0; t < 40; t++) {
        int groups = 1 + (int)cz_rng_below(&rng, 3);
        conv_case cc = {.N = 1 + (int)cz_rng_below(&rng, 3),
                        .C = groups * (1 + (int)cz_rng_below(&rng, 3)),
                        .H = 1 + (int)cz_rng_below(&rng, 9), .W = 1 + (int)cz_rng_below(&rng, 9),
                        .OC = groups * (1 + (int)cz_rng_below(&rng, 3)),
                        .kh = 1 + (int)cz_rng_below(&rng, 4), .kw = 1 + (int)cz_rng_below(&rng, 4),
                        .sh = 1 + (int)cz_rng_below(&rng, 3), .sw = 1 + (int)cz_rng_below(&rng, 3),
                        .ph = (int)cz_rng_below(&rng, 3), .pw = (int)cz_rng_below(&rng, 3),
                        .dilation = 1 + (int)cz_rng_below(&rng, 2), .groups = groups,
                        .bias = cz_rng_below(&rng, 2)};
        if (cc.H + 2 * cc.ph < cc.dilation * (cc.kh - 1) + 1 ||
            cc.W + 2 * cc.pw < cc.dilation * (cc.kw - 1) + 1)
            continue;
        check_conv(&cc, 500 + t);
    }
}

/* The square fields and their defaults: kernel 3 -> 3x3, stride 0 -> 1. */
static void test_conv2d_square_args(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 9, 8, 1);
    int a = cz_conv2d(net, CZ_INPUT, "a", (cz_conv_args){.out_channels = 2, .kernel = 3});
    int b = cz_conv2d(net, CZ_INPUT, "b",
                      (cz_conv_args){.out_channels = 2, .kernel = 3, .stride = 2, .padding = 1});
    tu_check(cz_net_status(net));
    int shape[3];
    cz_net_node_shape(net, a, shape);
    assert_int_equal(shape[1], 7);
    assert_int_equal(shape[2], 6);
    cz_net_node_shape(net, b, shape);
    assert_int_equal(shape[1], 5);
    assert_int_equal(shape[2], 4);
    assert_int_equal(cz_net_weight_numel(net), 2 * 2 * 3 * 3 * 3);
    cz_net_free(net);
}

static void test_conv2d_errors(void **state)
{
    (void)state;
    static const struct {
        cz_conv_args args;
        cz_status status;
        const char *needle;
    } bad[] = {
        {{.out_channels = 0, .kernel = 3}, CZ_ERR_ARG, "must be positive"},
        {{.out_channels = 4, .kernel = -1}, CZ_ERR_ARG, "must be positive"},
        {{.out_channels = 4, .kernel = 3, .padding = -1}, CZ_ERR_ARG, "padding"},
        {{.out_channels = 4, .kernel = 3, .groups = 2}, CZ_ERR_ARG, "groups 2 must divide"},
        {{.out_channels = 4, .kernel = 1, .groups = 3}, CZ_ERR_ARG, "groups 3 must divide"},
        {{.out_channels = 4, .kernel = 7}, CZ_ERR_SHAPE, "smaller than the kernel"},
        {{.out_channels = 4, .kernel = 3, .dilation = 3}, CZ_ERR_SHAPE, "smaller than the kernel"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cz_net *net = cz_net_create(3, 5, 6, 1);
        if (cz_conv2d(net, CZ_INPUT, "features.0", bad[i].args) != -1)
            fail_msg("case %zu: built", i);
        assert_int_equal(cz_net_status(net), bad[i].status);
        if (!strstr(cz_last_error(), "features.0") || !strstr(cz_last_error(), bad[i].needle))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, cz_last_error(), bad[i].needle);
        cz_net_free(net);
    }
}

/* ------------------------------------------------------------ linear */

static void check_linear(int N, int IN, int OUT, bool bias, uint64_t seed)
{
    cz_net *net = cz_net_create(IN, 1, 1, seed);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    int node = cz_linear(net, f, "fc", OUT, bias);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 1);
    assert_int_equal(shape[0], OUT);
    assert_int_equal(cz_net_node_macs(net, node), (int64_t)IN * OUT);
    cz_param *w = cz_net_find_param(net, "fc.weight"), *b = cz_net_find_param(net, "fc.bias");
    assert_non_null(w);
    assert_int_equal(w->value.ndim, 2);
    assert_int_equal(w->value.shape[0], OUT);
    assert_int_equal(w->value.shape[1], IN);
    assert_int_equal(b != NULL, bias);
    /* PyTorch's init bound 1/sqrt(in_features) */
    float bound = 1.0f / sqrtf((float)IN);
    for (size_t i = 0; i < cz_tensor_numel(&w->value); i++)
        assert_true(fabsf(w->value.data[i]) <= bound);

    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, IN, 1, 1);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    double *want = malloc(sizeof(double) * N * OUT);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OUT; o++) {
            double acc = b ? b->value.data[o] : 0.0;
            for (int i = 0; i < IN; i++)
                acc += (double)x.data[n * IN + i] * w->value.data[o * IN + i];
            want[n * OUT + o] = acc;
        }
    tu_expect_close(y->data, want, (size_t)N * OUT, 1e-6, 1e-5, "linear");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_linear_forward(void **state)
{
    (void)state;
    check_linear(3, 10, 4, true, 1);
    check_linear(1, 7, 5, false, 2);
    check_linear(5, 1, 3, true, 3);
    check_linear(2, 33, 1, true, 4);
    check_linear(4, 100, 17, false, 5);
}

static void test_linear_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 2, 2, 1);
    assert_int_equal(cz_linear(net, CZ_INPUT, "fc", 10, true), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_SHAPE);
    assert_non_null(strstr(cz_last_error(), "fc (linear)"));
    cz_net_free(net);
    net = cz_net_create(3, 2, 2, 1);
    assert_int_equal(cz_linear(net, cz_flatten(net, CZ_INPUT, NULL), "fc", 0, true), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
    assert_non_null(strstr(cz_last_error(), "out_features 0"));
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_forward),
        cmocka_unit_test(test_conv2d_random),
        cmocka_unit_test(test_conv2d_square_args),
        cmocka_unit_test(test_conv2d_errors),
        cmocka_unit_test(test_linear_forward),
        cmocka_unit_test(test_linear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
