/*
 * test_grad_pool.c - max, average and adaptive average pooling backward
 * against central differences, in training (saved argmax) and eval
 * (argmax searched again) for max pooling. Max-pool inputs are distinct
 * and spaced well beyond the step, so no window has a near-tie.
 */
#include "testutil.h"

typedef enum { MAX, AVG, ADAPTIVE } pool_kind;

static void check(pool_kind kind, int N, int C, int H, int W, cz_pool_args args, int out_h,
                  int out_w, bool training, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    if (kind == MAX)
        cz_maxpool(net, CZ_INPUT, "pool", args);
    else if (kind == AVG)
        cz_avgpool(net, CZ_INPUT, "pool", args);
    else
        cz_adaptive_avgpool(net, CZ_INPUT, "pool", out_h, out_w);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, training);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    /* Spacing 0.05 with step 0.01: a perturbed value never crosses another. */
    if (kind == MAX)
        tu_fill_distinct(&rng, x.data, cz_tensor_numel(&x), 0.05f);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_maxpool(void **state)
{
    (void)state;
    for (int training = 0; training < 2; training++) {
        check(MAX, 2, 2, 6, 5, (cz_pool_args){.kernel = 2}, 0, 0, training, 1);
        check(MAX, 2, 2, 7, 6, (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1}, 0, 0,
              training, 2);
        check(MAX, 1, 3, 7, 5, (cz_pool_args){.kernel = 3, .stride = 2, .ceil_mode = true}, 0, 0,
              training, 3);
        check(MAX, 2, 1, 5, 8, (cz_pool_args){.kernel_h = 2, .kernel_w = 3, .stride = 3}, 0, 0,
              training, 4);
        check(MAX, 1, 2, 1, 1, (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1}, 0, 0,
              training, 5);
        /* stride 1, overlapping windows: one input is the max of several */
        check(MAX, 1, 2, 5, 5, (cz_pool_args){.kernel = 3, .stride = 1, .padding = 1}, 0, 0,
              training, 6);
    }
}

static void test_grad_avgpool(void **state)
{
    (void)state;
    for (int incl = 0; incl < 2; incl++) {
        check(AVG, 2, 2, 6, 5, (cz_pool_args){.kernel = 2, .count_include_pad = incl}, 0, 0,
              true, 11);
        check(AVG, 2, 2, 7, 6,
              (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1, .count_include_pad = incl},
              0, 0, true, 12);
        check(AVG, 1, 2, 7, 5,
              (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true,
                             .count_include_pad = incl},
              0, 0, true, 13);
        check(AVG, 1, 2, 5, 5,
              (cz_pool_args){.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = incl},
              0, 0, true, 14);
        check(AVG, 2, 1, 1, 1,
              (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true,
                             .count_include_pad = incl},
              0, 0, true, 15);
    }
}

static void test_grad_adaptive_avgpool(void **state)
{
    (void)state;
    check(ADAPTIVE, 2, 2, 5, 7, (cz_pool_args){0}, 1, 1, true, 21);
    check(ADAPTIVE, 1, 2, 5, 7, (cz_pool_args){0}, 3, 4, true, 22);
    check(ADAPTIVE, 1, 2, 2, 3, (cz_pool_args){0}, 4, 5, true, 23);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_maxpool),
        cmocka_unit_test(test_grad_avgpool),
        cmocka_unit_test(test_grad_adaptive_avgpool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
