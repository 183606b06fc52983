/*
 * shufflenet.c - ShuffleNet v1 (Zhang et al. 2017) and v2 (Ma et al. 2018).
 *
 * shufflenet_v2_x0_5 ... _x2_0 are torchvision 0.14's ShuffleNetV2:
 *
 *   conv1 3x3/2 (BN, ReLU) -> maxpool 3x3/2 -> stage2 -> stage3 -> stage4
 *   -> conv5 1x1 (BN, ReLU) -> global average pool -> fc
 *
 * with 4, 8, 4 units per stage. A stage's first unit (stride 2) runs two
 * branches on the whole input: branch1 = depthwise 3x3/2 - BN - 1x1 - BN -
 * ReLU, branch2 = 1x1 - BN - ReLU - depthwise 3x3 - BN - 1x1 - BN - ReLU.
 * The other units split the channels in two halves (torch.chunk), keep
 * the first and run branch2 on the second. Both concatenate and shuffle
 * with 2 groups. Keys: conv1.{0,1}, stageS.U.branch1.{0,1,2,3},
 * stageS.U.branch2.{0,1,3,4,5,6}, conv5.{0,1}, fc.
 *
 * shufflenet_v1 is the paper's 1x network with g = 3 groups (Table 1:
 * 24-240-480-960 channels, 4-8-4 units; 1,865,728 parameters). torchvision
 * and timm lack it, so the layout is our own (tools/zoo/shufflenet.py is
 * its PyTorch definition): torchvision's v2 skeleton with the v1 unit of
 * the paper's Figure 2, each conv a (conv, BN) pair named after the
 * figure:
 *
 *   gconv1  1x1 group conv to out/4 channels, BN, ReLU, channel shuffle
 *   dwconv  3x3 depthwise conv (stride 2 in a stage's first unit), BN
 *   gconv2  1x1 group conv back to out channels, BN
 *   then ReLU(x + residual), or in a stage's first unit
 *   ReLU(concat(avgpool3x3/2(x), residual)) with residual out - in wide
 *
 * Keys: conv1.{0,1}, stageS.U.{gconv1,dwconv,gconv2}.{0,1}, fc. The first
 * gconv1 of stage2 is not grouped (24 input channels are too few, Sec.
 * 4.1). The shuffle is the paper's (view channels as (g, n), transpose),
 * the same as torchvision's channel_shuffle. Megvii's official code
 * (ShuffleNet-Series) differs in keys, in the shuffle order (it views
 * (n, g)) and has no classifier bias, so its checkpoints do not load here.
 *
 * BN everywhere is PyTorch's default (eps 1e-5, momentum 0.1); convs have
 * no bias. Global pooling is a mean over any spatial size.
 */
#include <stdio.h>

#include "models.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

enum { STAGES = 3, SHUFFLE_V2_GROUPS = 2 };

/* Table 1 of each paper: units per stage and output channels of conv1,
 * stage2..4 (and conv5 in v2). */
typedef struct shufflenet_config {
    int stage_repeats[STAGES];
    int stage_out_channels[STAGES + 2];
    int groups; /* v1 only */
} shufflenet_config;

/* Conv then BN, as an nn.Sequential's items `conv_index` and
 * `conv_index + 1` in the current scope. */
static int conv_bn(cz_net *net, int x, int conv_index, cz_conv_args conv)
{
    char conv_name[16], bn_name[16];
    snprintf(conv_name, sizeof conv_name, "%d", conv_index);
    snprintf(bn_name, sizeof bn_name, "%d", conv_index + 1);
    x = cz_conv2d(net, x, conv_name, conv);
    return cz_batchnorm(net, x, bn_name, BN_EPS, BN_MOMENTUM);
}

static cz_conv_args pointwise(int out_channels, int groups)
{
    return (cz_conv_args){.out_channels = out_channels, .kernel = 1, .groups = groups};
}

static cz_conv_args depthwise3x3(int channels, int stride)
{
    return (cz_conv_args){.out_channels = channels, .kernel = 3, .stride = stride,
                          .padding = 1, .groups = channels};
}

