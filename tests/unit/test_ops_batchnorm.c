/*
 * test_ops_batchnorm.c - batch norm forward against the definition (train:
 * batch mean and biased variance over N, H, W; eval: running statistics),
 * the running-statistics update (momentum, unbiased variance,
 * num_batches_tracked), the state_dict names and order, (C) feature
 * inputs, and argument errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Per-channel batch mean and biased / unbiased variance of x (N, C, M). */
static void ref_stats(const float *x, int N, int C, size_t M, int c, double *mean,
                      double *var, double *unbiased)
{
    double sum = 0.0, sq = 0.0;
    size_t count = (size_t)N * M;
    for (int n = 0; n < N; n++)
        for (size_t i = 0; i < M; i++)
            sum += x[((size_t)n * C + c) * M + i];
    *mean = sum / count;
    for (int n = 0; n < N; n++)
        for (size_t i = 0; i < M; i++) {
            double d = x[((size_t)n * C + c) * M + i] - *mean;
            sq += d * d;
        }
    *var = sq / count;
    *unbiased = sq / (count - 1);
}

/* Builds input -> [flatten ->] batchnorm with random weight, bias and
 * running statistics; returns the net and the BN node. */
static cz_net *build(int C, int H, int W, bool features, float eps, float momentum, int *bn,
                     cz_rng *rng)
{
    cz_net *net = cz_net_create(C, H, W, 3);
    int x = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    *bn = cz_batchnorm(net, x, "bn1", eps, momentum);
    tu_check(cz_net_status(net));
    int F = features ? C * H * W : C;
    tu_fill_uniform(rng, cz_net_find_param(net, "bn1.weight")->value.data, (size_t)F, 0.5f, 1.5f);
    tu_fill_uniform(rng, cz_net_find_param(net, "bn1.bias")->value.data, (size_t)F, -0.5f, 0.5f);
    tu_fill_uniform(rng, cz_net_find_param(net, "bn1.running_mean")->value.data, (size_t)F, -0.5f,
                    0.5f);
    tu_fill_uniform(rng, cz_net_find_param(net, "bn1.running_var")->value.data, (size_t)F, 0.5f,
                    2.0f);
    return net;
}

static void check_bn(int N, int C, int H, int W, bool features, float offset, uint64_t seed)
{
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    float eps = 1e-3f, momentum = 0.3f;
    int bn;
    /* Built with another momentum: cz_net_set_bn_momentum must replace it. */
    cz_net *net = build(C, H, W, features, eps, 0.9f, &bn, &rng);
    tu_check(cz_net_set_bn_momentum(net, momentum));
    assert_int_equal(cz_net_set_bn_momentum(net, 1.5f), CZ_ERR_ARG);
    int F = features ? C * H * W : C;
    size_t M = features ? 1 : (size_t)H * W;
    float *weight = cz_net_find_param(net, "bn1.weight")->value.data;
    float *bias = cz_net_find_param(net, "bn1.bias")->value.data;
    float *rmean = cz_net_find_param(net, "bn1.running_mean")->value.data;
    float *rvar = cz_net_find_param(net, "bn1.running_var")->value.data;
    cz_param *tracked = cz_net_find_param(net, "bn1.num_batches_tracked");
    double *rmean0 = malloc(sizeof(double) * F), *rvar0 = malloc(sizeof(double) * F);
    for (int c = 0; c < F; c++) {
        rmean0[c] = rmean[c];
        rvar0[c] = rvar[c];
    }

    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, C, H, W);
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] = x.data[i] * 2.0f + offset;
    size_t n = cz_tensor_numel(&x);
    double *want = malloc(sizeof(double) * n), *want_mean = malloc(sizeof(double) * F),
           *want_var = malloc(sizeof(double) * F);

    /* Training: batch statistics, running ones updated. */
    cz_net_set_training(net, true);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    for (int c = 0; c < F; c++) {
        double mean, var, unbiased;
        ref_stats(x.data, N, F, M, c, &mean, &var, &unbiased);
        for (int s = 0; s < N; s++)
            for (size_t i = 0; i < M; i++) {
                size_t k = ((size_t)s * F + c) * M + i;
                want[k] = (x.data[k] - mean) / sqrt(var + eps) * weight[c] + bias[c];
            }
        want_mean[c] = (1 - momentum) * rmean0[c] + momentum * mean;
        want_var[c] = (1 - momentum) * rvar0[c] + momentum * unbiased;
    }
    tu_expect_close(y->data, want, n, 1e-5, 1e-5, "batchnorm train output");
    tu_expect_close(rmean, want_mean, (size_t)F, 1e-6, 1e-5, "running_mean");
    tu_expect_close(rvar, want_var, (size_t)F, 1e-6, 1e-5, "running_var (unbiased)");
    assert_int_equal(tracked->count, 1);
    tu_check(cz_net_forward(net, &x, &y));
    assert_int_equal(tracked->count, 2);

    /* Eval: running statistics, nothing updated. */
    cz_net_set_training(net, false);
    float *rmean1 = malloc(sizeof(float) * F);
    memcpy(rmean1, rmean, sizeof(float) * F);
    tu_check(cz_net_forward(net, &x, &y));
    for (int c = 0; c < F; c++)
        for (int s = 0; s < N; s++)
            for (size_t i = 0; i < M; i++) {
                size_t k = ((size_t)s * F + c) * M + i;
                want[k] = (x.data[k] - rmean[c]) / sqrt((double)rvar[c] + eps) * weight[c] +
                          bias[c];
            }
    tu_expect_close(y->data, want, n, 1e-5, 1e-5, "batchnorm eval output");
    tu_expect_close_f(rmean, rmean1, (size_t)F, 0, 0, "running_mean unchanged in eval");
    assert_int_equal(tracked->count, 2);

    free(rmean1);
    free(want);
    free(want_mean);
    free(want_var);
    free(rmean0);
    free(rvar0);
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_batchnorm2d(void **state)
{
    (void)state;
    check_bn(4, 3, 5, 7, false, 0.0f, 1);
    check_bn(2, 5, 1, 1, false, 0.0f, 2); /* 1x1 maps: statistics over N only */
    check_bn(1, 2, 3, 4, false, 0.0f, 3); /* N = 1: statistics over H W */
    check_bn(3, 4, 6, 6, false, 100.0f, 4); /* |mean| >> std: no cancellation */
}

