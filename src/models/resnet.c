/*
 * resnet.c - ResNet (He et al. 2015) and its direct descendants:
 *
 *   model              block       layers         groups x width  names
 *   resnet18           Basic       2, 2, 2, 2     1 x 64          torchvision
 *   resnet34           Basic       3, 4, 6, 3     1 x 64          torchvision
 *   resnet50           Bottleneck  3, 4, 6, 3     1 x 64          torchvision
 *   resnet101          Bottleneck  3, 4, 23, 3    1 x 64          torchvision
 *   resnet152          Bottleneck  3, 8, 36, 3    1 x 64          torchvision
 *   resnet50_v1        Bottleneck  3, 4, 6, 3     1 x 64          torchvision
 *   wide_resnet50_2    Bottleneck  3, 4, 6, 3     1 x 128         torchvision
 *   wide_resnet101_2   Bottleneck  3, 4, 23, 3    1 x 128         torchvision
 *   resnext50_32x4d    Bottleneck  3, 4, 6, 3     32 x 4          torchvision
 *   resnext101_32x8d   Bottleneck  3, 4, 23, 3    32 x 8          torchvision
 *   resnext101_64x4d   Bottleneck  3, 4, 23, 3    64 x 4          torchvision
 *   resnetv2_50        PreAct      3, 4, 6, 3                     timm
 *   resnetv2_101       PreAct      3, 4, 23, 3                    timm
 *   wrn28_10           WRN basic   4, 4, 4 (x10 wide, CIFAR)      xternalz
 *
 * torchvision's Bottlenecks are "v1.5": a stage's stride sits on the 3x3
 * conv. resnet50_v1 is the 2015 paper's (and Caffe's) placement, on the
 * first 1x1, with the same keys as resnet50. A Bottleneck's 3x3 has
 * groups x (planes x width / 64) channels: 64 at planes 64 for ResNet,
 * 32 x 4 = 128 for ResNeXt-32x4d, 128 for the wide ResNets.
 *
 * resnetv2_* are timm's pre-activation ResNets ("Identity Mappings",
 * He et al. 2016) with BatchNorm: BN-ReLU before each conv, the stride on
 * the 3x3, a 1x1 projection (no BN) of the pre-activated input as the
 * first shortcut of every stage, a final BN-ReLU, and a 1x1-conv
 * classifier (head.fc). Keys: stem.conv, stages.N.blocks.M.{norm1, conv1,
 * norm2, conv2, norm3, conv3, downsample.conv}, norm, head.fc.
 *
 * wrn28_10 is the CIFAR wide ResNet-28-10 (Zagoruyko & Komodakis 2016):
 * a 3x3 stem of 16, three groups of four pre-activation basic blocks of
 * 160, 320, 640 channels (strides 1, 2, 2), BN-ReLU, global average pool,
 * fc. Keys follow the widely used xternalz/WideResNet-pytorch: conv1,
 * block{1,2,3}.layer.M.{bn1, conv1, bn2, conv2, convShortcut}, bn1, fc. As
 * there, a block that changes width feeds its 1x1 convShortcut with the
 * pre-activated input, and dropout (0.3, the paper's) sits between the two
 * convs. The pool is global where xternalz's is a fixed 8x8: the same on
 * 32x32 inputs, and it lets other sizes through.
 *
 * All BatchNorms use PyTorch's defaults (eps 1e-5, momentum 0.1). Every
 * model accepts any input of at least 1x1, as PyTorch's do.
 */
#include "resnet_blocks.h"
#include "init.h"

/* ------------------------------------------------------------ shared parts */

int cz_resnet_conv_bn(cz_net *net, int x, const char *conv, const char *bn, cz_conv_args args)
{
    x = cz_conv2d(net, x, conv, args);
    return cz_batchnorm(net, x, bn, CZ_RESNET_BN_EPS, CZ_RESNET_BN_MOMENTUM);
}

