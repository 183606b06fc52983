/*
 * test_describe.c - cz_model_describe: the same layers, parameter counts
 * and MACs as the real model, no weights, and it refuses to run, load or
 * save rather than touch memory it does not have.
 */
#include <string.h>

#include "testutil.h"

static void test_describe_matches_create(void **state)
{
    (void)state;
    static const char *const names[] = {"lenet5", "resnet18", "densenet121", "googlenet",
                                        "cbam_resnet50", "mobilenet_v3_small"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cz_net *real = cz_model_create(names[i], 0, 0, 0, 1);
        cz_net *shape = cz_model_describe(names[i], 0, 0, 0);
        assert_non_null(real);
        assert_non_null(shape);
        assert_true(cz_net_has_weights(real));
        assert_false(cz_net_has_weights(shape));
        assert_int_equal(cz_net_weight_numel(real), cz_net_weight_numel(shape));
        assert_int_equal(cz_net_macs(real), cz_net_macs(shape));
        assert_int_equal(cz_net_node_count(real), cz_net_node_count(shape));
        assert_int_equal(cz_net_param_count(real), cz_net_param_count(shape));
        cz_net_free(real);
        cz_net_free(shape);
    }
}

static void test_describe_refuses_work(void **state)
{
    (void)state;
    cz_net *net = cz_model_describe("lenet5", 0, 0, 0);
    assert_non_null(net);
    cz_tensor x = {0};
    tu_check(cz_tensor_alloc(&x, 4, (int[]){1, 1, 32, 32}));
    assert_int_equal(cz_net_forward(net, &x, NULL), CZ_ERR_ARG);
    assert_non_null(strstr(cz_last_error(), "shapes only"));
    assert_int_equal(cz_safetensors_save(net, "/nonexistent/x.safetensors", NULL, 0), CZ_ERR_ARG);
    assert_non_null(strstr(cz_last_error(), "shapes only"));
    cz_tensor_free(&x);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_matches_create),
        cmocka_unit_test(test_describe_refuses_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
