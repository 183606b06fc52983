/*
 * test_ops_adaptive_maxpool.c - adaptive max pooling forward against the
 * direct definition (PyTorch's floor/ceil windows) on odd shapes: global
 * pooling, overlapping windows with H != W, output larger than the input,
 * a 1x1 map, the identity; ties and NaN; argument errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The max of output (i, j)'s window of plane x (H, W), by the definition. */
static double window_max(const float *x, int H, int W, int OH, int OW, int i, int j)
{
    int h0 = (int)floor((double)i * H / OH), h1 = (int)ceil((double)(i + 1) * H / OH);
    int w0 = (int)floor((double)j * W / OW), w1 = (int)ceil((double)(j + 1) * W / OW);
    double best = -INFINITY;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++)
            best = fmax(best, x[h * W + w]);
    return best;
}

static void check_forward(int N, int C, int H, int W, int OH, int OW, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    int node = cz_adaptive_maxpool(net, CZ_INPUT, "maxpool", OH, OW);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), 3);
    assert_int_equal(shape[0], C);
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
            for (int j = 0; j < OW; j++)
                want[((size_t)p * OH + i) * OW + j] =
                    window_max(x.data + (size_t)p * H * W, H, W, OH, OW, i, j);
    tu_expect_close(y->data, want, n, 0.0, 0.0, "adaptive_maxpool");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_adaptive_maxpool_forward(void **state)
{
    (void)state;
    check_forward(2, 3, 7, 7, 1, 1, 1);    /* global max pooling (CBAM) */
    check_forward(1, 2, 13, 13, 6, 6, 2);  /* 13 -> 6: overlapping windows */
    check_forward(2, 2, 5, 9, 3, 4, 3);    /* H != W */
    check_forward(1, 2, 2, 3, 5, 7, 4);    /* output larger than input */
    check_forward(1, 1, 1, 1, 2, 3, 5);    /* 1x1 map */
    check_forward(3, 2, 10, 4, 10, 4, 6);  /* identity */
}

static void test_adaptive_maxpool_nan(void **state)
{
    (void)state;
    /* A NaN in a window wins, as in PyTorch; equal values give that value. */
    cz_net *net = cz_net_create(1, 2, 4, 1);
    cz_adaptive_maxpool(net, CZ_INPUT, "maxpool", 1, 2);
    tu_check(cz_net_status(net));
    float data[8] = {1.0f, NAN, 3.0f, 3.0f, -1.0f, 0.5f, 3.0f, 2.0f};
    cz_tensor x = {.data = data, .ndim = 4, .shape = {1, 1, 2, 4}};
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    assert_true(isnan(y->data[0]));
    assert_true(y->data[1] == 3.0f);
    cz_net_free(net);
}

static void test_adaptive_maxpool_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(2, 4, 4, 1);
    assert_int_equal(cz_adaptive_maxpool(net, CZ_INPUT, "cbam.max", 0, 2), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
    assert_non_null(strstr(cz_last_error(), "cbam.max"));
    assert_non_null(strstr(cz_last_error(), "must be positive"));
    cz_net_free(net);

    net = cz_net_create(2, 4, 4, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    assert_int_equal(cz_adaptive_maxpool(net, f, "pool", 1, 1), -1);
    assert_int_equal(cz_net_status(net), CZ_ERR_SHAPE);
    assert_non_null(strstr(cz_last_error(), "(C, H, W)"));
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adaptive_maxpool_forward),
        cmocka_unit_test(test_adaptive_maxpool_nan),
        cmocka_unit_test(test_adaptive_maxpool_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