/* conv1 (3x3/2 conv, BN, ReLU) and the 3x3/2 max pool both versions share. */
static int stem(cz_net *net, int out_channels)
{
    cz_scope_push(net, "conv1");
    int x = conv_bn(net, CZ_INPUT, 0,
                    (cz_conv_args){.out_channels = out_channels, .kernel = 3, .stride = 2,
                                   .padding = 1});
    x = cz_relu(net, x, "2");
    cz_scope_pop(net);
    return cz_maxpool(net, x, "maxpool", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
}

/* Global average pool and the classifier `fc`. */
static int head(cz_net *net, int x, int classes)
{
    x = cz_adaptive_avgpool(net, x, "globalpool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    return cz_linear(net, x, "fc", classes, true);
}

static cz_net *finish(cz_net *net)
{
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

/* ------------------------------------------------------------- v1 */

/* The unit of Figure 2 (b) (stride 1, in == out) or (c) (stride 2,
 * concatenating the pooled input). `grouped_first` is false only for
 * stage2's first unit. */
static int shuffle_unit_v1(cz_net *net, int x, int in_channels, int out_channels, int stride,
                           int groups, bool grouped_first)
{
    int bottleneck = out_channels / 4;
    int residual_channels = stride == 2 ? out_channels - in_channels : out_channels;

    cz_scope_push(net, "gconv1");
    int r = conv_bn(net, x, 0, pointwise(bottleneck, grouped_first ? groups : 1));
    r = cz_relu(net, r, "2");
    cz_scope_pop(net);
    r = cz_channel_shuffle(net, r, "shuffle", groups);
    cz_scope_push(net, "dwconv");
    r = conv_bn(net, r, 0, depthwise3x3(bottleneck, stride));
    cz_scope_pop(net);
    cz_scope_push(net, "gconv2");
    r = conv_bn(net, r, 0, pointwise(residual_channels, groups));
    cz_scope_pop(net);

    int out;
    if (stride == 1) {
        out = cz_add(net, x, r, "add");
    } else {
        int shortcut = cz_avgpool(net, x, "avgpool",
                                  (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1,
                                                 .count_include_pad = true});
        out = cz_concat(net, (int[]){shortcut, r}, 2, "concat");
    }
    return cz_relu(net, out, "relu");
}

static cz_net *shufflenet_v1(const shufflenet_config *cfg, int classes, int channels,
                             int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = stem(net, cfg->stage_out_channels[0]);
    int in_channels = cfg->stage_out_channels[0];
    for (int s = 0; s < STAGES; s++) {
        int out_channels = cfg->stage_out_channels[s + 1];
        for (int u = 0; u < cfg->stage_repeats[s]; u++) {
            cz_scope_push(net, "stage%d", s + 2);
            cz_scope_push(net, "%d", u);
            x = shuffle_unit_v1(net, x, in_channels, out_channels, u == 0 ? 2 : 1,
                                cfg->groups, s > 0 || u > 0);
            cz_scope_pop(net);
            cz_scope_pop(net);
            in_channels = out_channels;
        }
    }
    head(net, x, classes);
    return finish(net);
}

static cz_net *shufflenet_v1_g3(int classes, int channels, int height, int width,
                                uint64_t seed)
{
    static const shufflenet_config cfg = {{4, 8, 4}, {24, 240, 480, 960}, 3};
    return shufflenet_v1(&cfg, classes, channels, height, width, seed);
}

/* ------------------------------------------------------------- v2 */

/* torchvision's branch1: depthwise 3x3/2 - BN - 1x1 - BN - ReLU on the
 * whole input of a stride-2 unit. */
static int branch1(cz_net *net, int x, int in_channels, int branch_channels)
{
    cz_scope_push(net, "branch1");
    x = conv_bn(net, x, 0, depthwise3x3(in_channels, 2));
    x = conv_bn(net, x, 2, pointwise(branch_channels, 1));
    x = cz_relu(net, x, "4");
    cz_scope_pop(net);
    return x;
}

/* torchvision's branch2: 1x1 - BN - ReLU - depthwise 3x3 - BN - 1x1 - BN -
 * ReLU. */
static int branch2(cz_net *net, int x, int branch_channels, int stride)
{
    cz_scope_push(net, "branch2");
    x = conv_bn(net, x, 0, pointwise(branch_channels, 1));
    x = cz_relu(net, x, "2");
    x = conv_bn(net, x, 3, depthwise3x3(branch_channels, stride));
    x = conv_bn(net, x, 5, pointwise(branch_channels, 1));
    x = cz_relu(net, x, "7");
    cz_scope_pop(net);
    return x;
}

/* torchvision's InvertedResidual: the two branches concatenated, then a
 * channel shuffle with 2 groups. */
static int inverted_residual(cz_net *net, int x, int in_channels, int out_channels, int stride)
{
    int branch_channels = out_channels / 2;
    int halves[2];
    if (stride == 1) {
        halves[0] = cz_slice(net, x, "chunk0", 0, branch_channels);
        int second = cz_slice(net, x, "chunk1", branch_channels, in_channels);
        halves[1] = branch2(net, second, branch_channels, 1);
    } else {
        halves[0] = branch1(net, x, in_channels, branch_channels);
        halves[1] = branch2(net, x, branch_channels, stride);
    }
    x = cz_concat(net, halves, 2, "concat");
    return cz_channel_shuffle(net, x, "shuffle", SHUFFLE_V2_GROUPS);
}

static cz_net *shufflenet_v2(const shufflenet_config *cfg, int classes, int channels,
                             int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = stem(net, cfg->stage_out_channels[0]);
    int in_channels = cfg->stage_out_channels[0];
    for (int s = 0; s < STAGES; s++) {
        int out_channels = cfg->stage_out_channels[s + 1];
        for (int u = 0; u < cfg->stage_repeats[s]; u++) {
            cz_scope_push(net, "stage%d", s + 2);
            cz_scope_push(net, "%d", u);
            x = inverted_residual(net, x, in_channels, out_channels, u == 0 ? 2 : 1);
            cz_scope_pop(net);
            cz_scope_pop(net);
            in_channels = out_channels;
        }
    }
    cz_scope_push(net, "conv5");
    x = conv_bn(net, x, 0, pointwise(cfg->stage_out_channels[STAGES + 1], 1));
    x = cz_relu(net, x, "2");
    cz_scope_pop(net);
    head(net, x, classes);
    return finish(net);
}

#define SHUFFLENET_V2(name, c1, c2, c3, c4, c5)                                            \
    static cz_net *name(int classes, int channels, int height, int width, uint64_t seed) \
    {                                                                                    \
        static const shufflenet_config cfg = {{4, 8, 4}, {c1, c2, c3, c4, c5}, 0};       \
        return shufflenet_v2(&cfg, classes, channels, height, width, seed);              \
    }

/*            model               conv1 stage2 stage3 stage4 conv5 */
SHUFFLENET_V2(shufflenet_v2_x0_5, 24,   48,    96,    192,   1024)
SHUFFLENET_V2(shufflenet_v2_x1_0, 24,   116,   232,   464,   1024)
SHUFFLENET_V2(shufflenet_v2_x1_5, 24,   176,   352,   704,   1024)
SHUFFLENET_V2(shufflenet_v2_x2_0, 24,   244,   488,   976,   2048)

static const cz_model_info models[] = {
    {"shufflenet_v1", "ShuffleNet v1 1x, g=3 (2017): group 1x1 convs, channel shuffle", 3, 224,
     224, 1000, shufflenet_v1_g3},
    {"shufflenet_v2_x0_5", "ShuffleNet v2 0.5x (2018): channel split, 48-96-192 channels", 3,
     224, 224, 1000, shufflenet_v2_x0_5},
    {"shufflenet_v2_x1_0", "ShuffleNet v2 1.0x (2018): channel split, 116-232-464 channels", 3,
     224, 224, 1000, shufflenet_v2_x1_0},
    {"shufflenet_v2_x1_5", "ShuffleNet v2 1.5x (2018): channel split, 176-352-704 channels", 3,
     224, 224, 1000, shufflenet_v2_x1_5},
    {"shufflenet_v2_x2_0", "ShuffleNet v2 2.0x (2018): channel split, 244-488-976 channels", 3,
     224, 224, 1000, shufflenet_v2_x2_0},
};

const cz_family cz_family_shufflenet = CZ_FAMILY(models);
