/*
 * resnest.c - ResNeSt-50d (Zhang et al. 2020, "ResNeSt: Split-Attention
 * Networks") as timm builds it (timm's ResNet with ResNestBottleneck and
 * SplitAttn; torchvision has no ResNeSt), with timm's state_dict keys:
 *
 *   stem "d": conv1.0 3x3/2 (32) - conv1.1 BN - ReLU - conv1.3 3x3 (32) -
 *             conv1.4 BN - ReLU - conv1.6 3x3 (64) -> bn1 -> ReLU
 *             -> maxpool 3x3/2
 *   layer1..4: [3, 4, 6, 3] split-attention bottlenecks, 64..512 planes
 *   -> global average pool -> fc
 *
 * Bottleneck: conv1 1x1 -> bn1 -> ReLU -> conv2 (split attention, 3x3,
 * stride 1) -> in a stride-2 block "avd": a 3x3/2 average pool (the
 * paper's anti-aliased downsampling, after the attention) -> conv3 1x1 ->
 * bn3 -> + shortcut -> ReLU. The shortcut of a stage's first block is
 * "avg_down": a 2x2/2 average pool (ceil_mode, padding not counted), then
 * a 1x1 conv and BN (downsample.1, downsample.2; index 0 is the pool).
 *
 * Split attention (conv2.*), radix R, cardinality G, C = group width:
 *   conv (R C maps, groups G R) -> bn0 -> ReLU = U, R splits of C maps
 *   gap(sum of the R splits) -> fc1 (1x1, bias) -> bn1 -> ReLU
 *   -> fc2 (1x1, bias, R C) -> radix softmax = a
 *   out = sum over r of a_r * U_r
 * BN eps 1e-5, momentum 0.1 (timm's default BatchNorm2d); no dropout.
 */
#include "resnet_blocks.h"
#include "init.h"

typedef struct resnest_config {
    int layers[4];   /* blocks per stage */
    int stem_width;  /* deep stem 32-32-64 */
    int base_width;  /* group width = planes * base_width / 64 * cardinality */
    int cardinality;
    int radix;
} resnest_config;

/* timm's make_divisible: v rounded to a multiple of divisor, at least
 * min_value, and never more than 10% below v. */
static int make_divisible(double v, int divisor, int min_value)
{
    int rounded = (int)(v + divisor / 2.0) / divisor * divisor;
    if (rounded < min_value)
        rounded = min_value;
    if (rounded < 0.9 * v)
        rounded += divisor;
    return rounded;
}

/* SplitAttn (in scope conv2): x (C, H, W) -> (C, H, W). */
static int split_attention(cz_net *net, int x, int channels, int radix, int groups)
{
    int attn_channels = make_divisible(channels * radix * 0.25, 8, 32);
    int u = cz_resnet_conv_bn(net, x, "conv", "bn0",
                    (cz_conv_args){.out_channels = channels * radix, .kernel = 3, .padding = 1,
                                   .groups = groups * radix});
    u = cz_relu(net, u, "act0");
    int gap = radix > 1 ? cz_split_sum(net, u, "sum", radix) : u;
    gap = cz_adaptive_avgpool(net, gap, "gap", 1, 1);
    gap = cz_resnet_conv_bn(net, gap, "fc1", "bn1",
                  (cz_conv_args){.out_channels = attn_channels, .kernel = 1, .groups = groups,
                                 .bias = true});
    gap = cz_relu(net, gap, "act1");
    int attn = cz_conv2d(net, gap, "fc2",
                         (cz_conv_args){.out_channels = channels * radix, .kernel = 1,
                                        .groups = groups, .bias = true});
    attn = cz_rsoftmax(net, attn, "rsoftmax", radix, groups);
    int weighted = cz_channel_mul(net, u, attn, "attend");
    return radix > 1 ? cz_split_sum(net, weighted, "out", radix) : weighted;
}

