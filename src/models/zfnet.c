/*
 * zfnet.c - ZFNet (Zeiler & Fergus 2013, "Visualizing and Understanding
 * Convolutional Networks", Fig. 3): AlexNet with a smaller, denser first
 * layer, found by looking at its filters.
 *
 *   layer  filters  kernel/stride pad   at 224x224
 *   conv1  96       7x7/2         1     110x110, pool 3x3/2 -> 55, LRN
 *   conv2  256      5x5/2         0     26x26,   pool 3x3/2 -> 13, LRN
 *   conv3  384      3x3/1         1     13x13
 *   conv4  384      3x3/1         1     13x13
 *   conv5  256      3x3/1         1     13x13,   pool 3x3/2 -> 6
 *   fc6 4096, fc7 4096 (dropout 0.5 before each), fc8 classes
 *
 * Fig. 3's sizes (110 -> 55, 26 -> 13, 13 -> 6) need the pools to round up,
 * so they use ceil_mode, as Caffe did. As in the figure, each of the first
 * two layers is convolution, ReLU, max pooling, then contrast normalisation
 * across feature maps, taken to be AlexNet's LRN (size 5, alpha 1e-4,
 * beta 0.75, k 2). Unlike AlexNet there are no grouped convolutions (one GPU).
 *
 * torchvision has no ZFNet; the names follow its AlexNet (features.N,
 * avgpool, classifier.N), so the convs are features.0, .4, .8, .10, .12 and
 * the linears classifier.1, .4, .6. The adaptive 6x6 average pool is the
 * identity at 224x224 and lets other input sizes reach the classifier.
 * 62,357,608 parameters at 1000 classes (imgclsmob's zfnet).
 */
#include <stdio.h>

#include "alexnet.h"

typedef struct conv_layer {
    int out_channels, kernel, stride, padding;
    bool pool_and_norm; /* 3x3/2 max pooling, then LRN */
    bool pool;          /* 3x3/2 max pooling alone */
} conv_layer;

static const conv_layer zfnet_convs[] = {
    {96, 7, 2, 1, true, false},  {256, 5, 2, 0, true, false}, {384, 3, 1, 1, false, false},
    {384, 3, 1, 1, false, false}, {256, 3, 1, 1, false, true},
};

static int max_pool(cz_net *net, int x, const char *name)
{
    return cz_maxpool(net, x, name, (cz_pool_args){.kernel = 3, .stride = 2, .ceil_mode = true});
}

/* x (3, H, W) -> (256, h, w) */
static int features(cz_net *net, int x)
{
    char name[12];
    int index = 0;
    cz_scope_push(net, "features");
    for (size_t i = 0; i < sizeof zfnet_convs / sizeof zfnet_convs[0]; i++) {
        const conv_layer *c = &zfnet_convs[i];
        x = cz_conv2d(net, x, cz_sequential_next(name, &index),
                      (cz_conv_args){.out_channels = c->out_channels, .kernel = c->kernel,
                                     .stride = c->stride, .padding = c->padding, .bias = true});
        x = cz_relu(net, x, cz_sequential_next(name, &index));
        if (c->pool || c->pool_and_norm)
            x = max_pool(net, x, cz_sequential_next(name, &index));
        if (c->pool_and_norm)
            x = cz_lrn(net, x, cz_sequential_next(name, &index), 5, 1e-4f, 0.75f, 2.0f);
    }
    cz_scope_pop(net);
    return x;
}

static cz_net *zfnet(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = features(net, CZ_INPUT);
    x = cz_adaptive_avgpool(net, x, "avgpool", 6, 6);
    cz_alexnet_classifier(net, x, classes);
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static const cz_model_info models[] = {
    {"zfnet", "ZFNet (2013): AlexNet with a 7x7/2 first conv and a 5x5/2 second, LRN", 3, 224,
     224, 1000, zfnet},
};

const cz_family cz_family_zfnet = CZ_FAMILY(models);
