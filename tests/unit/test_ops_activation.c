/*
 * test_ops_activation.c - every activation's forward against its formula
 * in double, on (C, H, W) and (C) inputs, including the kink points; and
 * the gradients at the kinks, where finite differences cannot look,
 * against the values PyTorch 1.13 gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testutil.h"

static double relu6_ref(double x) { return x < 0 ? 0 : x > 6 ? 6 : x; }

static double act_ref(cz_act act, double x)
{
    switch (act) {
    case CZ_ACT_RELU: return x > 0 ? x : 0;
    case CZ_ACT_RELU6: return relu6_ref(x);
    case CZ_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case CZ_ACT_TANH: return tanh(x);
    case CZ_ACT_SILU: return x / (1 + exp(-x));
    case CZ_ACT_HARDSWISH: return x * relu6_ref(x + 3) / 6;
    case CZ_ACT_HARDSIGMOID: return relu6_ref(x + 3) / 6;
    }
    return NAN;
}

static const cz_act all_acts[] = {CZ_ACT_RELU, CZ_ACT_RELU6, CZ_ACT_SIGMOID, CZ_ACT_TANH,
                                  CZ_ACT_SILU, CZ_ACT_HARDSWISH, CZ_ACT_HARDSIGMOID};
#define N_ACTS (sizeof all_acts / sizeof *all_acts)

/* Kinks and saturation points first, then random values in [-9, 9). */
static void fill_input(cz_tensor *x, cz_rng *rng)
{
    static const float special[] = {-3, 3, 0, 6, -6, -0.0f, 40, -40, 100, -100};
    size_t n = cz_tensor_numel(x);
    tu_fill_uniform(rng, x->data, n, -9.0f, 9.0f);
    for (size_t i = 0; i < n && i < sizeof special / sizeof *special; i++)
        x->data[i] = special[i];
}

static void check_act(cz_act act, bool features, uint64_t seed)
{
    cz_net *net = cz_net_create(3, 4, 5, seed);
    int x_node = features ? cz_flatten(net, CZ_INPUT, NULL) : CZ_INPUT;
    int node = cz_activation(net, x_node, NULL, act);
    tu_check(cz_net_status(net));
    int shape[3];
    assert_int_equal(cz_net_node_shape(net, node, shape), features ? 1 : 3);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, 2, 3, 4, 5);
    fill_input(&x, &rng);
    const cz_tensor *y;
    tu_check(cz_net_forward(net, &x, &y));
    size_t n = cz_tensor_numel(&x);
    double *want = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++)
        want[i] = act_ref(act, x.data[i]);
    char what[64];
    snprintf(what, sizeof what, "activation %d", (int)act);
    tu_expect_close(y->data, want, n, 1e-6, 1e-6, what);
    free(want);
    cz_tensor_free(&x);
    cz_net_free(net);
}

/* Every kernel path has its own activation loops (AVX-512's sigmoid and
 * SiLU are approximations of their own): each is checked. */
static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};

static void test_activation_forward(void **state)
{
    (void)state;
    for (int p = 0; p < 4; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        for (size_t a = 0; a < N_ACTS; a++) {
            check_act(all_acts[a], false, 10 + a);
            check_act(all_acts[a], true, 20 + a);
        }
    }
    cz_kernels_force(NULL);
}

/* ReLU and ReLU6 on their edge cases, bit for bit on every path: ReLU
 * makes -0 +0, ReLU6 keeps a zero's sign, both pass a NaN, the clamps
 * give +0 and 6 (the vector forms are one compare and a blend, and
 * vmaxps/vminps, whose NaN and zero rules this pins). 35 values: two
 * whole vectors and a tail. */
static void test_relu_edges(void **state)
{
    (void)state;
    static const float in[5] = {-0.0f, 0.0f, -1.0f, 7.0f, 2.5f};
    static const float relu[5] = {0.0f, 0.0f, 0.0f, 7.0f, 2.5f};
    static const float relu6[5] = {-0.0f, 0.0f, 0.0f, 6.0f, 2.5f};
    cz_tensor x = {0};
    tu_check(cz_tensor_alloc(&x, 4, (int[]){1, 1, 5, 7}));
    for (int i = 0; i < 35; i++)
        x.data[i] = i % 6 == 5 ? NAN : in[i % 6];
    for (int p = 0; p < 4; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        for (int six = 0; six < 2; six++) {
            const float *out = six ? relu6 : relu;
            cz_net *net = cz_net_create(1, 5, 7, 1);
            cz_activation(net, CZ_INPUT, NULL, six ? CZ_ACT_RELU6 : CZ_ACT_RELU);
            const cz_tensor *y;
            tu_check(cz_net_forward(net, &x, &y));
            for (int i = 0; i < 35; i++) {
                bool nan_in = i % 6 == 5;
                if (nan_in ? !isnan(y->data[i])
                           : memcmp(&y->data[i], &out[i % 6], sizeof(float)) != 0)
                    fail_msg("relu%s on %s: element %d (%g) gave %g", six ? "6" : "", paths[p],
                             i, (double)x.data[i], (double)y->data[i]);
            }
            cz_net_free(net);
        }
    }
    cz_kernels_force(NULL);
    cz_tensor_free(&x);
}

