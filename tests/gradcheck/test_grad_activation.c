/*
 * test_grad_activation.c - every activation's backward, and dropout's with
 * a fixed mask (the harness restores the net rng before each forward),
 * against central differences. Inputs stay at least 0.1 from every kink
 * (0, 6, -3, 3) so the step (0.01) never crosses one.
 */
#include <math.h>

#include "testutil.h"

/* Moves values within 0.1 of a kink 0.2 away from it. */
static void avoid_kinks(float *x, size_t n)
{
    static const float kinks[] = {-3, 0, 3, 6};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            if (fabsf(x[i] - kinks[k]) < 0.1f)
                x[i] = kinks[k] + (x[i] >= kinks[k] ? 0.2f : -0.2f);
}

static void check_act(cz_act act, bool features, uint64_t seed)
{
    cz_net *net = cz_net_create(3, 4, 3, seed);
    int x = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    cz_activation(net, x, "act", act);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, 2, 3, 4, 3);
    tu_fill_uniform(&rng, in.data, cz_tensor_numel(&in), -8.0f, 8.0f);
    avoid_kinks(in.data, cz_tensor_numel(&in));
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_activations(void **state)
{
    (void)state;
    static const cz_act acts[] = {CZ_ACT_RELU, CZ_ACT_RELU6, CZ_ACT_SIGMOID, CZ_ACT_TANH,
                                  CZ_ACT_SILU, CZ_ACT_HARDSWISH, CZ_ACT_HARDSIGMOID};
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
        check_act(acts[a], false, 10 + a);
        check_act(acts[a], true, 20 + a);
    }
}

static void check_dropout(float p, bool training, uint64_t seed)
{
    cz_net *net = cz_net_create(4, 3, 3, seed);
    cz_dropout(net, CZ_INPUT, "drop", p);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, training);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, 2, 4, 3, 3);
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_dropout(void **state)
{
    (void)state;
    check_dropout(0.5f, true, 31);
    check_dropout(0.2f, true, 32);
    check_dropout(0.0f, true, 33);
    check_dropout(0.5f, false, 34);
}

static void check_stochastic_depth(float p, uint64_t seed)
{
    cz_net *net = cz_net_create(4, 3, 3, seed);
    cz_stochastic_depth(net, CZ_INPUT, "sd", p);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, true);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, 6, 4, 3, 3);
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_stochastic_depth(void **state)
{
    (void)state;
    check_stochastic_depth(0.5f, 41);
    check_stochastic_depth(0.1f, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_activations),
        cmocka_unit_test(test_grad_dropout),
        cmocka_unit_test(test_grad_stochastic_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
