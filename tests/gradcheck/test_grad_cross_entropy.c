/*
 * test_grad_cross_entropy.c - cz_cross_entropy's dlogits against central
 * differences of its own (double) loss, with label smoothing 0 and 0.1;
 * and a classifier-like graph (batch norm in training, ReLU, max pooling,
 * LRN, dropout, flatten) trained end to end through the loss.
 */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

static void check_ce(int N, int K, float smoothing, uint64_t seed)
{
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor z = {0}, dz = {0};
    tu_tensor_random(&z, &rng, N, K, 0, 0);
    for (int i = 0; i < N * K; i++)
        z.data[i] *= 3.0f;
    int *labels = malloc(sizeof(int) * N);
    for (int n = 0; n < N; n++)
        labels[n] = (int)cz_rng_below(&rng, (uint64_t)K);
    double loss;
    tu_check(cz_cross_entropy(&z, labels, smoothing, &loss, &dz));
    double *numeric = malloc(sizeof(double) * N * K);
    /* The loss is computed in double, so a small step is noise-free. */
    for (int i = 0; i < N * K; i++) {
        float saved = z.data[i], plus = saved + 1e-3f, minus = saved - 1e-3f;
        double lp, lm;
        z.data[i] = plus;
        tu_check(cz_cross_entropy(&z, labels, smoothing, &lp, NULL));
        z.data[i] = minus;
        tu_check(cz_cross_entropy(&z, labels, smoothing, &lm, NULL));
        z.data[i] = saved;
        numeric[i] = (lp - lm) / ((double)plus - minus);
    }
    tu_expect_close(dz.data, numeric, (size_t)N * K, 1e-6, 1e-4, "dlogits");
    free(numeric);
    free(labels);
    cz_tensor_free(&z);
    cz_tensor_free(&dz);
}

static void test_grad_cross_entropy(void **state)
{
    (void)state;
    check_ce(4, 10, 0.0f, 1);
    check_ce(4, 10, 0.1f, 2);
    check_ce(1, 2, 0.1f, 3);
    check_ce(3, 1, 0.0f, 4); /* one class: zero loss, zero gradient */
    check_ce(6, 5, 0.1f, 5);
}

/* The gradient harness's random projection replaced by the real loss:
 * dloss/dinput and dloss/dweights through a small net. */
static void test_grad_through_loss(void **state)
{
    (void)state;
    int N = 3, C = 4, H = 6, W = 6, K = 4 * 3 * 3;
    cz_net *net = cz_net_create(C, H, W, 9);
    int x = cz_batchnorm(net, CZ_INPUT, "bn", 1e-5f, 0.1f);
    x = cz_relu(net, x, NULL);
    x = cz_maxpool(net, x, "pool", (cz_pool_args){.kernel = 2});
    x = cz_lrn(net, x, "lrn", 3, 0.5f, 0.75f, 1.0f);
    x = cz_dropout(net, x, "drop", 0.25f);
    cz_flatten(net, x, NULL);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, true);
    cz_rng rng;
    cz_rng_seed(&rng, 10);
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.weight")->value.data, (size_t)C, 0.5f, 1.5f);
    tu_fill_uniform(&rng, cz_net_find_param(net, "bn.bias")->value.data, (size_t)C, -0.3f, 0.3f);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C, H, W);
    int labels[3] = {0, 17, 35};
    cz_rng net_rng = *cz_net_rng(net);

    /* Analytic: forward, loss, backward of dlogits. */
    const cz_tensor *out;
    tu_check(cz_net_forward(net, &in, &out));
    cz_tensor logits = {0}, dz = {0};
    tu_check(cz_tensor_alloc(&logits, 2, (int[]){N, K}));
    double loss;
    for (int i = 0; i < N * K; i++)
        logits.data[i] = out->data[i];
    tu_check(cz_cross_entropy(&logits, labels, 0.1f, &loss, &dz));
    cz_net_set_input_grad(net, true);
    cz_net_zero_grad(net);
    tu_check(cz_net_backward(net, &dz));
    float *dweight = cz_net_find_param(net, "bn.weight")->grad.data;
    double *numeric = malloc(sizeof(double) * C);
    float *w = cz_net_find_param(net, "bn.weight")->value.data;
    for (int c = 0; c < C; c++) {
        double l[2];
        float saved = w[c];
        for (int s = 0; s < 2; s++) {
            w[c] = saved + (s ? -1e-2f : 1e-2f);
            *cz_net_rng(net) = net_rng;
            tu_check(cz_net_forward(net, &in, &out));
            for (int i = 0; i < N * K; i++)
                logits.data[i] = out->data[i];
            tu_check(cz_cross_entropy(&logits, labels, 0.1f, &l[s], NULL));
        }
        numeric[c] = (l[0] - l[1]) / ((double)(saved + 1e-2f) - (double)(saved - 1e-2f));
        w[c] = saved;
    }
    tu_expect_close(dweight, numeric, (size_t)C, 1e-4, 1e-3, "dloss/dbn.weight");
    free(numeric);
    cz_tensor_free(&in);
    cz_tensor_free(&logits);
    cz_tensor_free(&dz);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_cross_entropy),
        cmocka_unit_test(test_grad_through_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