/* The sigmoid and SiLU across their whole range, 2^16 points on [-100,
 * 100] (past exp's clamps at -87.3 and 88.3), within 1e-6 of the exact
 * values relative to them (1e-30 absolute, for SiLU's tiny tail), on every
 * path; NaN stays NaN. */
static void test_sigmoid_range(void **state)
{
    (void)state;
    enum { N = 1 << 16 };
    cz_tensor x = {0};
    tu_check(cz_tensor_alloc(&x, 4, (int[]){1, 1, 256, 256}));
    for (int i = 0; i < N; i++)
        x.data[i] = -100.0f + 200.0f * (float)i / (N - 1);
    x.data[12345] = NAN;
    double *want = malloc(sizeof(double) * N);
    for (int p = 0; p < 4; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        for (int k = 0; k < 2; k++) {
            cz_act act = k ? CZ_ACT_SILU : CZ_ACT_SIGMOID;
            cz_net *net = cz_net_create(1, 256, 256, 1);
            cz_activation(net, CZ_INPUT, NULL, act);
            const cz_tensor *y;
            tu_check(cz_net_forward(net, &x, &y));
            assert_true(isnan(y->data[12345]));
            y->data[12345] = 0.0f;
            for (int i = 0; i < N; i++)
                want[i] = i == 12345 ? 0.0 : act_ref(act, x.data[i]);
            char what[64];
            snprintf(what, sizeof what, "%s on %s", k ? "silu" : "sigmoid", paths[p]);
            tu_expect_close(y->data, want, N, 1e-30, 1e-6, what);
            cz_net_free(net);
        }
    }
    cz_kernels_force(NULL);
    free(want);
    cz_tensor_free(&x);
}

/* dx at x = -3, 3, 0, 6, -4, 4, 1 for dy = 1, as PyTorch 1.13 gives. */
static void test_activation_kink_gradients(void **state)
{
    (void)state;
    static const float xs[7] = {-3, 3, 0, 6, -4, 4, 1};
    static const struct {
        cz_act act;
        float dx[7];
    } cases[] = {
        {CZ_ACT_HARDSWISH, {-0.5f, 1.5f, 0.5f, 1.0f, 0.0f, 1.0f, 0.8333333730697632f}},
        {CZ_ACT_HARDSIGMOID, {0, 0, 1.0f / 6, 0, 0, 0, 1.0f / 6}},
        {CZ_ACT_RELU, {0, 1, 0, 1, 0, 1, 1}},
        {CZ_ACT_RELU6, {0, 1, 0, 0, 0, 1, 1}},
        {CZ_ACT_SILU, {-0.08810410648584366f, 1.0881041288375854f, 0.5f, 1.0123262405395508f,
                       -0.052664611488580704f, 1.0526646375656128f, 0.9276705384254456f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cz_net *net = cz_net_create(7, 1, 1, 1);
        cz_activation(net, CZ_INPUT, "act", cases[c].act);
        tu_check(cz_net_status(net));
        int shape[4] = {1, 7, 1, 1};
        cz_tensor x = {0}, dy = {0};
        tu_check(cz_tensor_alloc(&x, 4, shape));
        tu_check(cz_tensor_alloc(&dy, 4, shape));
        memcpy(x.data, xs, sizeof xs);
        for (int i = 0; i < 7; i++)
            dy.data[i] = 1.0f;
        cz_net_set_input_grad(net, true);
        tu_check(cz_net_forward(net, &x, NULL));
        tu_check(cz_net_backward(net, &dy));
        tu_expect_close_f(cz_net_input_grad(net)->data, cases[c].dx, 7, 1e-7, 1e-6,
                          "gradient at the kinks");
        cz_tensor_free(&x);
        cz_tensor_free(&dy);
        cz_net_free(net);
    }
}

static void test_activation_errors(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(1, 2, 2, 1);
    assert_int_equal(cz_activation(net, CZ_INPUT, "act", (cz_act)99), -1);
    assert_non_null(strstr(cz_last_error(), "act (activation): unknown activation kind 99"));
    cz_net_free(net);
    net = cz_net_create(1, 2, 2, 1);
    assert_int_equal(cz_relu(net, 5, "relu"), -1);
    assert_int_not_equal(cz_net_status(net), CZ_OK);
    cz_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_forward),
        cmocka_unit_test(test_sigmoid_range),
        cmocka_unit_test(test_relu_edges),
        cmocka_unit_test(test_activation_kink_gradients),
        cmocka_unit_test(test_activation_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
