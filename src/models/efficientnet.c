/*
 * efficientnet.c - EfficientNet B0-B7 (Tan & Le 2019, "EfficientNet:
 * Rethinking Model Scaling for Convolutional Neural Networks"), as
 * torchvision 0.14 builds them:
 *
 *   features.0  3x3/2 conv, BN, SiLU
 *   features.1..7  the seven MBConv stages of the paper's Table 1
 *   features.8  1x1 conv to 4x the last stage's width, BN, SiLU
 *   -> global average pool -> classifier.0 dropout -> classifier.1 linear
 *
 * Each Bn scales B0's table by a width multiplier (channels, rounded by
 * make_divisible to multiples of 8) and a depth multiplier (layers,
 * rounded up). An MBConv (features.S.L.block) is [1x1 expand conv, BN,
 * SiLU,] kxk depthwise conv (stride on a stage's first layer), BN, SiLU,
 * squeeze-and-excitation (avgpool, fc1 1x1 conv to in/4, SiLU, fc2,
 * sigmoid, channel_mul), 1x1 project conv, BN, plus the input when stride
 * 1 and in == out. Keys: features.0.{0,1}, features.S.L.block.K.{0,1} for
 * the convs, features.S.L.block.K.{fc1,fc2} for SE, features.8.{0,1},
 * classifier.1.
 *
 * BN: eps 1e-5, momentum 0.1 for B0-B4; eps 1e-3, momentum 0.01 for B5-B7
 * (torchvision's norm_layer for the TF-ported weights). Dropout as
 * torchvision: 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5. Stochastic depth
 * before each residual add drops a sample's block with probability
 * 0.2 x block / blocks in training (block counted from 0 over the whole
 * net), as torchvision's MBConv does.
 * Default inputs are the paper's resolutions (224, 240, 260, 300, 380, 456,
 * 528, 600); torchvision's B2 weights were evaluated at 288. Any input of
 * at least 1x1 works, as in PyTorch.
 */
#include <math.h>

#include "models.h"
#include "init.h"

enum { STAGES = 7, STEM = 32, HEAD_EXPANSION = 4 };

/* One row of the paper's Table 1 (B0): expansion ratio, kernel, first
 * stride, input and output channels, layers. */
typedef struct mbconv_stage {
    int expand_ratio, kernel, stride, in_channels, out_channels, layers;
} mbconv_stage;

static const mbconv_stage b0_stages[STAGES] = {
    {1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},
    {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3},  {6, 5, 2, 112, 192, 4},
    {6, 3, 1, 192, 320, 1},
};

/* Compound scaling of one model: width and depth multipliers, dropout
 * before the classifier, and its BatchNorm. */
typedef struct efficientnet_config {
    double width_mult, depth_mult;
    float dropout, bn_eps, bn_momentum;
} efficientnet_config;

/* torchvision's _make_divisible(v, 8): the nearest multiple of 8, at least
 * 8, never more than 10% below v. */
static int make_divisible(double v)
{
    enum { DIVISOR = 8 };
    int rounded = (int)(v + DIVISOR / 2.0) / DIVISOR * DIVISOR;
    if (rounded < DIVISOR)
        rounded = DIVISOR;
    if (rounded < 0.9 * v)
        rounded += DIVISOR;
    return rounded;
}

static int scale_width(const efficientnet_config *cfg, int channels)
{
    return make_divisible(channels * cfg->width_mult);
}

static int scale_depth(const efficientnet_config *cfg, int layers)
{
    return (int)ceil(layers * cfg->depth_mult);
}

/* torchvision's Conv2dNormActivation as Sequential item `index`: conv (no
 * bias, padding (k - 1) / 2) `index`.0, BN `index`.1, SiLU if `silu`. */
static int conv_norm_act(cz_net *net, int x, int index, const efficientnet_config *cfg,
                         cz_conv_args conv, bool silu)
{
    cz_scope_push(net, "%d", index);
    conv.padding = (conv.kernel - 1) / 2;
    x = cz_conv2d(net, x, "0", conv);
    x = cz_batchnorm(net, x, "1", cfg->bn_eps, cfg->bn_momentum);
    if (silu)
        x = cz_activation(net, x, "2", CZ_ACT_SILU);
    cz_scope_pop(net);
    return x;
}

/* torchvision's SqueezeExcitation with SiLU inside and a sigmoid gate, as
 * Sequential item `index`. */
static int squeeze_excitation(cz_net *net, int x, int index, int channels, int squeeze)
{
    cz_scope_push(net, "%d", index);
    int s = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    s = cz_conv2d(net, s, "fc1", (cz_conv_args){.out_channels = squeeze, .kernel = 1,
                                                .bias = true});
    s = cz_activation(net, s, "activation", CZ_ACT_SILU);
    s = cz_conv2d(net, s, "fc2", (cz_conv_args){.out_channels = channels, .kernel = 1,
                                                .bias = true});
    s = cz_activation(net, s, "scale_activation", CZ_ACT_SIGMOID);
    x = cz_channel_mul(net, x, s, "scale");
    cz_scope_pop(net);
    return x;
}