static void test_batchnorm1d(void **state)
{
    (void)state;
    check_bn(5, 2, 2, 2, true, 0.0f, 5);
    check_bn(2, 3, 1, 1, true, 0.0f, 6);
}

static void test_batchnorm_state_dict(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 4, 4, 1);
    cz_scope_push(net, "layer1");
    cz_scope_push(net, "0");
    cz_batchnorm(net, CZ_INPUT, "bn1", 1e-5f, 0.1f);
    cz_scope_pop(net);
    cz_scope_pop(net);
    tu_check(cz_net_status(net));
    static const char *names[] = {"layer1.0.bn1.weight", "layer1.0.bn1.bias",
                                  "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
                                  "layer1.0.bn1.num_batches_tracked"};
    static const float init[] = {1, 0, 0, 1};
    assert_int_equal(cz_net_param_count(net), 5);
    for (int i = 0; i < 5; i++) {
        cz_param *p = cz_net_param(net, i);
        assert_string_equal(p->name, names[i]);
        assert_int_equal(p->kind, i < 2 ? CZ_PARAM_WEIGHT : CZ_PARAM_BUFFER);
        assert_int_equal(p->dtype, i < 4 ? CZ_F32 : CZ_I64);
        if (i < 4) {
            assert_int_equal(p->value.ndim, 1);
            assert_int_equal(p->value.shape[0], 3);
            for (int c = 0; c < 3; c++)
                assert_true(p->value.data[c] == init[i]);
        } else {
            assert_int_equal(p->count, 0);
        }
    }
    assert_int_equal(cz_net_weight_numel(net), 6);
    cz_net_free(net);
}

static void test_batchnorm_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(3, 4, 4, 1);
    assert_int_equal(cz_batchnorm(net, CZ_INPUT, "bn", 0.0f, 0.1f), -1);
    assert_int_not_equal(cz_net_status(net), CZ_OK);
    assert_non_null(strstr(cz_last_error(), "bn (batchnorm)"));
    assert_non_null(strstr(cz_last_error(), "eps"));
    cz_net_free(net);

    net = cz_net_create(3, 4, 4, 1);
    assert_int_equal(cz_batchnorm(net, CZ_INPUT, "bn", 1e-5f, 1.5f), -1);
    assert_non_null(strstr(cz_last_error(), "momentum 1.5"));
    cz_net_free(net);

    /* One value per channel cannot give a variance (PyTorch refuses too). */
    net = cz_net_create(3, 1, 1, 1);
    cz_batchnorm(net, CZ_INPUT, "bn", 1e-5f, 0.1f);
    tu_check(cz_net_status(net));
    cz_net_set_training(net, true);
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 1, 3, 1, 1);
    assert_int_equal(cz_net_forward(net, &x, NULL), CZ_ERR_SHAPE);
    assert_non_null(strstr(cz_last_error(), "more than 1 value per channel"));
    cz_net_set_training(net, false);
    tu_check(cz_net_forward(net, &x, NULL));
    cz_tensor_free(&x);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm2d),
        cmocka_unit_test(test_batchnorm1d),
        cmocka_unit_test(test_batchnorm_state_dict),
        cmocka_unit_test(test_batchnorm_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
