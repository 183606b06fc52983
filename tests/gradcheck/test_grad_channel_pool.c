/*
 * test_grad_channel_pool.c - channel pool backward against central
 * differences, in training (saved argmax) and after an eval forward
 * (searched again), alone and as CBAM's spatial attention
 * x * sigmoid(conv(channel_pool(x))), where x gets gradients by two paths.
 * Inputs are distinct and spaced well beyond the step, so no pixel's max
 * is a near-tie.
 */
#include "testutil.h"

static void run(cz_net *net, int N, bool training, uint64_t seed)
{
    tu_check(cz_net_status(net));
    cz_net_set_training(net, training);
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, shape[0], shape[1], shape[2]);
    tu_fill_distinct(&rng, x.data, cz_tensor_numel(&x), 0.05f);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_channel_pool(void **state)
{
    (void)state;
    for (int training = 0; training < 2; training++) {
        cz_net *net = cz_net_create(4, 3, 5, 1);
        cz_channel_pool(net, CZ_INPUT, "compress");
        run(net, 2, training, 1);

        net = cz_net_create(1, 2, 2, 2);
        cz_channel_pool(net, CZ_INPUT, "compress");
        run(net, 2, training, 2);
    }
}

static void test_grad_spatial_gate(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 4, 5, 3);
    int s = cz_channel_pool(net, CZ_INPUT, "compress");
    s = cz_conv2d(net, s, "spatial.conv",
                  (cz_conv_args){.out_channels = 1, .kernel = 3, .padding = 1});
    s = cz_activation(net, s, NULL, CZ_ACT_SIGMOID);
    cz_spatial_mul(net, CZ_INPUT, s, "gate");
    run(net, 2, true, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_channel_pool),
        cmocka_unit_test(test_grad_spatial_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
