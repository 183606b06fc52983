/*
 * test_ops_scale.c - y = x * factor for maps and features, factors of
 * both signs and zero; a non-finite factor is a builder error.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"

static void check_scale(int N, int C, int H, int W, float factor)
{
    cz_net *net = cz_net_create(C, H, W, 1);
    int s = cz_scale(net, CZ_INPUT, "block35.scale", factor);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), 3);
    assert_int_equal(shape[0], C);
    assert_int_equal(shape[1], H);
    assert_int_equal(shape[2], W);
    assert_int_equal(cz_net_param_count(net), 0);
    cz_rng rng;
    cz_rng_seed(&rng, (uint64_t)(C * 100 + H));
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = cz_tensor_numel(&x);
    assert_int_equal(cz_tensor_numel(y), n);
    for (size_t i = 0; i < n; i++)
        assert_true(y->data[i] == x.data[i] * factor);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_scale_maps(void **state)
{
    (void)state;
    check_scale(2, 3, 4, 5, 0.17f);
    check_scale(3, 1, 1, 1, -2.5f);
    check_scale(1, 8, 7, 3, 0.0f);
    check_scale(2, 5, 2, 9, 1.0f);
}

static void test_scale_features(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(6, 1, 1, 1);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    int s = cz_scale(net, f, "scale", 0.2f);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, s, shape), 1);
    assert_int_equal(shape[0], 6);
    cz_rng rng;
    cz_rng_seed(&rng, 5);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 4, 6, 1, 1);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    for (size_t i = 0; i < 24; i++)
        assert_true(y->data[i] == x.data[i] * 0.2f);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_scale_errors(void **state)
{
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        cz_net *net = cz_net_create(2, 2, 2, 1);
        assert_int_equal(cz_scale(net, CZ_INPUT, "up", bad[i]), -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        assert_non_null(strstr(cz_last_error(), "up (scale)"));
        assert_non_null(strstr(cz_last_error(), "must be finite"));
        cz_net_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_maps),
        cmocka_unit_test(test_scale_features),
        cmocka_unit_test(test_scale_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
