/*
 * test_grad_slice.c - backward of slice against central differences,
 * with two slices of one input joined again (ShuffleNet-v2's pattern), so
 * both slices' gradients must land in the right channels.
 */
#include "testutil.h"

static void test_grad_slice(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(6, 3, 2, 3);
    int a = cz_slice(net, CZ_INPUT, "a", 0, 2);
    int b = cz_slice(net, CZ_INPUT, "b", 3, 6);
    cz_concat(net, (int[]){b, a}, 2, "join");
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 3);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 6, 3, 2);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = 3});
    cz_tensor_free(&x);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grad_slice)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
