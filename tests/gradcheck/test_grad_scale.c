/*
 * test_grad_scale.c - backward of scale against central differences, in
 * Inception-ResNet's pattern: a conv branch scaled and added back to its
 * input, so the scaled gradient must reach both the conv's weights and
 * the shortcut's input.
 */
#include "testutil.h"

static void test_grad_scale_residual(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 4, 5, 7);
    int branch = cz_conv2d(
        net, CZ_INPUT, "conv",
        (cz_conv_args){.out_channels = 3, .kernel = 3, .padding = 1, .bias = true});
    int scaled = cz_scale(net, branch, "scale", 0.17f);
    cz_add(net, CZ_INPUT, scaled, "join");
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 7);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 3, 4, 5);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = 7});
    cz_tensor_free(&x);
    cz_net_free(net);
}

/* A negative factor on features, the input's gradient alone. */
static void test_grad_scale_features(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(5, 1, 1, 3);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    cz_scale(net, f, "scale", -3.0f);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 11);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 3, 5, 1, 1);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = 11});
    cz_tensor_free(&x);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_scale_residual),
        cmocka_unit_test(test_grad_scale_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