int cz_resnet_head(cz_net *net, int x, const char *fc, int classes, float dropout)
{
    x = cz_adaptive_avgpool(net, x, "avgpool", 1, 1);
    x = cz_flatten(net, x, "flatten");
    if (dropout > 0.0f)
        x = cz_dropout(net, x, "dropout", dropout);
    return cz_linear(net, x, fc, classes, true);
}

int cz_resnet_stages(cz_net *net, int x, const int layers[4], int in_channels,
                     cz_resnet_block_fn block, const void *config)
{
    for (int stage = 0; stage < 4; stage++) {
        int planes = 64 << stage, stride = stage == 0 ? 1 : 2;
        cz_scope_push(net, "layer%d", stage + 1);
        for (int b = 0; b < layers[stage]; b++) {
            bool first = b == 0;
            cz_scope_push(net, "%d", b);
            x = block(net, x, config, planes, first ? stride : 1,
                      first && (stride != 1 || in_channels != planes * 4));
            cz_scope_pop(net);
            in_channels = planes * 4;
        }
        cz_scope_pop(net);
    }
    return x;
}

cz_net *cz_resnet_finish(cz_net *net)
{
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

/* conv - bn - relu, the unit every ResNet repeats. */
static int conv_bn_relu(cz_net *net, int x, const char *conv, const char *bn, cz_conv_args args)
{
    return cz_relu(net, cz_resnet_conv_bn(net, x, conv, bn, args), "relu");
}

/* BatchNorm then ReLU: timm's BatchNormAct2d, the pre-activation unit. */
static int bn_relu(cz_net *net, int x, const char *bn)
{
    x = cz_batchnorm(net, x, bn, CZ_RESNET_BN_EPS, CZ_RESNET_BN_MOMENTUM);
    return cz_relu(net, x, "relu");
}

/* torchvision's downsample: a strided 1x1 projection and its BN
 * (downsample.0, downsample.1) when the shape changes, else the input. */
static int shortcut(cz_net *net, int x, int in_channels, int out_channels, int stride)
{
    if (stride == 1 && in_channels == out_channels)
        return x;
    return cz_resnet_conv_bn(net, x, "downsample.0", "downsample.1",
                             (cz_conv_args){.out_channels = out_channels, .kernel = 1,
                                            .stride = stride});
}

/* ------------------------------------------------------------ ResNet v1/v1.5 */

/* BasicBlock: 3x3 (stride) - bn - relu - 3x3 - bn, plus the shortcut. */
static int basic_block(cz_net *net, int x, int in_channels, int planes, int stride,
                       const cz_resnet_config *config)
{
    int y = conv_bn_relu(net, x, "conv1", "bn1",
                         (cz_conv_args){.out_channels = planes, .kernel = 3, .stride = stride,
                                        .padding = 1});
    y = cz_resnet_conv_bn(net, y, "conv2", "bn2",
                          (cz_conv_args){.out_channels = planes, .kernel = 3, .padding = 1});
    if (config->attention)
        y = config->attention(net, y, planes);
    y = cz_add(net, y, shortcut(net, x, in_channels, planes, stride), "add");
    return cz_relu(net, y, "relu");
}

/* Bottleneck: 1x1 reduce - 3x3 (grouped) - 1x1 expand to 4 planes, plus
 * the shortcut; the stride on the 3x3 (v1.5) or the first 1x1 (v1). */
static int bottleneck(cz_net *net, int x, int in_channels, int planes, int stride,
                      const cz_resnet_config *config)
{
    int groups = config->groups ? config->groups : 1;
    int width_per_group = config->width_per_group ? config->width_per_group : 64;
    int width = planes * width_per_group / 64 * groups, out_channels = planes * 4;
    int stride_1x1 = config->stride_in_1x1 ? stride : 1;
    int stride_3x3 = config->stride_in_1x1 ? 1 : stride;

    int y = conv_bn_relu(net, x, "conv1", "bn1",
                         (cz_conv_args){.out_channels = width, .kernel = 1, .stride = stride_1x1});
    y = conv_bn_relu(net, y, "conv2", "bn2",
                     (cz_conv_args){.out_channels = width, .kernel = 3, .stride = stride_3x3,
                                    .padding = 1, .groups = groups});
    y = cz_resnet_conv_bn(net, y, "conv3", "bn3",
                          (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    if (config->attention)
        y = config->attention(net, y, out_channels);
    y = cz_add(net, y, shortcut(net, x, in_channels, out_channels, stride), "add");
    return cz_relu(net, y, "relu");
}

/* layer<stage + 1>: its blocks at 64 << stage planes, the first strided
 * (except in layer1, which follows the max pool). */
static int resnet_layer(cz_net *net, int x, const cz_resnet_config *config, int stage,
                        int *channels)
{
    int planes = 64 << stage, expansion = config->bottleneck ? 4 : 1;
    for (int b = 0; b < config->layers[stage]; b++) {
        int stride = (b == 0 && stage > 0) ? 2 : 1;
        cz_scope_push(net, "layer%d.%d", stage + 1, b);
        x = config->bottleneck ? bottleneck(net, x, *channels, planes, stride, config)
                               : basic_block(net, x, *channels, planes, stride, config);
        cz_scope_pop(net);
        *channels = planes * expansion;
    }
    return x;
}

cz_net *cz_resnet_build(const cz_resnet_config *config, int classes, int channels, int height,
                        int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = conv_bn_relu(net, CZ_INPUT, "conv1", "bn1",
                         (cz_conv_args){.out_channels = 64, .kernel = 7, .stride = 2,
                                        .padding = 3});
    x = cz_maxpool(net, x, "maxpool", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
    int features = 64;
    for (int stage = 0; stage < 4; stage++)
        x = resnet_layer(net, x, config, stage, &features);
    cz_resnet_head(net, x, "fc", classes, 0.0f);
    /* torchvision's ResNet: kaiming_normal_(fan_out) convs; fc keeps
     * PyTorch's default (zero_init_residual is off by default). */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT});
    return cz_resnet_finish(net);
}

/* One table row of torchvision's resnet.py as a builder. */
#define RESNET(name, ...)                                                                   \
    static cz_net *name(int classes, int channels, int height, int width, uint64_t seed) \
    {                                                                                       \
        static const cz_resnet_config config = {__VA_ARGS__};                              \
        return cz_resnet_build(&config, classes, channels, height, width, seed);           \
    }

RESNET(resnet18, .layers = {2, 2, 2, 2})
RESNET(resnet34, .layers = {3, 4, 6, 3})
RESNET(resnet50, .bottleneck = true, .layers = {3, 4, 6, 3})
RESNET(resnet101, .bottleneck = true, .layers = {3, 4, 23, 3})
RESNET(resnet152, .bottleneck = true, .layers = {3, 8, 36, 3})
RESNET(resnet50_v1, .bottleneck = true, .layers = {3, 4, 6, 3}, .stride_in_1x1 = true)
RESNET(wide_resnet50_2, .bottleneck = true, .layers = {3, 4, 6, 3}, .width_per_group = 128)
RESNET(wide_resnet101_2, .bottleneck = true, .layers = {3, 4, 23, 3}, .width_per_group = 128)
RESNET(resnext50_32x4d, .bottleneck = true, .layers = {3, 4, 6, 3}, .groups = 32,
       .width_per_group = 4)
RESNET(resnext101_32x8d, .bottleneck = true, .layers = {3, 4, 23, 3}, .groups = 32,
       .width_per_group = 8)
RESNET(resnext101_64x4d, .bottleneck = true, .layers = {3, 4, 23, 3}, .groups = 64,
       .width_per_group = 4)

/* ------------------------------------------------------------ ResNet v2 */

/* timm's PreActBottleneck: norm1 (BN-ReLU) first; the projection shortcut
 * (first block of a stage) reads the pre-activated input, the identity
 * shortcut the raw one; no ReLU after the add. */
static int preact_bottleneck(cz_net *net, int x, int out_channels, int stride, bool project)
{
    int mid = out_channels / 4;
    int pre = bn_relu(net, x, "norm1");
    int skip = project ? cz_conv2d(net, pre, "downsample.conv",
                                   (cz_conv_args){.out_channels = out_channels, .kernel = 1,
                                                  .stride = stride})
                       : x;
    int y = cz_conv2d(net, pre, "conv1", (cz_conv_args){.out_channels = mid, .kernel = 1});
    y = cz_conv2d(net, bn_relu(net, y, "norm2"), "conv2",
                  (cz_conv_args){.out_channels = mid, .kernel = 3, .stride = stride,
                                 .padding = 1});
    y = cz_conv2d(net, bn_relu(net, y, "norm3"), "conv3",
                  (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    return cz_add(net, y, skip, "add");
}

static cz_net *resnetv2(const int layers[4], int classes, int channels, int height, int width,
                        uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = cz_conv2d(net, CZ_INPUT, "stem.conv",
                      (cz_conv_args){.out_channels = 64, .kernel = 7, .stride = 2, .padding = 3});
    x = cz_maxpool(net, x, "stem.pool", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
    for (int stage = 0; stage < 4; stage++)
        for (int b = 0; b < layers[stage]; b++) {
            int stride = (b == 0 && stage > 0) ? 2 : 1;
            cz_scope_push(net, "stages.%d.blocks.%d", stage, b);
            x = preact_bottleneck(net, x, 256 << stage, stride, b == 0);
            cz_scope_pop(net);
        }
    x = bn_relu(net, x, "norm");
    x = cz_adaptive_avgpool(net, x, "head.global_pool", 1, 1);
    x = cz_conv2d(net, x, "head.fc", (cz_conv_args){.out_channels = classes, .kernel = 1,
                                                    .bias = true});
    cz_flatten(net, x, "head.flatten");
    /* timm's ResNetV2 _init_weights (zero_init_last off by default):
     * kaiming_normal_(fan_out) convs, but head.fc N(0, 0.01^2); biases 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT,
                                         .conv_bias = CZ_FILL_ZERO});
    cz_init_param(net, "head.fc.weight", CZ_FILL_NORMAL, 0.01f);
    return cz_resnet_finish(net);
}

static cz_net *resnetv2_50(int classes, int channels, int height, int width, uint64_t seed)
{
    return resnetv2((const int[4]){3, 4, 6, 3}, classes, channels, height, width, seed);
}

static cz_net *resnetv2_101(int classes, int channels, int height, int width, uint64_t seed)
{
    return resnetv2((const int[4]){3, 4, 23, 3}, classes, channels, height, width, seed);
}

/* ------------------------------------------------------------ WRN-28-10 */

#define WRN_DROPOUT 0.3f

/* xternalz's BasicBlock: BN-ReLU - 3x3 (stride) - BN-ReLU - dropout - 3x3;
 * the shortcut is convShortcut of the pre-activated input when the width
 * changes, else the raw input. */
static int wide_basic(cz_net *net, int x, int in_channels, int out_channels, int stride)
{
    int pre = bn_relu(net, x, "bn1");
    int y = cz_conv2d(net, pre, "conv1",
                      (cz_conv_args){.out_channels = out_channels, .kernel = 3, .stride = stride,
                                     .padding = 1});
    y = cz_dropout(net, bn_relu(net, y, "bn2"), "dropout", WRN_DROPOUT);
    y = cz_conv2d(net, y, "conv2",
                  (cz_conv_args){.out_channels = out_channels, .kernel = 3, .padding = 1});
    int skip = in_channels == out_channels
                   ? x
                   : cz_conv2d(net, pre, "convShortcut",
                               (cz_conv_args){.out_channels = out_channels, .kernel = 1,
                                              .stride = stride});
    return cz_add(net, y, skip, "add");
}

/* WRN-depth-k: (depth - 4) / 6 blocks per group, widths 16k, 32k, 64k. */
static cz_net *wide_resnet_cifar(int depth, int k, int classes, int channels, int height,
                                 int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = cz_conv2d(net, CZ_INPUT, "conv1",
                      (cz_conv_args){.out_channels = 16, .kernel = 3, .padding = 1});
    int in_channels = 16, blocks = (depth - 4) / 6;
    for (int group = 0; group < 3; group++) {
        int out_channels = (16 << group) * k;
        for (int b = 0; b < blocks; b++) {
            cz_scope_push(net, "block%d.layer.%d", group + 1, b);
            x = wide_basic(net, x, in_channels, out_channels, (b == 0 && group > 0) ? 2 : 1);
            cz_scope_pop(net);
            in_channels = out_channels;
        }
    }
    x = bn_relu(net, x, "bn1");
    cz_resnet_head(net, x, "fc", classes, 0.0f);
    /* xternalz's WideResNet: convs N(0, 2 / (k k out)), fc bias 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT,
                                         .linear_bias = CZ_FILL_ZERO});
    return cz_resnet_finish(net);
}

static cz_net *wrn28_10(int classes, int channels, int height, int width, uint64_t seed)
{
    return wide_resnet_cifar(28, 10, classes, channels, height, width, seed);
}

/* ------------------------------------------------------------ the table */

static const cz_model_info models[] = {
    {"resnet18", "ResNet-18 (2015): basic blocks 2-2-2-2, torchvision", 3, 224, 224, 1000,
     resnet18},
    {"resnet34", "ResNet-34 (2015): basic blocks 3-4-6-3, torchvision", 3, 224, 224, 1000,
     resnet34},
    {"resnet50", "ResNet-50 v1.5: bottlenecks 3-4-6-3, stride on the 3x3, torchvision", 3, 224,
     224, 1000, resnet50},
    {"resnet101", "ResNet-101 v1.5: bottlenecks 3-4-23-3, torchvision", 3, 224, 224, 1000,
     resnet101},
    {"resnet152", "ResNet-152 v1.5: bottlenecks 3-8-36-3, torchvision", 3, 224, 224, 1000,
     resnet152},
    {"resnet50_v1", "ResNet-50 v1 (the 2015 paper): stride on the first 1x1, resnet50's keys", 3,
     224, 224, 1000, resnet50_v1},
    {"resnetv2_50", "ResNet-v2-50 (2016): pre-activation bottlenecks 3-4-6-3, timm", 3, 224, 224,
     1000, resnetv2_50},
    {"resnetv2_101", "ResNet-v2-101 (2016): pre-activation bottlenecks 3-4-23-3, timm", 3, 224,
     224, 1000, resnetv2_101},
    {"wide_resnet50_2", "Wide ResNet-50-2 (2016): bottlenecks twice as wide, torchvision", 3, 224,
     224, 1000, wide_resnet50_2},
    {"wide_resnet101_2", "Wide ResNet-101-2 (2016): bottlenecks twice as wide, torchvision", 3,
     224, 224, 1000, wide_resnet101_2},
    {"wrn28_10", "WRN-28-10 (2016): CIFAR wide ResNet, pre-activation basic blocks x10 wide", 3,
     32, 32, 10, wrn28_10},
    {"resnext50_32x4d", "ResNeXt-50 32x4d (2017): 32 groups of 4 in each 3x3, torchvision", 3,
     224, 224, 1000, resnext50_32x4d},
    {"resnext101_32x8d", "ResNeXt-101 32x8d (2017): 32 groups of 8, torchvision", 3, 224, 224,
     1000, resnext101_32x8d},
    {"resnext101_64x4d", "ResNeXt-101 64x4d (2017): 64 groups of 4, torchvision", 3, 224, 224,
     1000, resnext101_64x4d},
};

const cz_family cz_family_resnet = CZ_FAMILY(models);
