/*
 * res2net.c - Res2Net-50 26w x 4s (Gao et al. 2019, "Res2Net: A New
 * Multi-scale Backbone Architecture") as timm builds it (timm's ResNet with
 * Bottle2neck; torchvision has no Res2Net), with timm's state_dict keys:
 *
 *   conv1 7x7/2 -> bn1 -> ReLU -> maxpool 3x3/2
 *   layer1..4: [3, 4, 6, 3] Bottle2necks, 64..512 planes -> avg pool -> fc
 *
 * Bottle2neck, width w = planes * base_width / 64, scale s:
 *   conv1 1x1 (w s maps) -> bn1 -> ReLU, split into s chunks x_1..x_s
 *   y_1 = K_1(x_1), y_i = K_i(x_i + y_{i-1}) for 1 < i < s, y_s = x_s
 *   (K_i = convs.(i-1) 3x3 -> bns.(i-1) -> ReLU)
 *   concat(y_1..y_s) -> conv3 1x1 -> bn3 -> + shortcut -> ReLU
 * A stage's first block (stride 2 or a projection shortcut, the paper's
 * stype "stage") adds nothing between scales, strides every K_i, and
 * average-pools x_s (3x3, its stride, padding counted as PyTorch's
 * default) so the last chunk keeps up. Shortcut: downsample.0 1x1 conv
 * with the stride, downsample.1 BN. BN eps 1e-5, momentum 0.1.
 */
#include <assert.h>
#include <stdio.h>

#include "resnet_blocks.h"
#include "init.h"

typedef struct res2net_config {
    int layers[4];  /* blocks per stage */
    int base_width; /* width of one scale at 64 planes */
    int scale;      /* chunks per block, 2..MAX_SCALE */
} res2net_config;

enum { MAX_SCALE = 8 };

/* y_i = ReLU(bns.i(convs.i(x))) */
static int scale_conv(cz_net *net, int x, int i, int width, int stride)
{
    char conv[16], bn[16], relu[16];
    snprintf(conv, sizeof conv, "convs.%d", i);
    snprintf(bn, sizeof bn, "bns.%d", i);
    snprintf(relu, sizeof relu, "relu%d", i);
    x = cz_resnet_conv_bn(net, x, conv, bn,
                (cz_conv_args){.out_channels = width, .kernel = 3, .stride = stride, .padding = 1});
    return cz_relu(net, x, relu);
}

/* The hierarchical residual 3x3 convs over the s chunks of x (w s maps);
 * returns their concatenation (w s maps). */
static int multi_scale(cz_net *net, int x, int width, int scale, int stride, bool is_first)
{
    int chunks[MAX_SCALE], outs[MAX_SCALE];
    for (int i = 0; i < scale; i++) {
        char name[16];
        snprintf(name, sizeof name, "split%d", i);
        chunks[i] = cz_slice(net, x, name, i * width, (i + 1) * width);
    }
    int sp = -1;
    for (int i = 0; i < scale - 1; i++) {
        char name[16];
        snprintf(name, sizeof name, "sum%d", i);
        sp = i == 0 || is_first ? chunks[i] : cz_add(net, sp, chunks[i], name);
        sp = outs[i] = scale_conv(net, sp, i, width, stride);
    }
    outs[scale - 1] = is_first ? cz_avgpool(net, chunks[scale - 1], "pool",
                                            (cz_pool_args){.kernel = 3, .stride = stride,
                                                           .padding = 1,
                                                           .count_include_pad = true})
                               : chunks[scale - 1];
    return cz_concat(net, outs, scale, "concat");
}

static int bottle2neck(cz_net *net, int x, const void *config, int planes, int stride,
                       bool downsample)
{
    const res2net_config *cfg = config;
    int width = planes * cfg->base_width / 64;
    int out = cz_resnet_conv_bn(net, x, "conv1", "bn1",
                      (cz_conv_args){.out_channels = width * cfg->scale, .kernel = 1});
    out = cz_relu(net, out, "relu");
    out = multi_scale(net, out, width, cfg->scale, stride, stride > 1 || downsample);
    out = cz_resnet_conv_bn(net, out, "conv3", "bn3", (cz_conv_args){.out_channels = planes * 4, .kernel = 1});
    int shortcut = x;
    if (downsample)
        shortcut = cz_resnet_conv_bn(net, x, "downsample.0", "downsample.1",
                           (cz_conv_args){.out_channels = planes * 4, .kernel = 1, .stride = stride});
    out = cz_add(net, out, shortcut, "residual");
    return cz_relu(net, out, "relu_out");
}

static cz_net *res2net(const res2net_config *cfg, int classes, int channels, int height,
                       int width, uint64_t seed)
{
    assert(cfg->scale >= 2 && cfg->scale <= MAX_SCALE);
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = cz_resnet_conv_bn(net, CZ_INPUT, "conv1", "bn1",
                    (cz_conv_args){.out_channels = 64, .kernel = 7, .stride = 2, .padding = 3});
    x = cz_relu(net, x, "act1");
    x = cz_maxpool(net, x, "maxpool", (cz_pool_args){.kernel = 3, .stride = 2, .padding = 1});
    x = cz_resnet_stages(net, x, cfg->layers, 64, bottle2neck, cfg);
    cz_resnet_head(net, x, "fc", classes, 0.0f);
    /* timm's ResNet.init_weights: kaiming_normal_(fan_out) convs (conv
     * biases and fc keep PyTorch's default), zero_init_last: bn3 weight 0. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT});
    cz_init_fill_suffix(net, ".bn3.weight", 0.0f);
    return cz_resnet_finish(net);
}

static cz_net *res2net50_26w_4s(int classes, int channels, int height, int width, uint64_t seed)
{
    static const res2net_config cfg = {.layers = {3, 4, 6, 3}, .base_width = 26, .scale = 4};
    return res2net(&cfg, classes, channels, height, width, seed);
}

static const cz_model_info models[] = {
    {"res2net50_26w_4s", "Res2Net-50 (2019): 4 scales of width 26 in each bottleneck", 3, 224,
     224, 1000, res2net50_26w_4s},
};

const cz_family cz_family_res2net = CZ_FAMILY(models);
