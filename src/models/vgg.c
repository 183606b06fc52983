/*
 * vgg.c - VGG (Simonyan & Zisserman 2014) as torchvision builds it: stacks
 * of 3x3 convolutions (padding 1, ReLU, optionally BatchNorm between conv
 * and ReLU) separated by 2x2/2 max pools, an adaptive 7x7 average pool and
 * three fully connected layers.
 *
 *   configuration (paper Table 1)   convolutions per stage (64-128-256-512-512)
 *   A  vgg11                        1 1 2 2 2
 *   B  vgg13                        2 2 2 2 2
 *   D  vgg16                        2 2 3 3 3
 *   E  vgg19                        2 2 4 4 4
 *
 * Names are torchvision's nn.Sequential indices: `features.N` counts every
 * module (conv, [bn,] ReLU, pool), `classifier` is fc 4096, ReLU, dropout
 * 0.5, fc 4096, ReLU, dropout 0.5, fc classes (classifier.0, .3, .6).
 * BatchNorm as PyTorch's default: eps 1e-5, momentum 0.1. Five pools halve
 * the input five times, so it must be at least 32x32; the adaptive pool
 * then lets any such size reach the 25088-feature classifier.
 */
#include <stdio.h>

#include "models.h"
#include "init.h"

enum { STAGES = 5 };

static const int stage_channels[STAGES] = {64, 128, 256, 512, 512};

/* Convolutions per stage of each configuration. */
static const int config_a[STAGES] = {1, 1, 2, 2, 2};
static const int config_b[STAGES] = {2, 2, 2, 2, 2};
static const int config_d[STAGES] = {2, 2, 3, 3, 3};
static const int config_e[STAGES] = {2, 2, 4, 4, 4};

/* Names the next child of an nn.Sequential: "0", "1", ... */
static const char *next_index(char name[12], int *index)
{
    snprintf(name, 12, "%d", (*index)++);
    return name;
}

/* x (3, H, W) -> (512, H/32, W/32) */
static int features(cz_net *net, int x, const int *convs, bool batch_norm)
{
    char name[12];
    int index = 0;
    cz_scope_push(net, "features");
    for (int s = 0; s < STAGES; s++) {
        for (int i = 0; i < convs[s]; i++) {
            x = cz_conv2d(net, x, next_index(name, &index),
                          (cz_conv_args){.out_channels = stage_channels[s], .kernel = 3,
                                         .padding = 1, .bias = true});
            if (batch_norm)
                x = cz_batchnorm(net, x, next_index(name, &index), 1e-5f, 0.1f);
            x = cz_relu(net, x, next_index(name, &index));
        }
        x = cz_maxpool(net, x, next_index(name, &index), (cz_pool_args){.kernel = 2, .stride = 2});
    }
    cz_scope_pop(net);
    return x;
}

/* (512, 7, 7) -> classes */
static int classifier(cz_net *net, int x, int classes)
{
    x = cz_flatten(net, x, "flatten");
    cz_scope_push(net, "classifier");
    x = cz_linear(net, x, "0", 4096, true);
    x = cz_relu(net, x, "1");
    x = cz_dropout(net, x, "2", 0.5f);
    x = cz_linear(net, x, "3", 4096, true);
    x = cz_relu(net, x, "4");
    x = cz_dropout(net, x, "5", 0.5f);
    x = cz_linear(net, x, "6", classes, true);
    cz_scope_pop(net);
    return x;
}

static cz_net *build(const int *convs, bool batch_norm, int classes, int channels, int height,
                     int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = features(net, CZ_INPUT, convs, batch_norm);
    x = cz_adaptive_avgpool(net, x, "avgpool", 7, 7);
    classifier(net, x, classes);
    /* torchvision's VGG(init_weights=True). */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT,
                                         .conv_bias = CZ_FILL_ZERO,
                                         .linear_weight = CZ_FILL_NORMAL,
                                         .linear_bias = CZ_FILL_ZERO,
                                         .std = 0.01f});
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

#define VGG(fn, convs, bn)                                                                  \
    static cz_net *fn(int classes, int channels, int height, int width, uint64_t seed)    \
    {                                                                                       \
        return build(convs, bn, classes, channels, height, width, seed);                    \
    }
VGG(vgg11, config_a, false)
VGG(vgg11_bn, config_a, true)
VGG(vgg13, config_b, false)
VGG(vgg13_bn, config_b, true)
VGG(vgg16, config_d, false)
VGG(vgg16_bn, config_d, true)
VGG(vgg19, config_e, false)
VGG(vgg19_bn, config_e, true)
#undef VGG

static const cz_model_info models[] = {
    {"vgg11", "VGG-11 (configuration A): 8 convs 3x3 + 3 FC", 3, 224, 224, 1000, vgg11},
    {"vgg11_bn", "VGG-11 with BatchNorm after each conv", 3, 224, 224, 1000, vgg11_bn},
    {"vgg13", "VGG-13 (configuration B): 10 convs 3x3 + 3 FC", 3, 224, 224, 1000, vgg13},
    {"vgg13_bn", "VGG-13 with BatchNorm after each conv", 3, 224, 224, 1000, vgg13_bn},
    {"vgg16", "VGG-16 (configuration D): 13 convs 3x3 + 3 FC", 3, 224, 224, 1000, vgg16},
    {"vgg16_bn", "VGG-16 with BatchNorm after each conv", 3, 224, 224, 1000, vgg16_bn},
    {"vgg19", "VGG-19 (configuration E): 16 convs 3x3 + 3 FC", 3, 224, 224, 1000, vgg19},
    {"vgg19_bn", "VGG-19 with BatchNorm after each conv", 3, 224, 224, 1000, vgg19_bn},
};

const cz_family cz_family_vgg = CZ_FAMILY(models);
