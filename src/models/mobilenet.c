/*
 * mobilenet.c - MobileNet v1 (Howard et al. 2017), v2 (Sandler et al.
 * 2018) and v3 (Howard et al. 2019).
 *
 * mobilenet_v1 (1.0, 224) is not in torchvision; it is timm's
 * mobilenetv1_100 (efficientnet.py's _gen_mobilenet_v1), so timm's
 * checkpoints load: a 3x3/2 stem of 32, then the paper's 13 depthwise
 * separable layers, each depthwise 3x3 - BN - ReLU6 - pointwise 1x1 - BN -
 * ReLU6 and none with a shortcut, in five stages of 1, 2, 2, 6, 2 (64, 128,
 * 256, 512, 1024 channels, the first of stages 2-5 with stride 2), global
 * average pool, classifier. ReLU6 is timm's (and TF-slim's) choice where
 * the paper writes ReLU. Keys: conv_stem, bn1, blocks.S.B.{conv_dw, bn1,
 * conv_pw, bn2}, classifier; 4,231,976 parameters. BN eps 1e-5, momentum
 * 0.1; timm sets no classifier dropout.
 *
 * mobilenet_v2 and mobilenet_v3_large/_small are torchvision 0.14's. Every
 * conv-BN-activation is its Conv2dNormActivation (keys .0 conv, .1 BN,
 * padding (k - 1) / 2, no bias).
 *   v2: features.0 stem 3x3/2 of 32, features.1..17 inverted residuals
 *   (Table 2 of the paper: t, c, n, s), features.18 1x1 to 1280, ReLU6
 *   throughout, BN eps 1e-5 momentum 0.1, classifier = dropout 0.2 and
 *   linear (classifier.1). A block's .conv holds [expand 1x1,] depthwise
 *   3x3, project 1x1 and its BN; a shortcut when stride 1 and in == out.
 *   v3: features.0 stem 3x3/2 of 16 (hardswish), the bneck rows of
 *   Tables 1 and 2, a 1x1 conv to 6x the last width (hardswish), global
 *   pool, classifier.0 linear - hardswish - dropout 0.2 - classifier.3
 *   linear. A block's .block holds [expand,] depthwise, [SE,] project; SE
 *   is avgpool - fc1 (1x1 conv) - ReLU - fc2 - hardsigmoid - channel_mul
 *   with make_divisible(expanded / 4, 8) squeeze channels. BN eps 1e-3,
 *   momentum 0.01.
 * All accept any input of at least 1x1, as PyTorch's do.
 */
#include <stdio.h>

#include "models.h"
#include "init.h"

/* ------------------------------------------------------------- shared */

typedef struct bn_config {
    float eps, momentum;
} bn_config;

static const bn_config bn_default = {1e-5f, 0.1f}, bn_v3 = {1e-3f, 0.01f};

/* torchvision's Conv2dNormActivation as item `index` of the current
 * Sequential: conv (no bias, padding (k - 1) / 2) `index`.0, BN `index`.1,
 * and the activation unless `act` is negative. */
static int conv_norm_act(cz_net *net, int x, int index, int out_channels, int kernel,
                         int stride, int groups, bn_config bn, int act)
{
    cz_scope_push(net, "%d", index);
    x = cz_conv2d(net, x, "0",
                  (cz_conv_args){.out_channels = out_channels, .kernel = kernel,
                                 .stride = stride, .padding = (kernel - 1) / 2,
                                 .groups = groups});
    x = cz_batchnorm(net, x, "1", bn.eps, bn.momentum);
    if (act >= 0)
        x = cz_activation(net, x, "2", (cz_act)act);
    cz_scope_pop(net);
    return x;
}

/* torchvision's _make_divisible (from TF's MobileNet): the nearest
 * multiple of `divisor`, at least `divisor`, never more than 10% below v. */
static int make_divisible(double v, int divisor)
{
    int rounded = (int)(v + divisor / 2.0) / divisor * divisor;
    if (rounded < divisor)
        rounded = divisor;
    if (rounded < 0.9 * v)
        rounded += divisor;
    return rounded;
}

