/*
 * senet.c - attention on ResNet blocks: squeeze-and-excitation (Hu et al.
 * 2017) and CBAM (Woo et al. 2018).
 *
 *   seresnet50         timm's seresnet50: torchvision's resnet50 (v1.5) with
 *                      an SE module after bn3 of every bottleneck
 *   seresnext50_32x4d  timm's seresnext50_32x4d: resnext50_32x4d with SE
 *   senet154           timm's legacy_senet154 (the SENet authors' Caffe
 *                      model as Cadene ported it): a 3x3 x3 deep stem,
 *                      64-group bottlenecks 3-8-36-3 of width 2x/4x planes,
 *                      3x3 strided projections, dropout 0.2, last_linear
 *   cbam_resnet50      resnet50 with CBAM after bn3 of every bottleneck,
 *                      as the CBAM authors' code (Jongchan/attention-module)
 *                      builds and names it
 *
 * SE (timm's SEModule): global average pool, 1x1 conv fc1 to C/16 (with
 * timm's rounding to a multiple of 8), ReLU, 1x1 conv fc2 back to C,
 * sigmoid, times x per channel. Both convs have biases. Named `se` in timm's
 * ResNet and `se_module` in the legacy SENet.
 *
 * CBAM: a channel gate, then a spatial gate, keys
 *   cbam.ChannelGate.mlp.1, cbam.ChannelGate.mlp.3   Linear C -> C/16 -> C
 *   cbam.SpatialGate.spatial.conv                    7x7 conv 2 -> 1, no bias
 *   cbam.SpatialGate.spatial.bn                      BatchNorm2d(1)
 * (the authors' nn.Sequential(Flatten, Linear, ReLU, Linear) and their
 * BasicConv conv + bn, named as in their code). The channel gate runs ONE
 * MLP on both the average- and the max-pooled vector and gates with the
 * sigmoid of the sum; the spatial gate convolves [max, mean] over channels
 * (channel_pool) and gates every channel with its sigmoid. The spatial BN is the authors'
 * (momentum 0.01), so the model has 28,089,624 parameters: the paper's
 * "28.09M", and 32 more than a CBAM without that BN's affine pair.
 * Their fixed 7x7 average pool before fc is a global one here (the same
 * at 224x224) so any input size works.
 */
#include "resnet_blocks.h"
#include "init.h"

/* ------------------------------------------------------------ SE */

/* timm's make_divisible(C / 16, 8): the nearest multiple of 8, at least 8. */
static int se_reduced(int channels)
{
    int r = (int)((double)channels / 16.0 + 4.0) / 8 * 8;
    return r < 8 ? 8 : r;
}

/* x * sigmoid(fc2(relu(fc1(mean_HW(x))))) in scope `name`. */
static int squeeze_excite(cz_net *net, int x, const char *name, int channels, int reduced)
{
    cz_scope_push(net, "%s", name);
    int s = cz_adaptive_avgpool(net, x, "squeeze", 1, 1);
    s = cz_conv2d(net, s, "fc1",
                  (cz_conv_args){.out_channels = reduced, .kernel = 1, .bias = true});
    s = cz_relu(net, s, "relu");
    s = cz_conv2d(net, s, "fc2",
                  (cz_conv_args){.out_channels = channels, .kernel = 1, .bias = true});
    s = cz_activation(net, s, "sigmoid", CZ_ACT_SIGMOID);
    x = cz_channel_mul(net, x, s, "excite");
    cz_scope_pop(net);
    return x;
}

/* timm's ResNet attention hook: `se`. */
static int timm_se(cz_net *net, int x, int channels)
{
    return squeeze_excite(net, x, "se", channels, se_reduced(channels));
}

/* ------------------------------------------------------------ CBAM */

/* The authors' mlp: Flatten, Linear(C, C/16) "1", ReLU "2", Linear "3". */
static int channel_mlp(cz_net *net, int pooled, int channels)
{
    int h = cz_flatten(net, pooled, "mlp.0");
    h = cz_linear(net, h, "mlp.1", channels / 16, true);
    h = cz_relu(net, h, "mlp.2");
    return cz_linear(net, h, "mlp.3", channels, true);
}

