/*
 * densenet.c - DenseNet-121/161/169/201 (Huang et al. 2017, "Densely
 * Connected Convolutional Networks"), as torchvision 0.14 builds them:
 *
 *   conv0 7x7/2 -> norm0 -> relu0 -> pool0 3x3/2 max
 *   -> denseblock1 -> transition1 -> ... -> denseblock4 -> norm5
 *   -> relu -> global average pool -> classifier (linear)
 *
 * In a dense block, layer i sees the concatenation of the block's input
 * and the `growth_rate` new maps of every earlier layer (one torch.cat of
 * all of them, as torchvision does). Each layer is the pre-activation
 * bottleneck BN-ReLU-conv1x1 (bn_size x growth maps) - BN-ReLU-conv3x3
 * (growth maps); a transition halves the channels (BN-ReLU-conv1x1) and
 * the size (2x2 average pool). BN eps 1e-5, momentum 0.1, no dropout
 * (torchvision's drop_rate 0). Keys: features.conv0, features.denseblockB.
 * denselayerL.{norm1, conv1, norm2, conv2}, features.transitionT.{norm,
 * conv}, features.norm5, classifier.
 */
#include <stdio.h>

#include "models.h"
#include "init.h"

/* Table 1 of the paper; densenet161 is the k = 48 variant with a 96-map
 * stem. */
typedef struct densenet_config {
    int growth_rate;
    int block_config[4]; /* dense layers per block */
    int num_init_features;
} densenet_config;

enum { BN_SIZE = 4, MAX_BLOCK_LAYERS = 48 };
#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* norm<id> -> relu<id> -> conv<id>: the pre-activation unit every dense
 * layer and transition is made of (id "1", "2", or "" in a transition). */
static int bn_relu_conv(cz_net *net, int x, const char *id, cz_conv_args conv)
{
    char name[16];
    snprintf(name, sizeof name, "norm%s", id);
    x = cz_batchnorm(net, x, name, BN_EPS, BN_MOMENTUM);
    snprintf(name, sizeof name, "relu%s", id);
    x = cz_relu(net, x, name);
    snprintf(name, sizeof name, "conv%s", id);
    return cz_conv2d(net, x, name, conv);
}

/* One dense layer on the concatenation of `features[0..n)`; returns its
 * growth_rate new maps. */
static int dense_layer(cz_net *net, const int *features, int n, int growth_rate)
{
    int x = n == 1 ? features[0] : cz_concat(net, features, n, "concat");
    x = bn_relu_conv(net, x, "1",
                     (cz_conv_args){.out_channels = BN_SIZE * growth_rate, .kernel = 1});
    return bn_relu_conv(net, x, "2",
                        (cz_conv_args){.out_channels = growth_rate, .kernel = 3, .padding = 1});
}

/* `layers` dense layers on x; returns the concatenation of x and all
 * their outputs. */
static int dense_block(cz_net *net, int x, int layers, int growth_rate)
{
    int features[1 + MAX_BLOCK_LAYERS] = {x};
    for (int i = 0; i < layers; i++) {
        cz_scope_push(net, "denselayer%d", i + 1);
        features[i + 1] = dense_layer(net, features, i + 1, growth_rate);
        cz_scope_pop(net);
    }
    return cz_concat(net, features, layers + 1, "concat");
}

/* BN-ReLU-conv1x1 to out_channels, then a 2x2 average pool. */
static int transition(cz_net *net, int x, int out_channels)
{
    x = bn_relu_conv(net, x, "", (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    return cz_avgpool(net, x, "pool", (cz_pool_args){.kernel = 2, .stride = 2});
}

static cz_net *densenet(const densenet_config *cfg, int classes, int channels, int height,
                        int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    cz_scope_push(net, "features");
    int x = cz_conv2d(net, CZ_INPUT, "conv0",
                      (cz_conv_args){.out_channels = cfg->num_init_features, .kernel = 7,
                                     .stride = 2, .padding = 3});
    x = cz_batchnorm(net, x, "norm0", BN_EPS, BN_MOMENTUM);
    x = cz_relu(net, x, "relu0");
    x = cz_maxpool(net, x, "pool0", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
    int num_features = cfg->num_init_features;
    for (int b = 0; b < 4; b++) {
        int layers = cfg->block_config[b];
        cz_scope_push(net, "denseblock%d", b + 1);
        x = dense_block(net, x, layers, cfg->growth_rate);
        cz_scope_pop(net);
        num_features += layers * cfg->growth_rate;
        if (b < 3) {
            cz_scope_push(net, "transition%d", b + 1);
            x = transition(net, x, num_features / 2);
            cz_scope_pop(net);
            num_features /= 2;
        }
    }
    x = cz_batchnorm(net, x, "norm5", BN_EPS, BN_MOMENTUM);
    cz_scope_pop(net);
    x = cz_relu(net, x, "relu");
    x = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    cz_linear(net, x, "classifier", classes, true);
    /* torchvision's: kaiming_normal_ (fan_in) convs, classifier bias 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_IN,
                                         .linear_bias = CZ_FILL_ZERO});
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

#define DENSENET(name, growth, b1, b2, b3, b4, init)                                       \
    static cz_net *name(int classes, int channels, int height, int width, uint64_t seed) \
    {                                                                                    \
        static const densenet_config cfg = {growth, {b1, b2, b3, b4}, init};             \
        _Static_assert(b1 <= MAX_BLOCK_LAYERS && b2 <= MAX_BLOCK_LAYERS &&               \
                           b3 <= MAX_BLOCK_LAYERS && b4 <= MAX_BLOCK_LAYERS,             \
                       "a dense block deeper than MAX_BLOCK_LAYERS");                    \
        return densenet(&cfg, classes, channels, height, width, seed);                   \
    }

/*       model        k   block layers     stem */
DENSENET(densenet121, 32, 6, 12, 24, 16, 64)
DENSENET(densenet161, 48, 6, 12, 36, 24, 96)
DENSENET(densenet169, 32, 6, 12, 32, 32, 64)
DENSENET(densenet201, 32, 6, 12, 48, 32, 64)

static const cz_model_info models[] = {
    {"densenet121", "DenseNet-121 (2017): k=32, dense blocks of 6-12-24-16 layers", 3, 224,
     224, 1000, densenet121},
    {"densenet161", "DenseNet-161 (2017): k=48, 96-map stem, blocks of 6-12-36-24 layers", 3,
     224, 224, 1000, densenet161},
    {"densenet169", "DenseNet-169 (2017): k=32, dense blocks of 6-12-32-32 layers", 3, 224,
     224, 1000, densenet169},
    {"densenet201", "DenseNet-201 (2017): k=32, dense blocks of 6-12-48-32 layers", 3, 224,
     224, 1000, densenet201},
};

const cz_family cz_family_densenet = CZ_FAMILY(models);
