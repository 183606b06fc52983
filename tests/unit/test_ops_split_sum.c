/*
 * test_ops_split_sum.c - the sum of equal channel chunks against explicit
 * indexing (x.view(N, splits, C, H, W).sum(1)), for maps and features, one
 * split (a copy) and several; bad split counts are builder errors.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void check_split_sum(int N, int C, int H, int W, int splits, bool features)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    int x_node = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    int s = cz_split_sum(net, x_node, "sum", splits);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), features ? 1 : 3);
    int K = features ? C * H * W : C, M = features ? 1 : H * W;
    assert_int_equal(shape[0], K / splits);
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)C * 100 + splits);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    int out_c = K / splits;
    size_t n = (size_t)N * out_c * M;
    double *want = calloc(n, sizeof(double));
    for (int b = 0; b < N; b++)
        for (int sp = 0; sp < splits; sp++)
            for (int c = 0; c < out_c; c++)
                for (int m = 0; m < M; m++)
                    want[((size_t)b * out_c + c) * M + m] +=
                        x.data[(((size_t)b * splits + sp) * out_c + c) * M + m];
    tu_expect_close(y->data, want, n, 1e-6, 1e-6, "split_sum");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_split_sum_maps(void **state)
{
    (void)state;
    check_split_sum(2, 8, 3, 5, 2, false);
    check_split_sum(3, 12, 2, 2, 4, false);
    check_split_sum(2, 6, 1, 1, 3, false);
    check_split_sum(2, 5, 2, 3, 1, false); /* one split: a copy */
}

static void test_split_sum_features(void **state)
{
    (void)state;
    check_split_sum(2, 6, 2, 2, 4, true); /* 24 features, 4 chunks of 6 */
    check_split_sum(3, 10, 1, 1, 2, true);
}

static void test_split_sum_errors(void **state)
{
    (void)state;
    static const int bad[] = {0, -2, 4, 7};
    for (int i = 0; i < 4; i++) {
        cz_net *net = cz_net_create(6, 2, 2, 1);
        assert_int_equal(cz_split_sum(net, CZ_INPUT, "sum", bad[i]), -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        assert_non_null(strstr(cz_last_error(), "sum (split_sum)"));
        assert_non_null(strstr(cz_last_error(), "divide the 6 channels"));
        cz_net_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_sum_maps),
        cmocka_unit_test(test_split_sum_features),
        cmocka_unit_test(test_split_sum_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
