/*
 * alexnet.c - AlexNet (Krizhevsky, Sutskever & Hinton 2012), two forms:
 *
 *   alexnet        torchvision's: the "one weird trick" (Krizhevsky 2014)
 *                  channels 64-192-384-256-256, no LRN, floor pooling.
 *   alexnet_paper  the 2012 paper's net on one GPU, laid out as Caffe's
 *                  bvlc_alexnet: 96-256-384-384-256, LRN after conv1 and
 *                  conv2, groups=2 in conv2, conv4 and conv5 (the paper's
 *                  two-GPU split kept as grouped convolutions).
 *
 *   stage  alexnet           alexnet_paper
 *   conv1  64 11x11/4 p2     96 11x11/4 p0, LRN
 *   pool   3x3/2             3x3/2
 *   conv2  192 5x5 p2        256 5x5 p2 g2, LRN
 *   pool   3x3/2             3x3/2
 *   conv3  384 3x3 p1        384 3x3 p1
 *   conv4  256 3x3 p1        384 3x3 p1 g2
 *   conv5  256 3x3 p1        256 3x3 p1 g2
 *   pool   3x3/2             3x3/2
 *   then adaptive average pooling to 6x6, and the classifier
 *   dropout 0.5, fc 4096, ReLU, dropout 0.5, fc 4096, ReLU, fc classes.
 *
 * Names are torchvision's nn.Sequential indices (features.0, features.3,
 * ..., classifier.1, classifier.4, classifier.6); alexnet_paper numbers its
 * own Sequential the same way, its LRNs taking indices too, so its convs
 * are features.0, .4, .8, .10, .12.
 *
 * alexnet_paper's LRN is PyTorch's LocalResponseNorm(5, 1e-4, 0.75, k=2):
 * the paper's n, alpha, beta, k, with alpha divided by n as Caffe and
 * PyTorch do. Its pooling uses ceil_mode, as Caffe's pooling does: the same
 * as floor at the paper's 227x227 (55 -> 27 -> 13 -> 6), and at 224x224 it
 * still reaches 6x6 (54 -> 27 -> 13 -> 6). The adaptive 6x6 average pool
 * (torchvision's, not in Caffe) is the identity at those sizes and lets
 * other input sizes reach the 9216-feature classifier.
 */
#include <stdio.h>

#include "alexnet.h"

/* One convolution of the feature extractor, with what follows its ReLU. */
typedef struct conv_layer {
    int out_channels, kernel, stride, padding, groups;
    bool lrn;  /* local response normalisation after the ReLU */
    bool pool; /* 3x3/2 max pooling last */
} conv_layer;

typedef struct alexnet_config {
    conv_layer conv[5];
    bool ceil_mode; /* Caffe's pooling rounds up */
} alexnet_config;

static const alexnet_config torchvision_alexnet = {
    .conv = {{64, 11, 4, 2, 1, false, true},
             {192, 5, 1, 2, 1, false, true},
             {384, 3, 1, 1, 1, false, false},
             {256, 3, 1, 1, 1, false, false},
             {256, 3, 1, 1, 1, false, true}},
};

static const alexnet_config paper_alexnet = {
    .conv = {{96, 11, 4, 0, 1, true, true},
             {256, 5, 1, 2, 2, true, true},
             {384, 3, 1, 1, 1, false, false},
             {384, 3, 1, 1, 2, false, false},
             {256, 3, 1, 1, 2, false, true}},
    .ceil_mode = true,
};

const char *cz_sequential_next(char name[12], int *index)
{
    snprintf(name, 12, "%d", (*index)++);
    return name;
}

/* x (3, H, W) -> (256, h, w): the five convolutions and their pools. */
static int features(cz_net *net, int x, const alexnet_config *cfg)
{
    char name[12];
    int index = 0;
    cz_scope_push(net, "features");
    for (int i = 0; i < 5; i++) {
        const conv_layer *c = &cfg->conv[i];
        x = cz_conv2d(net, x, cz_sequential_next(name, &index),
                      (cz_conv_args){.out_channels = c->out_channels, .kernel = c->kernel,
                                     .stride = c->stride, .padding = c->padding,
                                     .groups = c->groups, .bias = true});
        x = cz_relu(net, x, cz_sequential_next(name, &index));
        if (c->lrn)
            x = cz_lrn(net, x, cz_sequential_next(name, &index), 5, 1e-4f, 0.75f, 2.0f);
        if (c->pool)
            x = cz_maxpool(net, x, cz_sequential_next(name, &index),
                           (cz_pool_args){.kernel = 3, .stride = 2, .ceil_mode = cfg->ceil_mode});
    }
    cz_scope_pop(net);
    return x;
}

/* (256, 6, 6) -> classes: three fully connected layers, dropout before the
 * first two. */
int cz_alexnet_classifier(cz_net *net, int x, int classes)
{
    x = cz_flatten(net, x, "flatten");
    cz_scope_push(net, "classifier");
    x = cz_dropout(net, x, "0", 0.5f);
    x = cz_linear(net, x, "1", 4096, true);
    x = cz_relu(net, x, "2");
    x = cz_dropout(net, x, "3", 0.5f);
    x = cz_linear(net, x, "4", 4096, true);
    x = cz_relu(net, x, "5");
    x = cz_linear(net, x, "6", classes, true);
    cz_scope_pop(net);
    return x;
}

static cz_net *build(const alexnet_config *cfg, int classes, int channels, int height,
                     int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = features(net, CZ_INPUT, cfg);
    x = cz_adaptive_avgpool(net, x, "avgpool", 6, 6);
    cz_alexnet_classifier(net, x, classes);
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static cz_net *alexnet(int classes, int channels, int height, int width, uint64_t seed)
{
    return build(&torchvision_alexnet, classes, channels, height, width, seed);
}

static cz_net *alexnet_paper(int classes, int channels, int height, int width, uint64_t seed)
{
    return build(&paper_alexnet, classes, channels, height, width, seed);
}

static const cz_model_info models[] = {
    {"alexnet", "AlexNet as torchvision (64-192-384-256-256, no LRN)", 3, 224, 224, 1000,
     alexnet},
    {"alexnet_paper",
     "AlexNet as the 2012 paper on one GPU (96-256-384-384-256, LRN, groups=2, Caffe layout)", 3,
     227, 227, 1000, alexnet_paper},
};

const cz_family cz_family_alexnet = CZ_FAMILY(models);
