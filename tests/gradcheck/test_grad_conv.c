/*
 * test_grad_conv.c - conv2d and linear backward (input, weight and bias
 * gradients) against central differences: plain, strided, padded,
 * dilated, grouped, depthwise, rectangular, pointwise, 1x1 maps; batches
 * smaller and larger than the thread count (per-thread weight-gradient
 * partials); a gradient accumulated over two backward passes.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void check_conv(int N, int C, int H, int W, cz_conv_args args, uint64_t seed)
{
    cz_net *net = cz_net_create(C, H, W, seed);
    cz_conv2d(net, CZ_INPUT, "conv", args);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, C, H, W);
    cz_param *b = cz_net_find_param(net, "conv.bias");
    if (b)
        tu_fill_uniform(&rng, b->value.data, cz_tensor_numel(&b->value), -1.0f, 1.0f);
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_conv2d(void **state)
{
    (void)state;
    check_conv(2, 3, 5, 4,
               (cz_conv_args){.out_channels = 2, .kernel = 3, .padding = 1, .bias = true}, 1);
    check_conv(3, 2, 7, 6, (cz_conv_args){.out_channels = 3, .kernel = 3, .stride = 2}, 2);
    check_conv(1, 2, 7, 7,
               (cz_conv_args){.out_channels = 2, .kernel = 3, .padding = 2, .dilation = 2,
                              .bias = true}, 3);
    check_conv(2, 4, 5, 5,
               (cz_conv_args){.out_channels = 4, .kernel = 3, .padding = 1, .groups = 4,
                              .bias = true}, 4); /* depthwise */
    check_conv(2, 4, 4, 5,
               (cz_conv_args){.out_channels = 6, .kernel = 3, .stride = 2, .padding = 1,
                              .groups = 2}, 5);
    check_conv(1, 3, 6, 7,
               (cz_conv_args){.out_channels = 2, .kernel_h = 1, .kernel_w = 3, .stride_h = 2,
                              .stride_w = 1, .padding_h = 0, .padding_w = 1, .bias = true}, 6);
    check_conv(2, 3, 7, 8, (cz_conv_args){.out_channels = 2, .kernel = 2, .stride = 3}, 7);
    check_conv(3, 5, 2, 3, (cz_conv_args){.out_channels = 4, .kernel = 1, .bias = true}, 8);
    check_conv(2, 4, 4, 4,
               (cz_conv_args){.out_channels = 2, .kernel = 1, .stride = 2, .groups = 2,
                              .bias = true}, 9);
    check_conv(2, 3, 1, 1,
               (cz_conv_args){.out_channels = 2, .kernel = 3, .padding = 1, .bias = true}, 10);
    check_conv(5, 2, 3, 3, (cz_conv_args){.out_channels = 2, .kernel = 2, .bias = true}, 11);
}

/* Training mode puts the samples of maps of one or two pixels side by side
 * in one GEMM (eval mode keeps each a matrix-vector product): its gradients
 * against central differences, and its forward against eval mode's. */
static void test_grad_conv2d_training_small_maps(void **state)
{
    (void)state;
    static const int sizes[][2] = {{1, 1}, {1, 2}};
    for (int i = 0; i < 2; i++) {
        int H = sizes[i][0], W = sizes[i][1];
        cz_net *net = cz_net_create(6, H, W, 20 + i);
        cz_conv2d(net, CZ_INPUT, "conv",
                  (cz_conv_args){.out_channels = 5, .kernel = 3, .padding = 1, .bias = true});
        tu_check(cz_net_status(net));
        cz_rng rng;
        cz_rng_seed(&rng, 30 + i);
        cz_tensor in = {0};
        tu_tensor_random(&in, &rng, 5, 6, H, W);
        const cz_tensor *y;
        tu_check(cz_net_forward(net, &in, &y));
        size_t n = cz_tensor_numel(y);
        float *eval = malloc(sizeof(float) * n);
        assert_non_null(eval);
        memcpy(eval, y->data, sizeof(float) * n);
        cz_net_set_training(net, true);
        tu_check(cz_net_forward(net, &in, &y));
        tu_expect_close_f(y->data, eval, n, 1e-5, 1e-5, "training forward vs eval forward");
        tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = 40 + i});
        free(eval);
        cz_tensor_free(&in);
        cz_net_free(net);
    }
}

/* Weight gradients add up over backward passes until zero_grad. */
static void test_grad_conv2d_accumulates(void **state)
{
    (void)state;
    cz_net *net = cz_net_create(2, 4, 4, 1);
    cz_conv2d(net, CZ_INPUT, "conv", (cz_conv_args){.out_channels = 3, .kernel = 3, .bias = true});
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, 2);
    cz_tensor x = {0}, dy = {0};
    tu_tensor_random(&x, &rng, 2, 2, 4, 4);
    tu_tensor_random(&dy, &rng, 2, 3, 2, 2);
    cz_net_zero_grad(net);
    /* An inference-only forward keeps no backward scratch: backward says so. */
    tu_check(cz_net_forward(net, &x, NULL));
    assert_int_equal(cz_net_backward(net, &dy), CZ_ERR_ARG);
    cz_net_set_training(net, true);
    tu_check(cz_net_forward(net, &x, NULL));
    tu_check(cz_net_backward(net, &dy));
    cz_param *w = cz_net_find_param(net, "conv.weight"), *b = cz_net_find_param(net, "conv.bias");
    size_t nw = cz_tensor_numel(&w->grad);
    float *once = malloc(sizeof(float) * (nw + 3));
    memcpy(once, w->grad.data, sizeof(float) * nw);
    memcpy(once + nw, b->grad.data, sizeof(float) * 3);
    tu_check(cz_net_backward(net, &dy));
    for (size_t i = 0; i < nw + 3; i++)
        once[i] *= 2.0f;
    tu_expect_close_f(w->grad.data, once, nw, 1e-6, 1e-6, "weight grad after two passes");
    tu_expect_close_f(b->grad.data, once + nw, 3, 1e-6, 1e-6, "bias grad after two passes");
    free(once);
    cz_tensor_free(&x);
    cz_tensor_free(&dy);
    cz_net_free(net);
}

static void check_linear(int N, int IN, int OUT, bool bias, uint64_t seed)
{
    cz_net *net = cz_net_create(IN, 1, 1, seed);
    cz_linear(net, cz_flatten(net, CZ_INPUT, NULL), "fc", OUT, bias);
    tu_check(cz_net_status(net));
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor in = {0};
    tu_tensor_random(&in, &rng, N, IN, 1, 1);
    tu_gradcheck(net, &in, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&in);
    cz_net_free(net);
}

static void test_grad_linear(void **state)
{
    (void)state;
    check_linear(3, 6, 4, true, 21);
    check_linear(1, 5, 3, false, 22);
    check_linear(5, 3, 1, true, 23);
    check_linear(2, 1, 5, true, 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_conv2d),
        cmocka_unit_test(test_grad_conv2d_training_small_maps),
        cmocka_unit_test(test_grad_conv2d_accumulates),
        cmocka_unit_test(test_grad_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
