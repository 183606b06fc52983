/*
 * test_grad_split_sum.c - backward of split_sum against central
 * differences, for maps and features, and with the input also used
 * directly (so both gradients must add in the right channels).
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

static void test_grad_split_sum(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(6, 3, 2, 1);
    cz_split_sum(net, CZ_INPUT, "sum", 3);
    run(net, 2, 1);

    net = cz_net_create(4, 2, 3, 2);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    cz_split_sum(net, f, "sum", 4);
    run(net, 3, 2);

    /* squared through channel_mul, then summed and joined with the input */
    net = cz_net_create(6, 2, 2, 3);
    int t = cz_activation(net, CZ_INPUT, NULL, CZ_ACT_TANH);
    int s = cz_split_sum(net, cz_channel_mul(net, t, cz_adaptive_avgpool(net, t, NULL, 1, 1), NULL),
                         "sum", 2);
    cz_concat(net, (int[]){s, CZ_INPUT}, 2, "join");
    run(net, 2, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grad_split_sum)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
