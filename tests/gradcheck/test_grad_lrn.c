/*
 * test_grad_lrn.c - local response norm backward (both terms: the direct
 * one and the one through the neighbours' window sums) against central
 * differences; alpha large enough that the window term is not negligible;
 * odd and even sizes, size > channels, 1x1 maps, several position blocks.
 */
#include "testutil.h"

static void check(int N, int C, int H, int W, int size, float alpha, float beta, float k,
                  uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    cz_lrn(net, CZ_INPUT, "lrn", size, alpha, beta, k);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C, H, W);
    for (size_t i = 0; i < cz_tensor_numel(&in); i++)
        in.data[i] *= 2.0f;
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_lrn(void **state)
{
    (void)state;
    check(2, 6, 3, 2, 5, 0.5f, 0.75f, 1.0f, 1);
    check(1, 7, 2, 3, 4, 0.8f, 0.75f, 1.0f, 2);  /* even size */
    check(1, 5, 2, 2, 2, 0.8f, 1.3f, 0.7f, 3);
    check(2, 3, 2, 2, 7, 0.6f, 0.75f, 1.0f, 4);  /* size > C */
    check(3, 4, 1, 1, 3, 0.9f, 0.5f, 2.0f, 5);   /* 1x1 maps */
    check(1, 3, 9, 9, 3, 0.9f, 0.75f, 1.0f, 6);  /* two position blocks */
    check(1, 6, 3, 3, 5, 1e-4f, 0.75f, 2.0f, 7); /* AlexNet's constants */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_lrn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
