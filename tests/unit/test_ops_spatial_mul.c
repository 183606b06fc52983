/*
 * test_ops_spatial_mul.c - x (C, H, W) times s (1, H, W) against explicit
 * indexing, with s from another branch (a slice of the input) so every
 * sample and channel must pick its own sample's map; shape errors.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void check_forward(int N, int C, int H, int W, uint64_t seed)
{
    /* The scale is the input's last channel. */
    cz_net *net = cz_net_create(C + 1, H, W, seed);
    int x = cz_slice(net, CZ_INPUT, "x", 0, C);
    int s = cz_slice(net, CZ_INPUT, "s", C, C + 1);
    int node = cz_spatial_mul(net, x, s, "gate");
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[0], C);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C + 1, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &in, &y));
    size_t HW = (size_t)H * W, n = (size_t)N * C * HW;
    double *want = malloc(sizeof(double) * n);
    assert_non_null(want);
    for (int b = 0; b < N; b++)
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < HW; i++)
                want[((size_t)b * C + c) * HW + i] =
                    (double)in.data[((size_t)b * (C + 1) + c) * HW + i] *
                    in.data[((size_t)b * (C + 1) + C) * HW + i];
    tu_expect_close(y->data, want, n, 0.0, 1e-7, "spatial_mul");
    free(want);
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_spatial_mul_forward(void **state)
{
    (void)state;
    check_forward(2, 3, 4, 5, 1);
    check_forward(3, 1, 1, 1, 2);
    check_forward(1, 6, 9, 2, 3);
}

static void expect_error(int C, int SH, int SW, const char *needle)
{
    cz_net *net = cz_net_create(4, 3, 5, 1);
    int s = cz_adaptive_avgpool(net, CZ_INPUT, "pool", SH, SW);
    if (C < 4)
        s = cz_slice(net, s, "s", 0, C);
    tu_check(cz_net_status(net));
    assert_int_equal(cz_spatial_mul(net, CZ_INPUT, s, "cbam.gate"), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_SHAPE);
    const char *msg = cz_last_error();
    if (!strstr(msg, "cbam.gate") || !strstr(msg, needle))
        fail_msg("message \"%s\" should name the node and say \"%s\"", msg, needle);
    cz_net_free(net);
}

static void test_spatial_mul_errors(void **state)
{
    (void)state;
    expect_error(2, 3, 5, "must be (1, 3, 5)"); /* two channels */
    expect_error(1, 5, 3, "must be (1, 3, 5)"); /* H and W swapped */
    expect_error(4, 3, 5, "must be (1, 3, 5)"); /* x itself */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spatial_mul_forward),
        cmocka_unit_test(test_spatial_mul_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
