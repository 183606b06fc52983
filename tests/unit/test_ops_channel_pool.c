/*
 * test_ops_channel_pool.c - CBAM's channel pool (max and mean over
 * channels) against the direct definition, on one channel, many channels
 * (more than one pixel block), H != W, a 1x1 map; a NaN; a 1-D input is
 * a builder error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void check_forward(int N, int C, int H, int W, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    int node = cz_channel_pool(net, CZ_INPUT, "compress");
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[0], 2);
    assert_int_equal(shape[1], H);
    assert_int_equal(shape[2], W);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t HW = (size_t)H * W, n = (size_t)N * 2 * HW;
    double *want = malloc(sizeof(double) * n);
    assert_non_null(want);
    for (int s = 0; s < N; s++)
        for (size_t i = 0; i < HW; i++) {
            double best = -INFINITY, sum = 0.0;
            for (int c = 0; c < C; c++) {
                double v = x.data[((size_t)s * C + c) * HW + i];
                best = fmax(best, v);
                sum += v;
            }
            want[(size_t)s * 2 * HW + i] = best;
            want[(size_t)s * 2 * HW + HW + i] = sum / C;
        }
    tu_expect_close(y->data, want, n, 1e-7, 1e-6, "channel_pool");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_channel_pool_forward(void **state)
{
    (void)state;
    check_forward(2, 1, 3, 4, 1);    /* one channel: max = mean = x */
    check_forward(2, 5, 7, 3, 2);    /* H != W */
    check_forward(1, 37, 11, 13, 3); /* 143 pixels: three blocks, the last partial */
    check_forward(3, 256, 1, 1, 4);  /* 1x1 map, many channels */
}

static void test_channel_pool_nan(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 1, 2, 1);
    cz_channel_pool(net, CZ_INPUT, "compress");
    tu_check(cz_net_status(net));
    /* pixel 0: channels 1, NaN, 5; pixel 1: 2, 4, -3 */
    float data[6] = {1.0f, 2.0f, NAN, 4.0f, 5.0f, -3.0f};
    cz_tensor x = {.data = data, .ndim = 4, .shape = {1, 3, 1, 2}};
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    assert_true(isnan(y->data[0]));
    assert_true(y->data[1] == 4.0f);
    assert_true(isnan(y->data[2]));
    assert_true(fabsf(y->data[3] - 1.0f) < 1e-7f);
    cz_net_free(net);
}

static void test_channel_pool_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(4, 2, 2, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    assert_int_equal(cz_channel_pool(net, f, "cbam.compress"), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_SHAPE);
    assert_non_null(strstr(cz_last_error(), "cbam.compress"));
    assert_non_null(strstr(cz_last_error(), "(C, H, W)"));
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_pool_forward),
        cmocka_unit_test(test_channel_pool_nan),
        cmocka_unit_test(test_channel_pool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
