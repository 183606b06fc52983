/*
 * test_ops_slice.c - channel slices against explicit indexing, for maps
 * and features, first/middle/last ranges; bad ranges are builder errors.
 */
#include <string.h>

#include "testutil.h"

static void check_slice(int N, int C, int H, int W, int start, int end)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    int s = cz_slice(net, CZ_INPUT, "split", start, end);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), 3);
    assert_int_equal(shape[0], end - start);
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)(C * 100 + start));
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    for (int n = 0; n < N; n++)
        for (int c = start; c < end; c++)
            for (int i = 0; i < H * W; i++)
                assert_true(y->data[((size_t)n * (end - start) + c - start) * H * W + i] ==
                            x.data[((size_t)n * C + c) * H * W + i]);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_slice_maps(void **state)
{
    (void)state;
    check_slice(2, 6, 3, 5, 0, 3);
    check_slice(2, 6, 3, 5, 3, 6);
    check_slice(3, 7, 1, 1, 2, 5);
    check_slice(1, 4, 2, 2, 0, 4);
}

static void test_slice_features(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(10, 1, 1, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    int s = cz_slice(net, f, "part", 4, 9);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), 1);
    assert_int_equal(shape[0], 5);
    cz_net_free(net);
}

static void test_slice_errors(void **state)
{
    (void)state;
    static const int bad[][2] = {{-1, 2}, {2, 2}, {3, 1}, {0, 7}};
    for (int i = 0; i < 4; i++) {
        cz_net *net = cz_net_create(6, 2, 2, 1);
        assert_int_equal(cz_slice(net, CZ_INPUT, "split", bad[i][0], bad[i][1]), -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        assert_non_null(strstr(cz_last_error(), "split (slice)"));
        assert_non_null(strstr(cz_last_error(), "inside [0, 6)"));
        cz_net_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_maps),
        cmocka_unit_test(test_slice_features),
        cmocka_unit_test(test_slice_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
