/*
 * googlenet.c - GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going
 * Deeper with Convolutions") as torchvision 0.14 builds it:
 *
 *   conv1 7x7/2 -> maxpool 3/2 -> conv2 1x1 -> conv3 3x3 -> maxpool 3/2
 *   -> inception 3a, 3b -> maxpool 3/2 -> 4a, 4b, 4c, 4d, 4e -> maxpool 2/2
 *   -> 5a, 5b -> global average pool -> dropout 0.2 -> fc
 *
 * with torchvision's departures from the paper: every conv is BasicConv2d
 * (conv without bias, BatchNorm eps 1e-3, ReLU), all max pools use
 * ceil_mode, and the "5x5" branch is a 3x3 conv (torchvision issue 906;
 * its weights have that shape). The two auxiliary classifiers (aux1 on
 * inception4a, aux2 on inception4d) run only in training, so eval gives
 * the main logits; their parameters are in the table so torchvision's
 * state_dict (13,004,888 weights with them, 6,624,904 without) loads.
 * Their 4x4 adaptive pool fits any input the main path allows.
 * Keys: conv1.conv, conv1.bn, ..., inceptionNx.branchB[.K].{conv, bn},
 * aux1.{conv.conv, conv.bn, fc1, fc2}, fc.
 */
#include "models.h"
#include "init.h"

#define BN_EPS 1e-3f
#define BN_MOMENTUM 0.1f

/* BasicConv2d `name`: conv (no bias) -> bn -> ReLU. */
static int basic_conv(cz_net *net, int x, const char *name, cz_conv_args conv)
{
    cz_scope_push(net, "%s", name);
    conv.bias = false;
    x = cz_conv2d(net, x, "conv", conv);
    x = cz_batchnorm(net, x, "bn", BN_EPS, BN_MOMENTUM);
    x = cz_relu(net, x, "relu");
    cz_scope_pop(net);
    return x;
}

static int conv1x1(cz_net *net, int x, const char *name, int out_channels)
{
    return basic_conv(net, x, name, (cz_conv_args){.out_channels = out_channels, .kernel = 1});
}

static int conv3x3(cz_net *net, int x, const char *name, int out_channels)
{
    return basic_conv(net, x, name,
                      (cz_conv_args){.out_channels = out_channels, .kernel = 3, .padding = 1});
}

/* The paper's Table 1 columns for one inception module. */
typedef struct inception_config {
    const char *name;
    int ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
} inception_config;

static const inception_config
    inception3[] = {{"inception3a", 64, 96, 128, 16, 32, 32},
                    {"inception3b", 128, 128, 192, 32, 96, 64}},
    inception4[] = {{"inception4a", 192, 96, 208, 16, 48, 64},
                    {"inception4b", 160, 112, 224, 24, 64, 64},
                    {"inception4c", 128, 128, 256, 24, 64, 64},
                    {"inception4d", 112, 144, 288, 32, 64, 64},
                    {"inception4e", 256, 160, 320, 32, 128, 128}},
    inception5[] = {{"inception5a", 256, 160, 320, 32, 128, 128},
                    {"inception5b", 384, 192, 384, 48, 128, 128}};

/* Four parallel branches on x, concatenated: 1x1 | 1x1 -> 3x3 |
 * 1x1 -> "5x5" (3x3) | maxpool 3/1 -> 1x1. Keeps H x W. */
static int inception(cz_net *net, int x, const inception_config *c)
{
    cz_scope_push(net, "%s", c->name);
    int branch[4];
    branch[0] = conv1x1(net, x, "branch1", c->ch1x1);

    cz_scope_push(net, "branch2");
    branch[1] = conv3x3(net, conv1x1(net, x, "0", c->ch3x3red), "1", c->ch3x3);
    cz_scope_pop(net);

    cz_scope_push(net, "branch3");
    branch[2] = conv3x3(net, conv1x1(net, x, "0", c->ch5x5red), "1", c->ch5x5);
    cz_scope_pop(net);

    cz_scope_push(net, "branch4");
    int pool = cz_maxpool(
        net, x, "0", (cz_pool_args){.kernel = 3, .stride = 1, .padding = 1, .ceil_mode = true});
    branch[3] = conv1x1(net, pool, "1", c->pool_proj);
    cz_scope_pop(net);

    x = cz_concat(net, branch, 4, "cat");
    cz_scope_pop(net);
    return x;
}

static int inceptions(cz_net *net, int x, const inception_config *c, int n, int outputs[])
{
    for (int i = 0; i < n; i++)
        x = outputs[i] = inception(net, x, &c[i]);
    return x;
}

static int maxpool(cz_net *net, int x, const char *name, int kernel)
{
    return cz_maxpool(net, x, name,
                      (cz_pool_args){.kernel = kernel, .stride = 2, .ceil_mode = true});
}

/* InceptionAux: adaptive avg pool 4x4 -> 1x1 conv 128 -> fc1 1024 -> ReLU
 * -> dropout 0.7 -> fc2 classes; a training-only branch. */
static void inception_aux(cz_net *net, int x, const char *name, int classes)
{
    cz_net_begin_aux(net);
    cz_scope_push(net, "%s", name);
    x = cz_adaptive_avgpool(net, x, "pool", 4, 4);
    x = conv1x1(net, x, "conv", 128);
    x = cz_flatten(net, x, "flatten");
    x = cz_linear(net, x, "fc1", 1024, true);
    x = cz_relu(net, x, "relu");
    x = cz_dropout(net, x, "dropout", 0.7f);
    x = cz_linear(net, x, "fc2", classes, true);
    cz_scope_pop(net);
    cz_net_end_aux(net, x);
}

static cz_net *googlenet(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = basic_conv(net, CZ_INPUT, "conv1",
                       (cz_conv_args){.out_channels = 64, .kernel = 7, .stride = 2, .padding = 3});
    x = maxpool(net, x, "maxpool1", 3);
    x = conv1x1(net, x, "conv2", 64);
    x = conv3x3(net, x, "conv3", 192);
    x = maxpool(net, x, "maxpool2", 3);

    int out3[2], out4[5], out5[2];
    x = inceptions(net, x, inception3, 2, out3);
    x = maxpool(net, x, "maxpool3", 3);
    x = inceptions(net, x, inception4, 5, out4);
    x = maxpool(net, x, "maxpool4", 2);
    x = inceptions(net, x, inception5, 2, out5);

    /* Built here, after inception5b, so the table follows torchvision's
     * state_dict order; they read inception4a's and 4d's outputs. */
    inception_aux(net, out4[0], "aux1", classes);
    inception_aux(net, out4[3], "aux2", classes);

    x = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    x = cz_dropout(net, x, "dropout", 0.2f);
    x = cz_linear(net, x, "fc", classes, true);
    cz_net_set_output(net, x);
    /* torchvision's init_weights (its default without pretrained weights):
     * conv and linear weights trunc_normal_(std=0.01, a=-2, b=2); linear
     * biases keep PyTorch's default (the convs have none). */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_TRUNC_NORMAL,
                                         .linear_weight = CZ_FILL_TRUNC_NORMAL,
                                         .std = 0.01f});
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

static const cz_model_info models[] = {
    {"googlenet",
     "GoogLeNet / Inception v1 (2014): 9 inception modules, BN, 2 auxiliary classifiers",
     3, 224, 224, 1000, googlenet},
};

const cz_family cz_family_googlenet = CZ_FAMILY(models);