/* One MBConv (channels already width-scaled) in the current scope. */
static int mbconv(cz_net *net, int x, const efficientnet_config *cfg, int in_channels,
                  int out_channels, int kernel, int stride, int expand_ratio, float drop_path)
{
    int expanded = make_divisible((double)in_channels * expand_ratio);
    int squeeze = in_channels / 4 > 1 ? in_channels / 4 : 1;
    cz_scope_push(net, "block");
    int item = 0, y = x;
    if (expanded != in_channels)
        y = conv_norm_act(net, y, item++, cfg,
                          (cz_conv_args){.out_channels = expanded, .kernel = 1}, true);
    y = conv_norm_act(net, y, item++, cfg,
                      (cz_conv_args){.out_channels = expanded, .kernel = kernel,
                                     .stride = stride, .groups = expanded},
                      true);
    y = squeeze_excitation(net, y, item++, expanded, squeeze);
    y = conv_norm_act(net, y, item, cfg, (cz_conv_args){.out_channels = out_channels, .kernel = 1},
                      false);
    cz_scope_pop(net);
    if (stride == 1 && in_channels == out_channels) {
        y = cz_stochastic_depth(net, y, "stochastic_depth", drop_path);
        y = cz_add(net, x, y, "add");
    }
    return y;
}

/* torchvision's stochastic_depth_prob for every EfficientNet. */
#define STOCHASTIC_DEPTH 0.2f

static cz_net *efficientnet(const efficientnet_config *cfg, int classes, int channels,
                            int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    cz_scope_push(net, "features");
    int in_channels = scale_width(cfg, STEM);
    int x = conv_norm_act(net, CZ_INPUT, 0, cfg,
                          (cz_conv_args){.out_channels = in_channels, .kernel = 3, .stride = 2},
                          true);
    int blocks = 0, block = 0;
    for (int s = 0; s < STAGES; s++)
        blocks += scale_depth(cfg, b0_stages[s].layers);
    for (int s = 0; s < STAGES; s++) {
        const mbconv_stage *st = &b0_stages[s];
        int out_channels = scale_width(cfg, st->out_channels);
        int layers = scale_depth(cfg, st->layers);
        for (int l = 0; l < layers; l++, block++) {
            cz_scope_push(net, "%d.%d", s + 1, l);
            x = mbconv(net, x, cfg, in_channels, out_channels, st->kernel,
                       l == 0 ? st->stride : 1, st->expand_ratio,
                       STOCHASTIC_DEPTH * (float)block / (float)blocks);
            cz_scope_pop(net);
            in_channels = out_channels;
        }
    }
    x = conv_norm_act(net, x, STAGES + 1, cfg,
                      (cz_conv_args){.out_channels = HEAD_EXPANSION * in_channels, .kernel = 1},
                      true);
    cz_scope_pop(net);
    x = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    x = cz_dropout(net, x, "classifier.0", cfg->dropout);
    cz_linear(net, x, "classifier.1", classes, true);
    /* torchvision's: kaiming_normal_(fan_out) convs, conv biases 0, the
     * classifier U(-1/sqrt(classes), +) with bias 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT,
                                         .conv_bias = CZ_FILL_ZERO,
                                         .linear_weight = CZ_FILL_UNIFORM_OUT,
                                         .linear_bias = CZ_FILL_ZERO});
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

#define EFFICIENTNET(name, width, depth, dropout, eps, momentum)                           \
    static cz_net *name(int classes, int channels, int height, int width_px, uint64_t seed) \
    {                                                                                       \
        static const efficientnet_config cfg = {width, depth, dropout, eps, momentum};      \
        return efficientnet(&cfg, classes, channels, height, width_px, seed);               \
    }

/*           model            width depth dropout BN eps BN momentum */
EFFICIENTNET(efficientnet_b0, 1.0,  1.0,  0.2f,   1e-5f, 0.1f)
EFFICIENTNET(efficientnet_b1, 1.0,  1.1,  0.2f,   1e-5f, 0.1f)
EFFICIENTNET(efficientnet_b2, 1.1,  1.2,  0.3f,   1e-5f, 0.1f)
EFFICIENTNET(efficientnet_b3, 1.2,  1.4,  0.3f,   1e-5f, 0.1f)
EFFICIENTNET(efficientnet_b4, 1.4,  1.8,  0.4f,   1e-5f, 0.1f)
EFFICIENTNET(efficientnet_b5, 1.6,  2.2,  0.4f,   1e-3f, 0.01f)
EFFICIENTNET(efficientnet_b6, 1.8,  2.6,  0.5f,   1e-3f, 0.01f)
EFFICIENTNET(efficientnet_b7, 2.0,  3.1,  0.5f,   1e-3f, 0.01f)

static const cz_model_info models[] = {
    {"efficientnet_b0", "EfficientNet-B0 (2019): MBConv + SE, SiLU; the NAS baseline", 3, 224,
     224, 1000, efficientnet_b0},
    {"efficientnet_b1", "EfficientNet-B1 (2019): B0 x1.0 width, x1.1 depth", 3, 240, 240, 1000,
     efficientnet_b1},
    {"efficientnet_b2", "EfficientNet-B2 (2019): B0 x1.1 width, x1.2 depth", 3, 260, 260, 1000,
     efficientnet_b2},
    {"efficientnet_b3", "EfficientNet-B3 (2019): B0 x1.2 width, x1.4 depth", 3, 300, 300, 1000,
     efficientnet_b3},
    {"efficientnet_b4", "EfficientNet-B4 (2019): B0 x1.4 width, x1.8 depth", 3, 380, 380, 1000,
     efficientnet_b4},
    {"efficientnet_b5", "EfficientNet-B5 (2019): B0 x1.6 width, x2.2 depth", 3, 456, 456, 1000,
     efficientnet_b5},
    {"efficientnet_b6", "EfficientNet-B6 (2019): B0 x1.8 width, x2.6 depth", 3, 528, 528, 1000,
     efficientnet_b6},
    {"efficientnet_b7", "EfficientNet-B7 (2019): B0 x2.0 width, x3.1 depth", 3, 600, 600, 1000,
     efficientnet_b7},
};

const cz_family cz_family_efficientnet = CZ_FAMILY(models);
