/*
 * test_grad_batchnorm.c - batch norm backward against central differences:
 * training (the gradient flows through the batch mean and variance) and
 * eval (an affine map), on (C, H, W) and (C) feature inputs, with random
 * weight and bias so neither gradient is trivial.
 */
#include "testutil.h"

static void check(int N, int C, int H, int W, bool features, bool training, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    int x = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    cz_batchnorm(net, x, "bn", 1e-5f, 0.1f);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    int F = features ? C * H * W : C;
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.weight")->value.data, (size_t)F, 0.5f, 1.5f);
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.bias")->value.data, (size_t)F, -0.5f, 0.5f);
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.running_mean")->value.data, (size_t)F,
                    -0.5f, 0.5f);
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.running_var")->value.data, (size_t)F, 0.5f,
                    2.0f);
    cz_net_set_training(net, training);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C, H, W);
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_batchnorm_train(void **state)
{
    (void)state;
    check(3, 2, 3, 4, false, true, 1);
    check(4, 3, 1, 1, false, true, 2); /* statistics over N only */
    check(1, 2, 3, 3, false, true, 3); /* statistics over H W only */
    check(4, 2, 2, 2, true, true, 4);  /* BatchNorm1d */
}

static void test_grad_batchnorm_eval(void **state)
{
    (void)state;
    check(2, 3, 3, 2, false, false, 5);
    check(3, 2, 2, 1, true, false, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_batchnorm_train),
        cmocka_unit_test(test_grad_batchnorm_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
