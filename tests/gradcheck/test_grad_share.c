/*
 * test_grad_share.c - a Linear applied to two inputs with its parameters
 * shared (CBAM's channel MLP): one table entry, and gradients from both
 * uses add up; a shape mismatch is an error.
 */
#include <string.h>

#include "testutil.h"

static void test_grad_shared_linear(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 2, 2, 1);
    int a = cz_flatten(net, cz_adaptive_avgpool(net, CZ_INPUT, "avg", 1, 1), NULL);
    int m = cz_flatten(net, cz_adaptive_maxpool(net, CZ_INPUT, "max", 1, 1), NULL);
    int fa = cz_linear(net, a, "mlp", 4, true);
    cz_net_share_params(net, true);
    int fm = cz_linear(net, m, "mlp", 4, true);
    cz_net_share_params(net, false);
    cz_add(net, fa, fm, "sum");
    tu_check(cz_net_status(net));
    assert_int_equal(cz_net_param_count(net), 2);
    assert_int_equal(cz_net_weight_numel(net), 16);
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 3, 2, 2);
    tu_fill_distinct(&rng, x.data, cz_tensor_numel(&x), 0.05f);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = 1});
    cz_tensor_free(&x);
    cz_net_free(net);

    net = cz_net_create(3, 2, 2, 1);
    a = cz_flatten(net, CZ_INPUT, NULL);
    cz_linear(net, a, "mlp", 4, true);
    cz_net_share_params(net, true);
    assert_int_equal(cz_linear(net, a, "mlp", 5, true), -1);
    assert_non_null(strstr(cz_last_error(), "cannot share parameter mlp."));
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grad_shared_linear)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
