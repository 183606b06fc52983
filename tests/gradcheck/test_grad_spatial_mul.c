/*
 * test_grad_spatial_mul.c - spatial_mul backward against central
 * differences: a scale from another branch (a sigmoid of one channel),
 * more pixels than one backward block, and x scaled by its own single
 * channel (both gradients land in the same tensor).
 */
#include "testutil.h"

static void run(cz_net *net, int N, uint64_t seed)
{
    tu_check(cz_net_status(net));
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, shape[0], shape[1], shape[2]);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_spatial_mul(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 3, 4, 1);
    int s = cz_activation(net, cz_slice(net, CZ_INPUT, "s", 1, 2), NULL, CZ_ACT_SIGMOID);
    cz_spatial_mul(net, CZ_INPUT, s, "gate");
    run(net, 2, 1);

    /* 9x10 = 90 pixels: two blocks of 64 in backward */
    net = cz_net_create(2, 9, 10, 2);
    s = cz_slice(net, CZ_INPUT, "s", 0, 1);
    cz_spatial_mul(net, CZ_INPUT, s, "gate");
    run(net, 2, 2);

    net = cz_net_create(1, 2, 3, 3);
    cz_spatial_mul(net, CZ_INPUT, CZ_INPUT, "square");
    run(net, 3, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grad_spatial_mul)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