/* x * sigmoid(mlp(avgpool(x)) + mlp(maxpool(x))), per channel. */
static int channel_gate(cz_net *net, int x, int channels)
{
    cz_scope_push(net, "ChannelGate");
    int avg = channel_mlp(net, cz_adaptive_avgpool(net, x, "avg_pool", 1, 1), channels);
    /* The same MLP, its parameters shared, on the max-pooled vector. */
    cz_net_share_params(net, true);
    int max = channel_mlp(net, cz_adaptive_maxpool(net, x, "max_pool", 1, 1), channels);
    cz_net_share_params(net, false);
    int scale = cz_activation(net, cz_add(net, avg, max, "sum"), "sigmoid", CZ_ACT_SIGMOID);
    x = cz_channel_mul(net, x, scale, "scale");
    cz_scope_pop(net);
    return x;
}

/* x * sigmoid(bn(conv7x7([max_C x, mean_C x]))), per pixel. */
static int spatial_gate(cz_net *net, int x)
{
    cz_scope_push(net, "SpatialGate");
    int s = cz_channel_pool(net, x, "compress");
    s = cz_conv2d(net, s, "spatial.conv",
                  (cz_conv_args){.out_channels = 1, .kernel = 7, .padding = 3});
    s = cz_batchnorm(net, s, "spatial.bn", 1e-5f, 0.01f);
    s = cz_activation(net, s, "sigmoid", CZ_ACT_SIGMOID);
    x = cz_spatial_mul(net, x, s, "scale");
    cz_scope_pop(net);
    return x;
}

static int cbam(cz_net *net, int x, int channels)
{
    cz_scope_push(net, "cbam");
    x = spatial_gate(net, channel_gate(net, x, channels));
    cz_scope_pop(net);
    return x;
}

/* ------------------------------------------------------------ SENet-154 */

#define SENET154_GROUPS 64
#define SENET154_DROPOUT 0.2f

static int conv_bn_relu(cz_net *net, int x, const char *conv, const char *bn, const char *relu,
                        cz_conv_args args)
{
    return cz_relu(net, cz_resnet_conv_bn(net, x, conv, bn, args), relu);
}

/* layer0: three 3x3 convs (the first strided) to 128 maps, then a 3x3/2
 * max pool with ceil_mode, which Caffe's pooling needs instead of padding. */
static int senet154_layer0(cz_net *net, int x)
{
    cz_scope_push(net, "layer0");
    x = conv_bn_relu(net, x, "conv1", "bn1", "relu1",
                     (cz_conv_args){.out_channels = 64, .kernel = 3, .stride = 2, .padding = 1});
    x = conv_bn_relu(net, x, "conv2", "bn2", "relu2",
                     (cz_conv_args){.out_channels = 64, .kernel = 3, .padding = 1});
    x = conv_bn_relu(net, x, "conv3", "bn3", "relu3",
                     (cz_conv_args){.out_channels = 128, .kernel = 3, .padding = 1});
    cz_scope_pop(net);
    return cz_maxpool(net, x, "pool0", (cz_pool_args){.kernel = 3, .stride = 2, .ceil_mode = true});
}

/* SEBottleneck: 1x1 to 2 planes, 3x3 (stride, 64 groups) to 4 planes, 1x1,
 * SE, plus the shortcut: a projection (1x1 in layer1, 3x3/2 pad 1 after)
 * when the shape changes. */
static int se_bottleneck(cz_net *net, int x, int in_channels, int planes, int stride,
                         int downsample_kernel)
{
    int out_channels = planes * 4;
    int y = conv_bn_relu(net, x, "conv1", "bn1", "relu",
                         (cz_conv_args){.out_channels = planes * 2, .kernel = 1});
    y = conv_bn_relu(net, y, "conv2", "bn2", "relu",
                     (cz_conv_args){.out_channels = out_channels, .kernel = 3, .stride = stride,
                                    .padding = 1, .groups = SENET154_GROUPS});
    y = cz_resnet_conv_bn(net, y, "conv3", "bn3",
                          (cz_conv_args){.out_channels = out_channels, .kernel = 1});
    y = squeeze_excite(net, y, "se_module", out_channels, out_channels / 16);
    int skip = x;
    if (stride != 1 || in_channels != out_channels)
        skip = cz_resnet_conv_bn(net, x, "downsample.0", "downsample.1",
                                 (cz_conv_args){.out_channels = out_channels,
                                                .kernel = downsample_kernel, .stride = stride,
                                                .padding = downsample_kernel / 2});
    return cz_relu(net, cz_add(net, y, skip, "add"), "relu");
}

