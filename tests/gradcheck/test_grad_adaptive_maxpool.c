/*
 * test_grad_adaptive_maxpool.c - adaptive max pooling backward against
 * central differences, in training (saved argmax) and after an eval
 * forward (argmax searched again): global pooling, overlapping windows,
 * an output larger than the input (one input is the max of several
 * windows). Inputs are distinct and spaced well beyond the step.
 */
#include "testutil.h"

static void check(int N, int C, int H, int W, int OH, int OW, bool training, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    cz_adaptive_maxpool(net, CZ_INPUT, "pool", OH, OW);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, training);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    /* Spacing 0.05 with step 0.01: a perturbed value never crosses another. */
    tu_fill_distinct(&rng, x.data, cz_tensor_numel(&x), 0.05f);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_adaptive_maxpool(void **state)
{
    (void)state;
    for (int training = 0; training < 2; training++) {
        check(2, 2, 5, 7, 1, 1, training, 1);
        check(1, 2, 5, 7, 3, 4, training, 2);
        check(1, 2, 2, 3, 4, 5, training, 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grad_adaptive_maxpool)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