/* avg_down: pool (stride > 1 only), 1x1 conv, BN. */
static int downsample_avg(cz_net *net, int x, int out_channels, int stride)
{
    cz_scope_push(net, "downsample");
    if (stride > 1)
        x = cz_avgpool(net, x, "0",
                       (cz_pool_args){.kernel = 2, .stride = stride, .ceil_mode = true,
                                      .count_include_pad = false});
    x = cz_resnet_conv_bn(net, x, "1", "2", (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    cz_scope_pop(net);
    return x;
}

static int resnest_bottleneck(cz_net *net, int x, const void *config, int planes,
                              int stride, bool downsample)
{
    const resnest_config *cfg = config;
    int group_width = planes * cfg->base_width / 64 * cfg->cardinality;
    int out = cz_resnet_conv_bn(net, x, "conv1", "bn1",
                      (cz_conv_args){.out_channels = group_width, .kernel = 1});
    out = cz_relu(net, out, "act1");
    cz_scope_push(net, "conv2");
    out = split_attention(net, out, group_width, cfg->radix, cfg->cardinality);
    cz_scope_pop(net);
    if (stride > 1) /* avd: the stride moves from the 3x3 conv to a pool after it */
        out = cz_avgpool(net, out, "avd_last",
                         (cz_pool_args){.kernel = 3, .stride = stride, .padding = 1,
                                        .count_include_pad = true});
    out = cz_resnet_conv_bn(net, out, "conv3", "bn3", (cz_conv_args){.out_channels = planes * 4, .kernel = 1});
    int shortcut = downsample ? downsample_avg(net, x, planes * 4, stride) : x;
    out = cz_add(net, out, shortcut, "residual");
    return cz_relu(net, out, "act3");
}

/* The deep stem: three 3x3 convs (conv1.0/3/6) with BN (conv1.1/4) and
 * ReLU between, then bn1, ReLU and the max pool. */
static int deep_stem(cz_net *net, int x, int stem_width)
{
    cz_scope_push(net, "conv1");
    x = cz_resnet_conv_bn(net, x, "0", "1",
                (cz_conv_args){.out_channels = stem_width, .kernel = 3, .stride = 2, .padding = 1});
    x = cz_relu(net, x, "2");
    x = cz_resnet_conv_bn(net, x, "3", "4",
                (cz_conv_args){.out_channels = stem_width, .kernel = 3, .padding = 1});
    x = cz_relu(net, x, "5");
    x = cz_conv2d(net, x, "6", (cz_conv_args){.out_channels = 2 * stem_width, .kernel = 3, .padding = 1});
    cz_scope_pop(net);
    x = cz_batchnorm(net, x, "bn1", CZ_RESNET_BN_EPS, CZ_RESNET_BN_MOMENTUM);
    x = cz_relu(net, x, "act1");
    return cz_maxpool(net, x, "maxpool", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
}

static cz_net *resnest(const resnest_config *cfg, int classes, int channels, int height,
                       int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = deep_stem(net, CZ_INPUT, cfg->stem_width);
    x = cz_resnet_stages(net, x, cfg->layers, 2 * cfg->stem_width, resnest_bottleneck, cfg);
    cz_resnet_head(net, x, "fc", classes, 0.0f);
    /* timm's ResNet.init_weights: kaiming_normal_(fan_out) convs (conv
     * biases and fc keep PyTorch's default), zero_init_last: bn3 weight 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT});
    cz_init_fill_suffix(net, ".bn3.weight", 0.0f);
    return cz_resnet_finish(net);
}

static cz_net *resnest50d(int classes, int channels, int height, int width, uint64_t seed)
{
    static const resnest_config cfg = {
        .layers = {3, 4, 6, 3}, .stem_width = 32, .base_width = 64, .cardinality = 1, .radix = 2};
    return resnest(&cfg, classes, channels, height, width, seed);
}

static const cz_model_info models[] = {
    {"resnest50d", "ResNeSt-50d (2020): split attention radix 2, deep stem, avg-pool shortcuts",
     3, 224, 224, 1000, resnest50d},
};

const cz_family cz_family_resnest = CZ_FAMILY(models);