static cz_net *senet154(int classes, int channels, int height, int width, uint64_t seed)
{
    static const int layers[4] = {3, 8, 36, 3};
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = senet154_layer0(net, CZ_INPUT);
    int features = 128;
    for (int stage = 0; stage < 4; stage++) {
        int planes = 64 << stage;
        for (int b = 0; b < layers[stage]; b++) {
            int stride = (b == 0 && stage > 0) ? 2 : 1;
            cz_scope_push(net, "layer%d.%d", stage + 1, b);
            x = se_bottleneck(net, x, features, planes, stride, stage == 0 ? 1 : 3);
            cz_scope_pop(net);
            features = planes * 4;
        }
    }
    cz_resnet_head(net, x, "last_linear", classes, SENET154_DROPOUT);
    /* timm's legacy SENet _weight_init: kaiming_normal_(fan_out) convs;
     * conv biases (se_module) and last_linear keep PyTorch's default. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_KAIMING_OUT});
    return cz_resnet_finish(net);
}

/* ------------------------------------------------------------ the table */

/* timm's ResNet.init_weights on top of cz_resnet_build's kaiming_normal_
 * (fan_out) convs (SE biases and fc keep PyTorch's default):
 * zero_init_last, bn3 weight 0. */
static cz_net *timm_init(cz_net *net)
{
    cz_init_fill_suffix(net, ".bn3.weight", 0.0f);
    return net;
}

/* The CBAM authors' init (see cz_init_cbam). */
static cz_net *cbam_init(cz_net *net)
{
    if (!net)
        return NULL;
    cz_init_cbam(net);
    return cz_resnet_finish(net);
}

static cz_net *seresnet50(int classes, int channels, int height, int width, uint64_t seed)
{
    static const cz_resnet_config config = {
        .bottleneck = true, .layers = {3, 4, 6, 3}, .attention = timm_se};
    return timm_init(cz_resnet_build(&config, classes, channels, height, width, seed));
}

static cz_net *seresnext50_32x4d(int classes, int channels, int height, int width, uint64_t seed)
{
    static const cz_resnet_config config = {.bottleneck = true,
                                            .layers = {3, 4, 6, 3},
                                            .groups = 32,
                                            .width_per_group = 4,
                                            .attention = timm_se};
    return timm_init(cz_resnet_build(&config, classes, channels, height, width, seed));
}

static cz_net *cbam_resnet50(int classes, int channels, int height, int width, uint64_t seed)
{
    static const cz_resnet_config config = {
        .bottleneck = true, .layers = {3, 4, 6, 3}, .attention = cbam};
    return cbam_init(cz_resnet_build(&config, classes, channels, height, width, seed));
}

static const cz_model_info models[] = {
    {"seresnet50", "SE-ResNet-50 (2017): resnet50 (v1.5) with squeeze-and-excitation, timm", 3,
     224, 224, 1000, seresnet50},
    {"seresnext50_32x4d", "SE-ResNeXt-50 32x4d (2017): resnext50_32x4d with SE, timm", 3, 224,
     224, 1000, seresnext50_32x4d},
    {"senet154", "SENet-154 (2017): 64-group SE bottlenecks 3-8-36-3, timm's legacy_senet154", 3,
     224, 224, 1000, senet154},
    {"cbam_resnet50", "CBAM-ResNet-50 (2018): channel and spatial attention in each bottleneck",
     3, 224, 224, 1000, cbam_resnet50},
};

const cz_family cz_family_senet = CZ_FAMILY(models);
