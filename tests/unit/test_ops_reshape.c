/*
 * test_ops_reshape.c - flatten and channel shuffle (torchvision's
 * view (g, C/g) -> transpose -> flatten, written with explicit 5-D
 * indices), including groups = 1 and groups = channels; errors.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_flatten(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 2, 4, 1);
    int f = cz_flatten(net, CZ_INPUT, "flat");
    int f2 = cz_flatten(net, f, NULL); /* features stay features */
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, f, shape), 1);
    assert_int_equal(shape[0], 24);
    assert_int_equal(cz_net_node_shape(net, f2, shape), 1);
    assert_int_equal(shape[0], 24);
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 3, 2, 4);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 24);
    tu_expect_close_f(y->data, x.data, 48, 0, 0, "flatten");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void check_shuffle(int N, int C, int H, int W, int groups)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    cz_channel_shuffle(net, CZ_INPUT, NULL, groups);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)C * 31 + groups);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    /* in viewed as (N, g, C/g, HW); out = in transposed to (N, C/g, g, HW) */
    int cpg = C / groups, HW = H * W;
    size_t n = (size_t)N * C * HW;
    double *want = malloc(sizeof(double) * n);
    for (int s = 0; s < N; s++)
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < cpg; j++)
                for (int i = 0; i < HW; i++)
                    want[(((size_t)s * cpg + j) * groups + g) * HW + i] =
                        x.data[(((size_t)s * groups + g) * cpg + j) * HW + i];
    tu_expect_close(y->data, want, n, 0, 0, "channel_shuffle");
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_channel_shuffle(void **state)
{
    (void)state;
    check_shuffle(2, 6, 3, 2, 2);
    check_shuffle(2, 6, 3, 2, 3);
    check_shuffle(1, 12, 1, 1, 4);
    check_shuffle(1, 5, 2, 2, 1); /* identity */
    check_shuffle(2, 5, 2, 3, 5); /* groups = channels: identity too */
    check_shuffle(1, 24, 2, 2, 8);

    /* The permutation itself, by hand: 6 channels, 2 and 3 groups. */
    static const int perm2[6] = {0, 3, 1, 4, 2, 5}, perm3[6] = {0, 2, 4, 1, 3, 5};
    for (int k = 0; k < 2; k++) {
        cz_net *net = cz_net_create(6, 1, 1, 1);
        cz_channel_shuffle(net, CZ_INPUT, NULL, k ? 3 : 2);
        int shape[4] = {1, 6, 1, 1};
        cz_tensor x = {0};
        tu_check(cz_tensor_alloc(&x, 4, shape));
        for (int i = 0; i < 6; i++)
            x.data[i] = (float)i;
        const cz_tensor *y;
        tu_check(cz_net_forward(net, &x, &y));
        for (int i = 0; i < 6; i++)
            assert_true(y->data[i] == (float)(k ? perm3[i] : perm2[i]));
        cz_tensor_free(&x);
        cz_net_free(net);
    }
}

static void test_shuffle_errors(void **state)
{
    (void)state;
    static const int bad[] = {0, -2, 4, 7};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cz_net *net = cz_net_create(6, 2, 2, 1);
        assert_int_equal(cz_channel_shuffle(net, CZ_INPUT, "stage2.0", bad[i]), -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        assert_non_null(strstr(cz_last_error(), "stage2.0 (channel_shuffle): groups"));
        assert_non_null(strstr(cz_last_error(), "divide the 6 channels"));
        cz_net_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_channel_shuffle),
        cmocka_unit_test(test_shuffle_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
