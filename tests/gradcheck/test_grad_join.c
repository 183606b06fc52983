/*
 * test_grad_join.c - backward of concat, add, channel_mul, flatten,
 * channel_shuffle and softmax against central differences, in small
 * graphs where one node feeds several consumers (so gradients from
 * different paths must add up), including an input given twice.
 */
#include "testutil.h"

static cz_tensor input(int N, int C, int H, int W, uint64_t seed)
{
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    return x;
}

static void run(cz_net *net, int N, uint64_t seed)
{
    tu_check(cz_net_status(net));
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    cz_tensor x = input(N, shape[0], shape[1], shape[2], seed);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_concat(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 4, 3, 1);
    int t = cz_activation(net, CZ_INPUT, NULL, CZ_ACT_TANH);
    int a = cz_concat(net, (int[]){CZ_INPUT, t}, 2, "a");
    cz_concat(net, (int[]){t, a, CZ_INPUT, t}, 4, "b");
    run(net, 2, 1);

    /* features */
    net = cz_net_create(2, 3, 2, 2);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    int g = cz_flatten(net, cz_adaptive_avgpool(net, CZ_INPUT, NULL, 1, 2), NULL);
    cz_concat(net, (int[]){g, f, g}, 3, "cat");
    run(net, 3, 2);
}

static void test_grad_add(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(2, 3, 4, 3);
    int s = cz_activation(net, CZ_INPUT, NULL, CZ_ACT_SIGMOID);
    int a = cz_add(net, CZ_INPUT, s, "residual");
    cz_add(net, a, a, "twice"); /* one input given twice: gradient 2 dy */
    run(net, 2, 3);
}

static void test_grad_channel_mul(void **state)
{
    (void)state;
    /* Squeeze-and-excitation: x times sigmoid(mean(x)), scale (C, 1, 1). */
    cz_net *net = cz_net_create(3, 3, 4, 4);
    int s = cz_activation(net, cz_adaptive_avgpool(net, CZ_INPUT, "squeeze", 1, 1), NULL,
                          CZ_ACT_SIGMOID);
    cz_channel_mul(net, CZ_INPUT, s, "excite");
    run(net, 2, 4);

    /* (C) features scale */
    net = cz_net_create(3, 2, 3, 5);
    s = cz_flatten(net, cz_adaptive_avgpool(net, CZ_INPUT, "squeeze", 1, 1), NULL);
    cz_channel_mul(net, CZ_INPUT, s, "excite");
    run(net, 2, 5);

    /* x scaled by itself: both gradients land in the same tensor */
    net = cz_net_create(4, 1, 1, 6);
    cz_channel_mul(net, CZ_INPUT, CZ_INPUT, "square");
    run(net, 3, 6);
}

static void test_grad_reshape(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 2, 2, 7);
    cz_flatten(net, CZ_INPUT, "flat");
    run(net, 2, 7);

    static const int groups[] = {1, 2, 3, 6};
    for (int g = 0; g < 4; g++) {
        net = cz_net_create(6, 2, 3, 8);
        cz_channel_shuffle(net, CZ_INPUT, "shuffle", groups[g]);
        run(net, 2, 8 + g);
    }
}

static void test_grad_softmax(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(5, 1, 1, 20);
    cz_softmax(net, cz_flatten(net, CZ_INPUT, NULL), "softmax");
    run(net, 3, 20);

    net = cz_net_create(4, 3, 2, 21);
    cz_softmax(net, CZ_INPUT, "softmax");
    run(net, 2, 21);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_concat),
        cmocka_unit_test(test_grad_add),
        cmocka_unit_test(test_grad_channel_mul),
        cmocka_unit_test(test_grad_reshape),
        cmocka_unit_test(test_grad_softmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
