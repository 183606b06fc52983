/*
 * nin.c - Network in Network (Lin, Chen & Yan 2013). An mlpconv block is a
 * kxk convolution followed by two 1x1 convolutions (the "cascaded cross
 * channel parametric pooling" cccp layers), each with a ReLU. The last
 * block outputs one map per class; global average pooling turns the maps
 * into logits, so there is no fully connected layer.
 *
 *   nin (ImageNet, Caffe model zoo)        nin_cifar10 (the paper's CIFAR-10 net)
 *   96 11x11/4, 96, 96;    max 3x3/2       192 5x5 p2, 160, 96;  max 3x3/2, dropout
 *   256 5x5 p2, 256, 256;  max 3x3/2       192 5x5 p2, 192, 192; avg 3x3/2, dropout
 *   384 3x3 p1, 384, 384;  max 3x3/2,      192 3x3 p1, 192, classes; global avg
 *                          dropout
 *   1024 3x3 p1, 1024, classes; global avg
 *
 * Pools round up (ceil_mode) as Caffe's do: that is what gives the Caffe
 * nets' sizes (ImageNet 224: 54 -> 27 -> 13 -> 6; CIFAR 32: 32 -> 16 -> 8)
 * and MODELS.md's MACs. The ReLU after the class maps is in both Caffe
 * nets. Dropout is 0.5 throughout.
 *
 * Neither torchvision nor timm has NIN; the names follow torchvision's
 * AlexNet style: the blocks before the last are `features` (an
 * nn.Sequential numbering every module: features.0, .2, .4 for the first
 * block), the last block with the global pooling is `classifier`
 * (classifier.0, .2, .4), the one to replace for other classes. Global
 * pooling is adaptive, so any input the strides allow works.
 */
#include <stdio.h>

#include "models.h"

typedef enum pool_kind { POOL_NONE, POOL_MAX, POOL_AVG } pool_kind;

/* One mlpconv block and what follows it; out_channels 0 = the classes. */
typedef struct mlpconv {
    int out_channels[3];
    int kernel, stride, padding;
    pool_kind pool; /* 3x3/2, ceil_mode */
    float dropout;  /* 0 = none */
} mlpconv;

typedef struct nin_config {
    mlpconv blocks[4];
    int n_blocks; /* the last one is the classifier */
} nin_config;

static const nin_config nin_imagenet = {
    .blocks = {{{96, 96, 96}, 11, 4, 0, POOL_MAX, 0},
               {{256, 256, 256}, 5, 1, 2, POOL_MAX, 0},
               {{384, 384, 384}, 3, 1, 1, POOL_MAX, 0.5f},
               {{1024, 1024, 0}, 3, 1, 1, POOL_NONE, 0}},
    .n_blocks = 4,
};

static const nin_config nin_cifar = {
    .blocks = {{{192, 160, 96}, 5, 1, 2, POOL_MAX, 0.5f},
               {{192, 192, 192}, 5, 1, 2, POOL_AVG, 0.5f},
               {{192, 192, 0}, 3, 1, 1, POOL_NONE, 0}},
    .n_blocks = 3,
};

/* Names the next child of an nn.Sequential: "0", "1", ... */
static const char *next_index(char name[12], int *index)
{
    snprintf(name, 12, "%d", (*index)++);
    return name;
}

/* x (C, H, W) -> (out_channels[2], h, w), children numbered from *index. */
static int mlpconv_block(cz_net *net, int x, const mlpconv *b, int classes, int *index)
{
    char name[12];
    for (int i = 0; i < 3; i++) {
        int first = i == 0;
        int out = b->out_channels[i] ? b->out_channels[i] : classes;
        x = cz_conv2d(net, x, next_index(name, index),
                      (cz_conv_args){.out_channels = out,
                                     .kernel = first ? b->kernel : 1,
                                     .stride = first ? b->stride : 1,
                                     .padding = first ? b->padding : 0,
                                     .bias = true});
        x = cz_relu(net, x, next_index(name, index));
    }
    cz_pool_args pool = {.kernel = 3, .stride = 2, .ceil_mode = true, .count_include_pad = true};
    if (b->pool == POOL_MAX)
        x = cz_maxpool(net, x, next_index(name, index), pool);
    else if (b->pool == POOL_AVG)
        x = cz_avgpool(net, x, next_index(name, index), pool);
    if (b->dropout > 0)
        x = cz_dropout(net, x, next_index(name, index), b->dropout);
    return x;
}

static cz_net *build(const nin_config *cfg, int classes, int channels, int height, int width,
                     uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = CZ_INPUT, index = 0;
    cz_scope_push(net, "features");
    for (int i = 0; i < cfg->n_blocks - 1; i++)
        x = mlpconv_block(net, x, &cfg->blocks[i], classes, &index);
    cz_scope_pop(net);

    /* The class maps, averaged over the whole image. */
    char name[12];
    index = 0;
    cz_scope_push(net, "classifier");
    x = mlpconv_block(net, x, &cfg->blocks[cfg->n_blocks - 1], classes, &index);
    x = cz_adaptive_avgpool(net, x, next_index(name, &index), 1, 1);
    cz_flatten(net, x, next_index(name, &index));
    cz_scope_pop(net);
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static cz_net *nin(int classes, int channels, int height, int width, uint64_t seed)
{
    return build(&nin_imagenet, classes, channels, height, width, seed);
}

static cz_net *nin_cifar10(int classes, int channels, int height, int width, uint64_t seed)
{
    return build(&nin_cifar, classes, channels, height, width, seed);
}

static const cz_model_info models[] = {
    {"nin", "Network in Network, ImageNet (4 mlpconv blocks, global average pooling, no FC)",
     3, 224, 224, 1000, nin},
    {"nin_cifar10", "Network in Network, the paper's CIFAR-10 net (3 mlpconv blocks, 3x32x32)",
     3, 32, 32, 10, nin_cifar10},
};

const cz_family cz_family_nin = CZ_FAMILY(models);
