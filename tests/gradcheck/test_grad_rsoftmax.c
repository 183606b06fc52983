/*
 * test_grad_rsoftmax.c - backward of the radix softmax against central
 * differences: alone (features and (C, 1, 1), radix 1's sigmoid, groups
 * that reorder channels), and inside a split-attention block as ResNeSt
 * wires it (conv -> gap of the radix sum -> rsoftmax -> weight the splits
 * -> sum them), where the conv output reaches the loss by two paths.
 */
#include "testutil.h"

static void run(cz_net *net, int N, uint64_t seed)
{
    tu_check(cz_net_status(net));
    int shape[3];
    cz_net_node_shape(net, CZ_INPUT, shape);
    cz_rng rng;
    cz_rng_seed(&rng, seed);
    cz_tensor x = {0};
    tu_tensor_random(&x, &rng, N, shape[0], shape[1], shape[2]);
    tu_gradcheck(net, &x, (tu_gradcheck_opts){.seed = seed});
    cz_tensor_free(&x);
    cz_net_free(net);
}

static void test_grad_rsoftmax_alone(void **state)
{
    (void)state;
    static const int cases[][3] = {{12, 2, 1}, {12, 2, 3}, {12, 3, 2}, {6, 1, 2}};
    for (int i = 0; i < 4; i++) {
        cz_net *net = cz_net_create(cases[i][0], 1, 1, 1);
        cz_rsoftmax(net, CZ_INPUT, "rsoftmax", cases[i][1], cases[i][2]);
        run(net, 2, (uint64_t)i + 1);
        net = cz_net_create(cases[i][0], 1, 1, 1);
        cz_rsoftmax(net, cz_flatten(net, CZ_INPUT, NULL), "rsoftmax", cases[i][1], cases[i][2]);
        run(net, 3, (uint64_t)i + 11);
    }
}

/* timm's SplitAttn with radix 2, one group, 3 channels, no norm. */
static void test_grad_split_attention(void **state)
{
    (void)state;
    const int radix = 2, channels = 3;
    cz_net *net = cz_net_create(2, 4, 3, 7);
    int x = cz_conv2d(net, CZ_INPUT, "conv",
                      (cz_conv_args){.out_channels = radix * channels, .kernel = 3, .padding = 1,
                                     .groups = 2});
    int gap = cz_adaptive_avgpool(net, cz_split_sum(net, x, "sum", radix), "gap", 1, 1);
    int fc2 = cz_conv2d(net, gap, "fc2",
                        (cz_conv_args){.out_channels = radix * channels, .kernel = 1, .bias = true});
    int attn = cz_rsoftmax(net, fc2, "rsoftmax", radix, 1);
    cz_split_sum(net, cz_channel_mul(net, x, attn, "weigh"), "out", radix);
    run(net, 2, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_rsoftmax_alone),
        cmocka_unit_test(test_grad_split_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
