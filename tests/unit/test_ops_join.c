/*
 * test_ops_join.c - the ops that combine outputs: concat (channels and
 * features, inputs of different widths), add, channel_mul ((C, 1, 1) and
 * (C) scales) against direct index arithmetic; shape errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "testutil.h"

static cz_tensor random_input(int N, int C, int H, int W, uint64_t seed)
{
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    return x;
}

/* Small maps, and maps large enough that the copy's chunks (16384
 * floats) start and end inside inputs and samples. */
static void check_concat_channels(int N, int C, int H, int W)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    int t = cz_activation(net, CZ_INPUT, "t", CZ_ACT_TANH);
    int a = cz_concat(net, (int[]){CZ_INPUT, t}, 2, "a");
    int b = cz_concat(net, (int[]){a, CZ_INPUT, t}, 3, "b"); /* widths 2C, C, C */
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, b, shape), 3);
    assert_int_equal(shape[0], 4 * C);
    assert_int_equal(shape[1], H);
    assert_int_equal(shape[2], W);
    cz_tensor x = random_input(N, C, H, W, 2);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    /* b's channel order: x, tanh x, x, tanh x */
    size_t HW = (size_t)H * W, n = (size_t)N * 4 * C * HW;
    double *want = malloc(sizeof(double) * n);
    for (int s = 0; s < N; s++)
        for (int c = 0; c < 4 * C; c++)
            for (size_t i = 0; i < HW; i++) {
                double v = x.data[((size_t)s * C + c % C) * HW + i];
                want[((size_t)s * 4 * C + c) * HW + i] = (c / C) % 2 ? tanh(v) : v;
            }
    tu_expect_close(y->data, want, n, 1e-6, 1e-6, "concat");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_concat_channels(void **state)
{
    (void)state;
    check_concat_channels(2, 3, 4, 5);
    check_concat_channels(3, 3, 67, 61);
    check_concat_channels(1, 5, 29, 31);
}

static void test_concat_features(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(2, 3, 1, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    int g = cz_adaptive_avgpool(net, CZ_INPUT, NULL, 1, 1);
    int gf = cz_flatten(net, g, NULL);
    int c = cz_concat(net, (int[]){gf, f}, 2, "cat");
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, c, shape), 1);
    assert_int_equal(shape[0], 8);
    cz_tensor x = random_input(3, 2, 3, 1, 3);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    double want[24];
    for (int s = 0; s < 3; s++) {
        const float *xs = x.data + s * 6;
        want[s * 8 + 0] = (xs[0] + xs[1] + xs[2]) / 3.0;
        want[s * 8 + 1] = (xs[3] + xs[4] + xs[5]) / 3.0;
        for (int i = 0; i < 6; i++)
            want[s * 8 + 2 + i] = xs[i];
    }
    tu_expect_close(y->data, want, 24, 1e-6, 1e-6, "concat features");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_add(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 2, 5, 1);
    int t = cz_activation(net, CZ_INPUT, NULL, CZ_ACT_SIGMOID);
    cz_add(net, CZ_INPUT, t, "add");
    tu_check(cz_net_status(net));
    cz_tensor x = random_input(2, 3, 2, 5, 4);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    double want[60];
    for (int i = 0; i < 60; i++)
        want[i] = x.data[i] + 1.0 / (1.0 + exp(-(double)x.data[i]));
    tu_expect_close(y->data, want, 60, 1e-6, 1e-6, "add");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void check_channel_mul(bool features_scale)
{
    int N = 2, C = 4, H = 3, W = 2;
    cz_net *net = cz_net_create(C, H, W, 1);
    int s = cz_adaptive_avgpool(net, CZ_INPUT, "squeeze", 1, 1);
    if (features_scale)
        s = cz_flatten(net, s, NULL);
    int m = cz_channel_mul(net, CZ_INPUT, s, "excite");
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, m, shape), 3);
    assert_int_equal(shape[0], C);
    cz_tensor x = random_input(N, C, H, W, 5);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    double want[48];
    for (int p = 0; p < N * C; p++) {
        double mean = 0.0;
        for (int i = 0; i < H * W; i++)
            mean += x.data[p * H * W + i];
        mean /= H * W;
        for (int i = 0; i < H * W; i++)
            want[p * H * W + i] = x.data[p * H * W + i] * mean;
    }
    tu_expect_close(y->data, want, 48, 1e-6, 1e-6, "channel_mul");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_channel_mul(void **state)
{
    (void)state;
    check_channel_mul(false);
    check_channel_mul(true);
}

static void expect_error(cz_net *net, int node, const char *name, const char *needle)
{
    assert_int_equal(node, -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_SHAPE);
    if (!strstr(cz_last_error(), name) || !strstr(cz_last_error(), needle))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", cz_last_error(), name, needle);
    cz_net_free(net);
}

static void test_join_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 6, 6, 1);
    int p = cz_maxpool(net, CZ_INPUT, "pool", (cz_pool_args){.kernel = 2});
    expect_error(net, cz_concat(net, (int[]){CZ_INPUT, p}, 2, "mixed.cat"), "mixed.cat",
                 "must have the same dims and H, W");

    net = cz_net_create(3, 6, 6, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    expect_error(net, cz_concat(net, (int[]){CZ_INPUT, f}, 2, "cat"), "cat",
                 "must have the same dims");

    net = cz_net_create(3, 6, 6, 1);
    p = cz_maxpool(net, CZ_INPUT, "pool", (cz_pool_args){.kernel = 2});
    expect_error(net, cz_add(net, CZ_INPUT, p, "layer1.0.add"), "layer1.0.add",
                 "shapes must match");

    net = cz_net_create(3, 6, 6, 1);
    f = cz_flatten(net, CZ_INPUT, NULL);
    expect_error(net, cz_add(net, CZ_INPUT, f, "add"), "add", "shapes must match");

    net = cz_net_create(3, 6, 6, 1);
    p = cz_maxpool(net, CZ_INPUT, "pool", (cz_pool_args){.kernel = 2});
    expect_error(net, cz_channel_mul(net, CZ_INPUT, p, "se"), "se", "must be (3, 1, 1) or (3)");

    net = cz_net_create(3, 6, 6, 1);
    int g = cz_adaptive_avgpool(net, CZ_INPUT, NULL, 1, 1);
    f = cz_flatten(net, g, NULL);
    expect_error(net, cz_channel_mul(net, f, g, "se"), "se", "must be (C, H, W)");

    /* One input more than a node can hold. */
    net = cz_net_create(3, 6, 6, 1);
    int many[CZ_MAX_INPUTS + 1] = {0};
    assert_int_equal(cz_concat(net, many, CZ_MAX_INPUTS + 1, "big"), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat_channels),
        cmocka_unit_test(test_concat_features),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_channel_mul),
        cmocka_unit_test(test_join_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
