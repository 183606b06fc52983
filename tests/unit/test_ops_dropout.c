/*
 * test_ops_dropout.c - inverted dropout: the identity in eval; in training
 * the dropped fraction near p, kept values scaled by 1 / (1 - p), the same
 * mask for the same rng state whatever the thread count, backward using
 * the forward's mask; p outside [0, 1) refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static cz_net *build(float p, int C)
{
    cz_net *net = cz_net_create(C, 1, 1, 42);
    int f = cz_flatten(net, CZ_INPUT, NULL);
    cz_dropout(net, f, "drop", p);
    tu_check(cz_net_status(net));
    return net;
}

static void test_dropout_eval_is_identity(void **state)
{
    (void)state;
    cz_net *net = build(0.5f, 100);
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 3, 100, 1, 1);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    tu_expect_close_f(y->data, x.data, 300, 0, 0, "eval dropout");
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_dropout_train(void **state)
{
    (void)state;
    static const float ps[] = {0.0f, 0.1f, 0.5f, 0.9f};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        float p = ps[k];
        int C = 20000;
        cz_net *net = build(p, C);
        cz_net_set_training(net, true);
        cz_rng rng;
        cz_rng_seed(&rng, 2);
        cz_tensor x = {0};
        tu_tensor_random(&x, &rng, 2, C, 1, 1);
        for (int i = 0; i < 2 * C; i++)
            x.data[i] += x.data[i] >= 0 ? 0.5f : -0.5f; /* no zeros in x */
        const cz_tensor *y;
        tu_check(cz_net_forward(net, &x, &y));
        int dropped = 0;
        for (int i = 0; i < 2 * C; i++) {
            if (y->data[i] == 0.0f)
                dropped++;
            else if (y->data[i] != x.data[i] * (1.0f / (1.0f - p)))
                fail_msg("p %g: kept element %d is %g, want %g / (1 - p)", p, i, y->data[i],
                         x.data[i]);
        }
        /* 40000 Bernoulli draws: 5 standard deviations. */
        double frac = dropped / (2.0 * C), sd = sqrt(p * (1 - p) / (2.0 * C));
        if (fabs(frac - p) > 5 * sd + 1e-12)
            fail_msg("p %g: dropped fraction %g", p, frac);

        /* Backward uses the forward's mask. */
        cz_tensor dy = {0};
        tu_tensor_random(&dy, &rng, 2, C, 0, 0);
        cz_net_set_input_grad(net, true);
        tu_check(cz_net_backward(net, &dy));
        const float *dx = cz_net_input_grad(net)->data;
        for (int i = 0; i < 2 * C; i++) {
            float want = y->data[i] == 0.0f ? 0.0f : dy.data[i] * (1.0f / (1.0f - p));
            if (dx[i] != want)
                fail_msg("p %g: dx[%d] = %g, want %g", p, i, dx[i], want);
        }
        cz_tensor_free(&dy);
        cz_tensor_free(&x);
        cz_net_free(net);
    }
}

/* The mask depends on the rng state only, not on the thread count, and a
 * second forward draws a new one. */
static void test_dropout_deterministic(void **state)
{
    (void)state;
    int C = 5000;
    cz_rng rng;
    cz_rng_seed(&rng, 3);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, C, 1, 1);
    float *first = malloc(sizeof(float) * 2 * C);
    for (int threads = 1; threads <= 2; threads++) {
        cz_set_threads(threads);
        cz_net *net = build(0.3f, C);
        cz_net_set_training(net, true);
        const cz_tensor *y;
        tu_check(cz_net_forward(net, &x, &y));
        if (threads == 1)
            memcpy(first, y->data, sizeof(float) * 2 * C);
        else
            tu_expect_close_f(y->data, first, (size_t)2 * C, 0, 0, "mask with 2 threads");
        tu_check(cz_net_forward(net, &x, &y));
        assert_true(memcmp(y->data, first, sizeof(float) * 2 * C) != 0);
        cz_net_free(net);
    }
    free(first);
    cz_tensor_free(&x);
}

static void test_dropout_errors(void **state)
{
    (void)state;
    static const float bad[] = {-0.1f, 1.0f, 1.5f, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cz_net *net = cz_net_create(4, 1, 1, 1);
        assert_int_equal(cz_dropout(net, CZ_INPUT, "classifier.0", bad[i]), -1);
        assert_int_equal(cz_net_status(net), CZ_ERR_ARG);
        assert_non_null(strstr(cz_last_error(), "classifier.0 (dropout): probability"));
        cz_net_free(net);
    }
}

/* Stochastic depth: each sample whole, either zero or x / (1 - p), about
 * a fraction 1 - p kept; the identity in eval mode and when switched off. */
static void test_stochastic_depth(void **state)
{
    (void)state;
    enum { N = 400, C = 3, H = 2, W = 2, ROW = C * H * W };
    cz_net *net = cz_net_create(C, H, W, 5);
    cz_stochastic_depth(net, CZ_INPUT, "sd", 0.25f);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 9);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C, H, W);
    const cz_tensor *y;
    cz_net_set_training(net, true);
    tu_check(cz_net_forward(net, &in, &y));
    int kept = 0;
    for (int n = 0; n < N; n++) {
        const float *x = in.data + n * ROW, *r = y->data + n * ROW;
        bool zero = true, scaled = true;
        for (int i = 0; i < ROW; i++) {
            zero = zero && r[i] == 0.0f;
            scaled = scaled && fabsf(r[i] - x[i] / 0.75f) <= 1e-6f * (1 + fabsf(x[i]));
        }
        assert_true(zero != scaled);
        kept += scaled;
    }
    print_message("stochastic depth p 0.25: kept %d of %d samples\n", kept, N);
    assert_true(kept > 0.75 * N - 40 && kept < 0.75 * N + 40); /* ~4.6 sigma */
    cz_net_set_dropout(net, false);
    tu_check(cz_net_forward(net, &in, &y));
    assert_memory_equal(y->data, in.data, sizeof(float) * N * ROW);
    cz_net_set_dropout(net, true);
    cz_net_set_training(net, false);
    tu_check(cz_net_forward(net, &in, &y));
    assert_memory_equal(y->data, in.data, sizeof(float) * N * ROW);
    cz_net *bad = cz_net_create(C, H, W, 5);
    cz_stochastic_depth(bad, CZ_INPUT, "sd", 1.0f);
    tu_expect_error(cz_net_status(bad), CZ_ERR_ARG, "sd", "[0, 1)");
    cz_tensor_free(&in);
    cz_net_free(net);
    cz_net_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_eval_is_identity),
        cmocka_unit_test(test_dropout_train),
        cmocka_unit_test(test_dropout_deterministic),
        cmocka_unit_test(test_dropout_errors),
        cmocka_unit_test(test_stochastic_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