/* Global average pool, flatten: (C, H, W) -> C features. */
static int global_pool(cz_net *net, int x)
{
    x = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    return cz_flatten(net, x, "flatten");
}

static cz_net *finish(cz_net *net)
{
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

/* torchvision's MobileNetV2 and V3: kaiming_normal_(fan_out) convs, linear
 * N(0, 0.01^2), biases 0. */
static const cz_init_scheme torchvision_init = {.conv_weight = CZ_FILL_KAIMING_OUT,
                                                .conv_bias = CZ_FILL_ZERO,
                                                .linear_weight = CZ_FILL_NORMAL,
                                                .linear_bias = CZ_FILL_ZERO,
                                                .std = 0.01f};

/* ------------------------------------------------------------- v1 */

/* Table 1 of the paper as timm groups it: layers and output channels per
 * stage; a stage's first depthwise conv has the stride. */
static const struct {
    int layers, out_channels, stride;
} v1_stages[] = {{1, 64, 1}, {2, 128, 2}, {2, 256, 2}, {6, 512, 2}, {2, 1024, 2}};

/* conv - BN - ReLU6 with timm's names for the conv and the BN. */
static int conv_bn_relu6(cz_net *net, int x, const char *conv, const char *bn,
                         cz_conv_args args)
{
    x = cz_conv2d(net, x, conv, args);
    x = cz_batchnorm(net, x, bn, bn_default.eps, bn_default.momentum);
    return cz_activation(net, x, "relu6", CZ_ACT_RELU6);
}

/* timm's DepthwiseSeparableConv with pw_act ("dsa"): no shortcut. */
static int depthwise_separable(cz_net *net, int x, int in_channels, int out_channels, int stride)
{
    x = conv_bn_relu6(net, x, "conv_dw", "bn1",
                      (cz_conv_args){.out_channels = in_channels, .kernel = 3, .stride = stride,
                                     .padding = 1, .groups = in_channels});
    return conv_bn_relu6(net, x, "conv_pw", "bn2",
                         (cz_conv_args){.out_channels = out_channels, .kernel = 1});
}

static cz_net *mobilenet_v1(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int in_channels = 32;
    int x = conv_bn_relu6(net, CZ_INPUT, "conv_stem", "bn1",
                          (cz_conv_args){.out_channels = in_channels, .kernel = 3, .stride = 2,
                                         .padding = 1});
    for (int s = 0; s < (int)(sizeof v1_stages / sizeof v1_stages[0]); s++)
        for (int b = 0; b < v1_stages[s].layers; b++) {
            cz_scope_push(net, "blocks.%d.%d", s, b);
            x = depthwise_separable(net, x, in_channels, v1_stages[s].out_channels,
                                    b == 0 ? v1_stages[s].stride : 1);
            cz_scope_pop(net);
            in_channels = v1_stages[s].out_channels;
        }
    x = global_pool(net, x);
    cz_linear(net, x, "classifier", classes, true);
    /* timm's _init_weight_goog (TensorFlow's): convs N(0, 2 / (fan_out /
     * groups)), the classifier U(-1/sqrt(classes), +), biases 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT_GROUPS,
                                         .conv_bias = CZ_FILL_ZERO,
                                         .linear_weight = CZ_FILL_UNIFORM_OUT,
                                         .linear_bias = CZ_FILL_ZERO});
    return finish(net);
}

/* ------------------------------------------------------------- v2 */

/* Table 2 of the paper: expansion t, output channels c, repeats n, first
 * stride s. */
static const struct {
    int t, c, n, s;
} v2_setting[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                  {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};

/* torchvision's mobilenetv2.InvertedResidual, as features.<index>. */
static int inverted_residual_v2(cz_net *net, int x, int index, int in_channels,
                                int out_channels, int stride, int expand_ratio)
{
    int hidden = in_channels * expand_ratio;
    cz_scope_push(net, "features.%d", index);
    cz_scope_push(net, "conv");
    int item = 0, y = x;
    if (expand_ratio != 1)
        y = conv_norm_act(net, y, item++, hidden, 1, 1, 1, bn_default, CZ_ACT_RELU6);
    y = conv_norm_act(net, y, item++, hidden, 3, stride, hidden, bn_default, CZ_ACT_RELU6);
    char name[16];
    snprintf(name, sizeof name, "%d", item++);
    y = cz_conv2d(net, y, name, (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    snprintf(name, sizeof name, "%d", item);
    y = cz_batchnorm(net, y, name, bn_default.eps, bn_default.momentum);
    cz_scope_pop(net);
    if (stride == 1 && in_channels == out_channels)
        y = cz_add(net, x, y, "add");
    cz_scope_pop(net);
    return y;
}

static cz_net *mobilenet_v2(int classes, int channels, int height, int width, uint64_t seed)
{
    enum { STEM = 32, LAST = 1280 };
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    cz_scope_push(net, "features");
    int x = conv_norm_act(net, CZ_INPUT, 0, STEM, 3, 2, 1, bn_default, CZ_ACT_RELU6);
    cz_scope_pop(net);
    int index = 1, in_channels = STEM;
    for (int r = 0; r < (int)(sizeof v2_setting / sizeof v2_setting[0]); r++)
        for (int i = 0; i < v2_setting[r].n; i++) {
            x = inverted_residual_v2(net, x, index++, in_channels, v2_setting[r].c,
                                     i == 0 ? v2_setting[r].s : 1, v2_setting[r].t);
            in_channels = v2_setting[r].c;
        }
    cz_scope_push(net, "features");
    x = conv_norm_act(net, x, index, LAST, 1, 1, 1, bn_default, CZ_ACT_RELU6);
    cz_scope_pop(net);
    x = global_pool(net, x);
    x = cz_dropout(net, x, "classifier.0", 0.2f);
    cz_linear(net, x, "classifier.1", classes, true);
    cz_init_apply(net, &torchvision_init);
    return finish(net);
}

/* ------------------------------------------------------------- v3 */

/* One bneck row of Tables 1 and 2: input, kernel, expanded and output
 * channels, squeeze-and-excite, hardswish (else ReLU), stride. */
typedef struct bneck_config {
    int in_channels, kernel, expanded, out_channels;
    bool se, hardswish;
    int stride;
} bneck_config;

static const bneck_config v3_large[] = {
    {16, 3, 16, 16, false, false, 1},    {16, 3, 64, 24, false, false, 2},
    {24, 3, 72, 24, false, false, 1},    {24, 5, 72, 40, true, false, 2},
    {40, 5, 120, 40, true, false, 1},    {40, 5, 120, 40, true, false, 1},
    {40, 3, 240, 80, false, true, 2},    {80, 3, 200, 80, false, true, 1},
    {80, 3, 184, 80, false, true, 1},    {80, 3, 184, 80, false, true, 1},
    {80, 3, 480, 112, true, true, 1},    {112, 3, 672, 112, true, true, 1},
    {112, 5, 672, 160, true, true, 2},   {160, 5, 960, 160, true, true, 1},
    {160, 5, 960, 160, true, true, 1},
};

static const bneck_config v3_small[] = {
    {16, 3, 16, 16, true, false, 2},     {16, 3, 72, 24, false, false, 2},
    {24, 3, 88, 24, false, false, 1},    {24, 5, 96, 40, true, true, 2},
    {40, 5, 240, 40, true, true, 1},     {40, 5, 240, 40, true, true, 1},
    {40, 5, 120, 48, true, true, 1},     {48, 5, 144, 48, true, true, 1},
    {48, 5, 288, 96, true, true, 2},     {96, 5, 576, 96, true, true, 1},
    {96, 5, 576, 96, true, true, 1},
};

/* torchvision's SqueezeExcitation with a hardsigmoid gate, as item
 * `index`: x times hardsigmoid(fc2(relu(fc1(avgpool(x))))). */
static int squeeze_excitation_v3(cz_net *net, int x, int index, int channels)
{
    cz_scope_push(net, "%d", index);
    int s = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    s = cz_conv2d(net, s, "fc1",
                  (cz_conv_args){.out_channels = make_divisible(channels / 4, 8), .kernel = 1,
                                 .bias = true});
    s = cz_relu(net, s, "activation");
    s = cz_conv2d(net, s, "fc2", (cz_conv_args){.out_channels = channels, .kernel = 1,
                                                .bias = true});
    s = cz_activation(net, s, "scale_activation", CZ_ACT_HARDSIGMOID);
    x = cz_channel_mul(net, x, s, "scale");
    cz_scope_pop(net);
    return x;
}

/* torchvision's mobilenetv3.InvertedResidual, as features.<index>. */
static int inverted_residual_v3(cz_net *net, int x, int index, const bneck_config *c)
{
    int act = c->hardswish ? CZ_ACT_HARDSWISH : CZ_ACT_RELU;
    cz_scope_push(net, "features.%d", index);
    cz_scope_push(net, "block");
    int item = 0, y = x;
    if (c->expanded != c->in_channels)
        y = conv_norm_act(net, y, item++, c->expanded, 1, 1, 1, bn_v3, act);
    y = conv_norm_act(net, y, item++, c->expanded, c->kernel, c->stride, c->expanded, bn_v3,
                      act);
    if (c->se)
        y = squeeze_excitation_v3(net, y, item++, c->expanded);
    y = conv_norm_act(net, y, item, c->out_channels, 1, 1, 1, bn_v3, -1);
    cz_scope_pop(net);
    if (c->stride == 1 && c->in_channels == c->out_channels)
        y = cz_add(net, x, y, "add");
    cz_scope_pop(net);
    return y;
}

static cz_net *mobilenet_v3(const bneck_config *rows, int n_rows, int last_channel,
                            int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    cz_scope_push(net, "features");
    int x = conv_norm_act(net, CZ_INPUT, 0, rows[0].in_channels, 3, 2, 1, bn_v3,
                          CZ_ACT_HARDSWISH);
    cz_scope_pop(net);
    for (int i = 0; i < n_rows; i++)
        x = inverted_residual_v3(net, x, i + 1, &rows[i]);
    cz_scope_push(net, "features");
    x = conv_norm_act(net, x, n_rows + 1, 6 * rows[n_rows - 1].out_channels, 1, 1, 1, bn_v3,
                      CZ_ACT_HARDSWISH);
    cz_scope_pop(net);
    x = global_pool(net, x);
    cz_scope_push(net, "classifier");
    x = cz_linear(net, x, "0", last_channel, true);
    x = cz_activation(net, x, "1", CZ_ACT_HARDSWISH);
    x = cz_dropout(net, x, "2", 0.2f);
    cz_linear(net, x, "3", classes, true);
    cz_scope_pop(net);
    cz_init_apply(net, &torchvision_init);
    return finish(net);
}

static cz_net *mobilenet_v3_large(int classes, int channels, int height, int width,
                                  uint64_t seed)
{
    return mobilenet_v3(v3_large, (int)(sizeof v3_large / sizeof v3_large[0]), 1280, classes,
                        channels, height, width, seed);
}

static cz_net *mobilenet_v3_small(int classes, int channels, int height, int width,
                                  uint64_t seed)
{
    return mobilenet_v3(v3_small, (int)(sizeof v3_small / sizeof v3_small[0]), 1024, classes,
                        channels, height, width, seed);
}

static const cz_model_info models[] = {
    {"mobilenet_v1", "MobileNet v1 1.0 (2017): 13 depthwise separable convs (timm's keys)", 3,
     224, 224, 1000, mobilenet_v1},
    {"mobilenet_v2", "MobileNet v2 (2018): inverted residuals with linear bottlenecks", 3, 224,
     224, 1000, mobilenet_v2},
    {"mobilenet_v3_large", "MobileNet v3 large (2019): NAS bnecks, SE, hardswish", 3, 224, 224,
     1000, mobilenet_v3_large},
    {"mobilenet_v3_small", "MobileNet v3 small (2019): NAS bnecks, SE, hardswish", 3, 224, 224,
     1000, mobilenet_v3_small},
};

const cz_family cz_family_mobilenet = CZ_FAMILY(models);
