/*
 * xception.c - Xception (Chollet 2017, "Xception: Deep Learning with
 * Depthwise Separable Convolutions") as timm's legacy_xception builds it
 * (the port of the Keras weights), with timm's keys:
 *
 *   entry flow   conv1 3x3/2 32 -> bn1 -> relu -> conv2 3x3 64 -> bn2 -> relu
 *                -> block1 128 -> block2 256 -> block3 728 (each /2)
 *   middle flow  block4 .. block11: 728, three separable convs, identity
 *   exit flow    block12 728 -> 1024 (/2) -> conv3 sep 1536 -> bn3 -> relu
 *                -> conv4 sep 2048 -> bn4 -> relu -> global avg pool -> fc
 *
 * A separable conv is a depthwise 3x3 (`conv1`, groups = channels) then
 * a pointwise 1x1 (`pointwise`), both without bias and with no BN or ReLU
 * between them. A block `rep` is `reps` x (ReLU, separable conv, BN) as
 * one nn.Sequential (so the keys count the ReLUs: rep.1, rep.2, rep.4...),
 * block1 without its first ReLU, ending in a 3x3/2 max pool (padding 1)
 * when the block strides; its shortcut is the input, or skip (1x1 conv
 * with the block's stride) + skipbn when the shape changes. BN as
 * PyTorch's default (eps 1e-5). No padding in conv1/conv2, so the input
 * must be at least 7x7.
 */
#include <stdio.h>

#include "models.h"
#include "init.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* One block's row of the paper's Fig. 5. */
typedef struct xception_block {
    int in_channels, out_channels, reps, stride;
    bool start_with_relu; /* false only for block1, which follows a ReLU */
    bool grow_first;      /* widen in the first conv (else in the last) */
} xception_block;

static const xception_block blocks[] = {
    {64, 128, 2, 2, false, true},    {128, 256, 2, 2, true, true},
    {256, 728, 2, 2, true, true},    {728, 728, 3, 1, true, true},
    {728, 728, 3, 1, true, true},    {728, 728, 3, 1, true, true},
    {728, 728, 3, 1, true, true},    {728, 728, 3, 1, true, true},
    {728, 728, 3, 1, true, true},    {728, 728, 3, 1, true, true},
    {728, 728, 3, 1, true, true},    {728, 1024, 2, 2, true, false},
};

/* SeparableConv2d `name`: depthwise 3x3 (padding 1) -> pointwise 1x1. */
static int separable_conv(cz_net *net, int x, const char *name, int in_channels,
                          int out_channels)
{
    cz_scope_push(net, "%s", name);
    x = cz_conv2d(net, x, "conv1",
                  (cz_conv_args){.out_channels = in_channels, .kernel = 3, .padding = 1,
                                 .groups = in_channels});
    x = cz_conv2d(net, x, "pointwise", (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    cz_scope_pop(net);
    return x;
}

/* The rep sequence of a block; `index` names the next nn.Sequential child. */
static int block_rep(cz_net *net, int x, const xception_block *b)
{
    char name[12];
    int index = 0;
    cz_scope_push(net, "rep");
    for (int i = 0; i < b->reps; i++) {
        int in = b->grow_first ? (i == 0 ? b->in_channels : b->out_channels) : b->in_channels;
        int out = b->grow_first || i == b->reps - 1 ? b->out_channels : b->in_channels;
        if (i > 0 || b->start_with_relu) {
            snprintf(name, sizeof name, "%d", index++);
            x = cz_relu(net, x, name);
        }
        snprintf(name, sizeof name, "%d", index++);
        x = separable_conv(net, x, name, in, out);
        snprintf(name, sizeof name, "%d", index++);
        x = cz_batchnorm(net, x, name, BN_EPS, BN_MOMENTUM);
    }
    if (b->stride != 1) {
        snprintf(name, sizeof name, "%d", index++);
        x = cz_maxpool(net, x, name,
                       (cz_pool_args){.kernel = 3, .stride = b->stride, .padding = 1});
    }
    cz_scope_pop(net);
    return x;
}

/* rep(x) + shortcut(x) */
static int block(cz_net *net, int x, const xception_block *b)
{
    int shortcut = x;
    if (b->out_channels != b->in_channels || b->stride != 1) {
        shortcut = cz_conv2d(net, x, "skip",
                             (cz_conv_args){.out_channels = b->out_channels, .kernel = 1,
                                            .stride = b->stride});
        shortcut = cz_batchnorm(net, shortcut, "skipbn", BN_EPS, BN_MOMENTUM);
    }
    return cz_add(net, block_rep(net, x, b), shortcut, "add");
}

/* conv -> bn -> ReLU with timm's flat names (convN, bnN, actN). */
static int stem_conv(cz_net *net, int x, int n, int out_channels, int stride)
{
    char conv[8], bn[8], act[8];
    snprintf(conv, sizeof conv, "conv%d", n);
    snprintf(bn, sizeof bn, "bn%d", n);
    snprintf(act, sizeof act, "act%d", n);
    x = cz_conv2d(net, x, conv,
                  (cz_conv_args){.out_channels = out_channels, .kernel = 3, .stride = stride});
    x = cz_batchnorm(net, x, bn, BN_EPS, BN_MOMENTUM);
    return cz_relu(net, x, act);
}

/* separable convN -> bnN -> actN of the exit flow. */
static int exit_conv(cz_net *net, int x, int n, int in_channels, int out_channels)
{
    char conv[8], bn[8], act[8];
    snprintf(conv, sizeof conv, "conv%d", n);
    snprintf(bn, sizeof bn, "bn%d", n);
    snprintf(act, sizeof act, "act%d", n);
    x = separable_conv(net, x, conv, in_channels, out_channels);
    x = cz_batchnorm(net, x, bn, BN_EPS, BN_MOMENTUM);
    return cz_relu(net, x, act);
}

static cz_net *xception(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = stem_conv(net, CZ_INPUT, 1, 32, 2);
    x = stem_conv(net, x, 2, 64, 1);
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        cz_scope_push(net, "block%zu", i + 1);
        x = block(net, x, &blocks[i]);
        cz_scope_pop(net);
    }
    x = exit_conv(net, x, 3, 1024, 1536);
    x = exit_conv(net, x, 4, 1536, 2048);
    x = cz_adaptive_avgpool(net, x, "global_pool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    cz_linear(net, x, "fc", classes, true);
    /* timm's legacy Xception: kaiming_normal_(fan_out) convs; fc keeps
     * PyTorch's default. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT});
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static const cz_model_info models[] = {
    {"xception",
     "Xception (2017): 36 depthwise-separable convs in 14 residual blocks (timm legacy)", 3,
     299, 299, 1000, xception},
};

const cz_family cz_family_xception = CZ_FAMILY(models);
