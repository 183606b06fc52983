/*
 * inception.c - Inception v3 (Szegedy et al. 2015, "Rethinking the
 * Inception Architecture"), Inception v4 and Inception-ResNet-v2 (Szegedy
 * et al. 2016, "Inception-v4, Inception-ResNet and the Impact of Residual
 * Connections on Learning").
 *
 *   inception_v3         torchvision 0.14's, keys Conv2d_1a_3x3, Mixed_5b,
 *                        ..., AuxLogits, fc; avg pools count the padding.
 *   inception_v4         timm's, keys features.0-21, last_linear.
 *   inception_resnet_v2  timm's, keys conv2d_1a, mixed_5b, repeat.N,
 *                        repeat_1.N, repeat_2.N, block8, conv2d_7b, classif.
 *
 * Every conv is BasicConv2d: conv (no bias) -> bn (eps 1e-3) -> ReLU; the
 * modules' branches are concatenated in the order their source lists
 * them. timm's avg pools exclude the padding from the count. Each net
 * halves the size five times with unpadded 3x3/2 convs and pools (and
 * trims it with unpadded 3x3 convs), so an input must be at least 75x75;
 * below that the op that cannot fit says so. Default input 299x299,
 * where the final maps are 8x8.
 */
#include <stdio.h>

#include "models.h"
#include "init.h"

#define BN_EPS 1e-3f
#define BN_MOMENTUM 0.1f

/* A BasicConv2d's shape: out channels, kernel h x w, stride, padding h x w,
 * written as the sources write them: {192, 1, 7, 1, 0, 3} is
 * conv_block(in, 192, kernel_size=(1, 7), stride=1, padding=(0, 3)). */
typedef struct conv_spec {
    int out, kh, kw, stride, ph, pw;
} conv_spec;

/* The shapes that recur, after the out channels: {96, K3} is a 3x3 conv
 * to 96 channels with padding 1. Unpadded 3x3 convs are written out. */
#define K1 1, 1, 1, 0, 0   /* 1x1 */
#define K3 3, 3, 1, 1, 1   /* 3x3, padding 1: keeps the size */
#define K3S2 3, 3, 2, 0, 0 /* 3x3/2, no padding: the reductions */
#define K17 1, 7, 1, 0, 3  /* 1x7, padding (0, 3) */
#define K71 7, 1, 1, 3, 0  /* 7x1, padding (3, 0) */
#define K13 1, 3, 1, 0, 1  /* 1x3, padding (0, 1) */
#define K31 3, 1, 1, 1, 0  /* 3x1, padding (1, 0) */

/* BasicConv2d `name`: conv (no bias) -> bn -> ReLU. */
static int basic_conv(cz_net *net, int x, const char *name, conv_spec c)
{
    cz_scope_push(net, "%s", name);
    x = cz_conv2d(net, x, "conv",
                  (cz_conv_args){.out_channels = c.out, .kernel_h = c.kh, .kernel_w = c.kw,
                                 .stride = c.stride, .padding_h = c.ph, .padding_w = c.pw});
    x = cz_batchnorm(net, x, "bn", BN_EPS, BN_MOMENTUM);
    x = cz_relu(net, x, "relu");
    cz_scope_pop(net);
    return x;
}

/* An nn.Sequential `name` of n BasicConv2d, children first, first + 1... */
static int conv_seq(cz_net *net, int x, const char *name, int first, const conv_spec *c, int n)
{
    char child[12];
    cz_scope_push(net, "%s", name);
    for (int i = 0; i < n; i++) {
        snprintf(child, sizeof child, "%d", first + i);
        x = basic_conv(net, x, child, c[i]);
    }
    cz_scope_pop(net);
    return x;
}
#define SEQ(net, x, name, ...) \
    conv_seq(net, x, name, 0, (const conv_spec[]){__VA_ARGS__}, \
             (int)(sizeof((const conv_spec[]){__VA_ARGS__}) / sizeof(conv_spec)))

static int max_pool3s2(cz_net *net, int x, const char *name)
{
    return cz_maxpool(net, x, name, (cz_pool_args){.kernel = 3, .stride = 2});
}

/* 3x3/1 average pool, padding 1; torchvision's F.avg_pool2d counts the
 * padding, timm's nn.AvgPool2d(count_include_pad=False) does not. */
static int avg_pool3s1(cz_net *net, int x, const char *name, bool count_include_pad)
{
    return cz_avgpool(net, x, name,
                      (cz_pool_args){.kernel = 3, .stride = 1, .padding = 1,
                                     .count_include_pad = count_include_pad});
}

/* avgpool 3/1 -> 1x1 BasicConv2d, as an nn.Sequential `name` (pool is 0). */
static int pool_branch(cz_net *net, int x, const char *name, int out, bool count_include_pad)
{
    cz_scope_push(net, "%s", name);
    x = avg_pool3s1(net, x, "0", count_include_pad);
    x = basic_conv(net, x, "1", (conv_spec){out, 1, 1, 1, 0, 0});
    cz_scope_pop(net);
    return x;
}

static int cat(cz_net *net, const int *branches, int n)
{
    return cz_concat(net, branches, n, "cat");
}

/* A module's last line: closes the scope its function opened. */
static int module_end(cz_net *net, int y)
{
    cz_scope_pop(net);
    return y;
}

/* Global average pool -> flatten -> [dropout] -> linear `fc_name`. */
static int classifier(cz_net *net, int x, const char *pool_name, float dropout,
                      const char *fc_name, int classes)
{
    x = cz_adaptive_avgpool(net, x, pool_name, 1, 1);
    x = cz_flatten(net, x, "flatten");
    if (dropout > 0.0f)
        x = cz_dropout(net, x, "dropout", dropout);
    return cz_linear(net, x, fc_name, classes, true);
}

static cz_net *finish(cz_net *net)
{
    if (cz_net_status(net) != CZ_OK) {
        cz_net_free(net);
        return NULL;
    }
    return net;
}

/* ============================================================ Inception v3
 * torchvision's module and key names; `1x1` etc. in the names are theirs. */

/* InceptionA (35x35): 1x1 64 | 1x1 48 -> 5x5 64 | 1x1 64 -> 3x3 96 -> 3x3
 * 96 | avgpool -> 1x1 pool_features. */
static int v3_inception_a(cz_net *net, int x, const char *name, int pool_features)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = basic_conv(net, x, "branch1x1", (conv_spec){64, K1});
    b[1] = basic_conv(net, x, "branch5x5_1", (conv_spec){48, K1});
    b[1] = basic_conv(net, b[1], "branch5x5_2", (conv_spec){64, 5, 5, 1, 2, 2});
    b[2] = basic_conv(net, x, "branch3x3dbl_1", (conv_spec){64, K1});
    b[2] = basic_conv(net, b[2], "branch3x3dbl_2", (conv_spec){96, K3});
    b[2] = basic_conv(net, b[2], "branch3x3dbl_3", (conv_spec){96, K3});
    b[3] = avg_pool3s1(net, x, "avg_pool", true);
    b[3] = basic_conv(net, b[3], "branch_pool", (conv_spec){pool_features, K1});
    return module_end(net, cat(net, b, 4));
}

/* InceptionB (35 -> 17): 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 |
 * maxpool 3/2. */
static int v3_inception_b(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = basic_conv(net, x, "branch3x3", (conv_spec){384, K3S2});
    b[1] = basic_conv(net, x, "branch3x3dbl_1", (conv_spec){64, K1});
    b[1] = basic_conv(net, b[1], "branch3x3dbl_2", (conv_spec){96, K3});
    b[1] = basic_conv(net, b[1], "branch3x3dbl_3", (conv_spec){96, K3S2});
    b[2] = max_pool3s2(net, x, "max_pool");
    return module_end(net, cat(net, b, 3));
}

/* InceptionC (17x17), the factorised 7x7: 1x1 192 | 1x1 c7 -> 1x7 -> 7x1
 * 192 | 1x1 c7 -> 7x1 -> 1x7 -> 7x1 -> 1x7 192 | avgpool -> 1x1 192. */
static int v3_inception_c(cz_net *net, int x, const char *name, int c7)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = basic_conv(net, x, "branch1x1", (conv_spec){192, K1});
    b[1] = basic_conv(net, x, "branch7x7_1", (conv_spec){c7, K1});
    b[1] = basic_conv(net, b[1], "branch7x7_2", (conv_spec){c7, K17});
    b[1] = basic_conv(net, b[1], "branch7x7_3", (conv_spec){192, K71});
    b[2] = basic_conv(net, x, "branch7x7dbl_1", (conv_spec){c7, K1});
    b[2] = basic_conv(net, b[2], "branch7x7dbl_2", (conv_spec){c7, K71});
    b[2] = basic_conv(net, b[2], "branch7x7dbl_3", (conv_spec){c7, K17});
    b[2] = basic_conv(net, b[2], "branch7x7dbl_4", (conv_spec){c7, K71});
    b[2] = basic_conv(net, b[2], "branch7x7dbl_5", (conv_spec){192, K17});
    b[3] = avg_pool3s1(net, x, "avg_pool", true);
    b[3] = basic_conv(net, b[3], "branch_pool", (conv_spec){192, K1});
    return module_end(net, cat(net, b, 4));
}

/* InceptionD (17 -> 8): 1x1 192 -> 3x3/2 320 | 1x1 192 -> 1x7 -> 7x1 ->
 * 3x3/2 192 | maxpool 3/2. */
static int v3_inception_d(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = basic_conv(net, x, "branch3x3_1", (conv_spec){192, K1});
    b[0] = basic_conv(net, b[0], "branch3x3_2", (conv_spec){320, K3S2});
    b[1] = basic_conv(net, x, "branch7x7x3_1", (conv_spec){192, K1});
    b[1] = basic_conv(net, b[1], "branch7x7x3_2", (conv_spec){192, K17});
    b[1] = basic_conv(net, b[1], "branch7x7x3_3", (conv_spec){192, K71});
    b[1] = basic_conv(net, b[1], "branch7x7x3_4", (conv_spec){192, K3S2});
    b[2] = max_pool3s2(net, x, "max_pool");
    return module_end(net, cat(net, b, 3));
}

/* InceptionE (8x8), the expanded filter bank: 1x1 320 | 1x1 384 -> (1x3 |
 * 3x1) 384 each | 1x1 448 -> 3x3 384 -> (1x3 | 3x1) | avgpool -> 1x1 192:
 * 2048 channels. */
static int v3_inception_e(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[6];
    b[0] = basic_conv(net, x, "branch1x1", (conv_spec){320, K1});
    int t = basic_conv(net, x, "branch3x3_1", (conv_spec){384, K1});
    b[1] = basic_conv(net, t, "branch3x3_2a", (conv_spec){384, K13});
    b[2] = basic_conv(net, t, "branch3x3_2b", (conv_spec){384, K31});
    t = basic_conv(net, x, "branch3x3dbl_1", (conv_spec){448, K1});
    t = basic_conv(net, t, "branch3x3dbl_2", (conv_spec){384, K3});
    b[3] = basic_conv(net, t, "branch3x3dbl_3a", (conv_spec){384, K13});
    b[4] = basic_conv(net, t, "branch3x3dbl_3b", (conv_spec){384, K31});
    b[5] = avg_pool3s1(net, x, "avg_pool", true);
    b[5] = basic_conv(net, b[5], "branch_pool", (conv_spec){192, K1});
    return module_end(net, cat(net, b, 6));
}

/* InceptionAux on Mixed_6e (768 x 17 x 17 at 299): avgpool 5/3 -> 1x1 128
 * -> 5x5 768 -> global avg pool -> fc; a training-only branch.
 * torchvision's head only fits a map of at least 17x17 (an input of at
 * least 291x291): below that PyTorch cannot train the model at all. There
 * the head pools adaptively to the 5x5 it sees at 299, so the same
 * weights still train at any size eval allows; at 17x17 and above it is
 * torchvision's exactly. */
static void v3_inception_aux(cz_net *net, int x, int classes)
{
    int shape[3];
    cz_net_begin_aux(net);
    cz_scope_push(net, "AuxLogits");
    if (cz_net_node_shape(net, x, shape) == 3 && shape[1] >= 17 && shape[2] >= 17)
        x = cz_avgpool(net, x, "avg_pool",
                       (cz_pool_args){.kernel = 5, .stride = 3, .count_include_pad = true});
    else
        x = cz_adaptive_avgpool(net, x, "avg_pool", 5, 5);
    x = basic_conv(net, x, "conv0", (conv_spec){128, K1});
    x = basic_conv(net, x, "conv1", (conv_spec){768, 5, 5, 1, 0, 0});
    x = classifier(net, x, "adaptive_avg_pool", 0.0f, "fc", classes);
    cz_scope_pop(net);
    cz_net_end_aux(net, x);
}

static cz_net *inception_v3(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = basic_conv(net, CZ_INPUT, "Conv2d_1a_3x3", (conv_spec){32, K3S2});
    x = basic_conv(net, x, "Conv2d_2a_3x3", (conv_spec){32, 3, 3, 1, 0, 0});
    x = basic_conv(net, x, "Conv2d_2b_3x3", (conv_spec){64, K3});
    x = max_pool3s2(net, x, "maxpool1");
    x = basic_conv(net, x, "Conv2d_3b_1x1", (conv_spec){80, K1});
    x = basic_conv(net, x, "Conv2d_4a_3x3", (conv_spec){192, 3, 3, 1, 0, 0});
    x = max_pool3s2(net, x, "maxpool2");
    x = v3_inception_a(net, x, "Mixed_5b", 32);
    x = v3_inception_a(net, x, "Mixed_5c", 64);
    x = v3_inception_a(net, x, "Mixed_5d", 64);
    x = v3_inception_b(net, x, "Mixed_6a");
    x = v3_inception_c(net, x, "Mixed_6b", 128);
    x = v3_inception_c(net, x, "Mixed_6c", 160);
    x = v3_inception_c(net, x, "Mixed_6d", 160);
    x = v3_inception_c(net, x, "Mixed_6e", 192);
    if (cz_net_status(net) == CZ_OK) /* the head reads Mixed_6e's shape */
        v3_inception_aux(net, x, classes);
    x = v3_inception_d(net, x, "Mixed_7a");
    x = v3_inception_e(net, x, "Mixed_7b");
    x = v3_inception_e(net, x, "Mixed_7c");
    x = classifier(net, x, "avgpool", 0.5f, "fc", classes);
    cz_net_set_output(net, x);
    /* torchvision's init_weights: conv and linear weights trunc_normal_
     * (std 0.1, or the module's stddev, a=-2, b=2), biases PyTorch's
     * default. Only AuxLogits.fc (0.001) has a stddev that the loop sees:
     * AuxLogits.conv1's 0.01 is set on the BasicConv2d, not on its conv. */
    cz_init_apply(net, &(cz_init_scheme){.conv_weight = CZ_FILL_TRUNC_NORMAL,
                                         .linear_weight = CZ_FILL_TRUNC_NORMAL,
                                         .std = 0.1f});
    cz_init_param(net, "AuxLogits.fc.weight", CZ_FILL_TRUNC_NORMAL, 0.001f);
    return finish(net);
}

/* ============================================================ Inception v4
 * timm's features.N modules; `branchN` names as timm's. */

/* Mixed3a (stem): maxpool 3/2 | 3x3/2 96. */
static int v4_mixed_3a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[2];
    b[0] = max_pool3s2(net, x, "maxpool");
    b[1] = basic_conv(net, x, "conv", (conv_spec){96, K3S2});
    return module_end(net, cat(net, b, 2));
}

/* Mixed4a (stem): 1x1 64 -> 3x3 96 | 1x1 64 -> 1x7 -> 7x1 -> 3x3 96 (both
 * 3x3 unpadded). */
static int v4_mixed_4a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[2];
    b[0] = SEQ(net, x, "branch0", {64, K1}, {96, 3, 3, 1, 0, 0});
    b[1] = SEQ(net, x, "branch1", {64, K1}, {64, K17}, {64, K71}, {96, 3, 3, 1, 0, 0});
    return module_end(net, cat(net, b, 2));
}

/* Mixed5a (stem): 3x3/2 192 | maxpool 3/2. */
static int v4_mixed_5a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[2];
    b[0] = basic_conv(net, x, "conv", (conv_spec){192, K3S2});
    b[1] = max_pool3s2(net, x, "maxpool");
    return module_end(net, cat(net, b, 2));
}

/* Inception-A (35x35, paper Fig. 4): 384 channels in and out. */
static int v4_inception_a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){96, K1});
    b[1] = SEQ(net, x, "branch1", {64, K1}, {96, K3});
    b[2] = SEQ(net, x, "branch2", {64, K1}, {96, K3}, {96, K3});
    b[3] = pool_branch(net, x, "branch3", 96, false);
    return module_end(net, cat(net, b, 4));
}

/* Reduction-A (35 -> 17, Fig. 7 with k, l, m, n = 192, 224, 256, 384). */
static int v4_reduction_a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){384, K3S2});
    b[1] = SEQ(net, x, "branch1", {192, K1}, {224, K3}, {256, K3S2});
    b[2] = max_pool3s2(net, x, "branch2");
    return module_end(net, cat(net, b, 3));
}

/* Inception-B (17x17, Fig. 5): 1024 channels in and out. */
static int v4_inception_b(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){384, K1});
    b[1] = SEQ(net, x, "branch1", {192, K1}, {224, K17}, {256, K71});
    b[2] = SEQ(net, x, "branch2", {192, K1}, {192, K71}, {224, K17}, {224, K71}, {256, K17});
    b[3] = pool_branch(net, x, "branch3", 128, false);
    return module_end(net, cat(net, b, 4));
}

/* Reduction-B (17 -> 8, Fig. 8). */
static int v4_reduction_b(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = SEQ(net, x, "branch0", {192, K1}, {192, K3S2});
    b[1] = SEQ(net, x, "branch1", {256, K1}, {256, K17}, {320, K71}, {320, K3S2});
    b[2] = max_pool3s2(net, x, "branch2");
    return module_end(net, cat(net, b, 3));
}

/* Inception-C (8x8, Fig. 6): 1536 channels in and out; two branches end
 * in a 1x3 | 3x1 pair. */
static int v4_inception_c(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[6];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){256, K1});
    int t = basic_conv(net, x, "branch1_0", (conv_spec){384, K1});
    b[1] = basic_conv(net, t, "branch1_1a", (conv_spec){256, K13});
    b[2] = basic_conv(net, t, "branch1_1b", (conv_spec){256, K31});
    t = basic_conv(net, x, "branch2_0", (conv_spec){384, K1});
    t = basic_conv(net, t, "branch2_1", (conv_spec){448, K31});
    t = basic_conv(net, t, "branch2_2", (conv_spec){512, K13});
    b[3] = basic_conv(net, t, "branch2_3a", (conv_spec){256, K13});
    b[4] = basic_conv(net, t, "branch2_3b", (conv_spec){256, K31});
    b[5] = pool_branch(net, x, "branch3", 256, false);
    return module_end(net, cat(net, b, 6));
}

/* features.N, in order: stem convs 0-2, then the modules. */
typedef int (*v4_module)(cz_net *net, int x, const char *name);

static const v4_module v4_features[] = {
    v4_mixed_3a,    v4_mixed_4a,    v4_mixed_5a,    v4_inception_a, v4_inception_a,
    v4_inception_a, v4_inception_a, v4_reduction_a, v4_inception_b, v4_inception_b,
    v4_inception_b, v4_inception_b, v4_inception_b, v4_inception_b, v4_inception_b,
    v4_reduction_b, v4_inception_c, v4_inception_c, v4_inception_c,
};

static cz_net *inception_v4(int classes, int channels, int height, int width, uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = SEQ(net, CZ_INPUT, "features", {32, K3S2}, {32, 3, 3, 1, 0, 0}, {64, K3});
    char name[16];
    for (size_t i = 0; i < sizeof v4_features / sizeof v4_features[0]; i++) {
        snprintf(name, sizeof name, "features.%zu", i + 3);
        x = v4_features[i](net, x, name);
    }
    classifier(net, x, "global_pool", 0.0f, "last_linear", classes);
    return finish(net);
}

/* ===================================================== Inception-ResNet-v2
 * timm's names. A residual block: its branches concatenated, a 1x1
 * conv2d (with bias, no BN) back to the input's width, scaled, added to
 * the input, ReLU (none in the final block8). The paper scales by 0.1-0.3
 * so the residuals do not swamp the shortcut early in training. */

static int residual(cz_net *net, int x, const int *branches, int n, int channels, float scale,
                    bool relu)
{
    int r = cz_concat(net, branches, n, "cat");
    r = cz_conv2d(net, r, "conv2d",
                  (cz_conv_args){.out_channels = channels, .kernel = 1, .bias = true});
    r = cz_scale(net, r, "scale", scale);
    r = cz_add(net, r, x, "add");
    return relu ? cz_relu(net, r, "relu") : r;
}

/* Mixed_5b (stem end, 35x35): 192 -> 320 channels. */
static int irv2_mixed_5b(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){96, K1});
    b[1] = SEQ(net, x, "branch1", {48, K1}, {64, 5, 5, 1, 2, 2});
    b[2] = SEQ(net, x, "branch2", {64, K1}, {96, K3}, {96, K3});
    b[3] = pool_branch(net, x, "branch3", 64, false);
    return module_end(net, cat(net, b, 4));
}

/* Block35 = Inception-ResNet-A (35x35, Fig. 16), 320 channels. */
static int irv2_block35(cz_net *net, int x, const char *name, float scale)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){32, K1});
    b[1] = SEQ(net, x, "branch1", {32, K1}, {32, K3});
    b[2] = SEQ(net, x, "branch2", {32, K1}, {48, K3}, {64, K3});
    return module_end(net, residual(net, x, b, 3, 320, scale, true));
}

/* Mixed_6a = Reduction-A (35 -> 17, k, l, m, n = 256, 256, 384, 384). */
static int irv2_mixed_6a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[3];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){384, K3S2});
    b[1] = SEQ(net, x, "branch1", {256, K1}, {256, K3}, {384, K3S2});
    b[2] = max_pool3s2(net, x, "branch2");
    return module_end(net, cat(net, b, 3));
}

/* Block17 = Inception-ResNet-B (17x17, Fig. 17), 1088 channels. */
static int irv2_block17(cz_net *net, int x, const char *name, float scale)
{
    cz_scope_push(net, "%s", name);
    int b[2];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){192, K1});
    b[1] = SEQ(net, x, "branch1", {128, K1}, {160, K17}, {192, K71});
    return module_end(net, residual(net, x, b, 2, 1088, scale, true));
}

/* Mixed_7a = Reduction-B (17 -> 8, Fig. 18): 1088 -> 2080 channels. */
static int irv2_mixed_7a(cz_net *net, int x, const char *name)
{
    cz_scope_push(net, "%s", name);
    int b[4];
    b[0] = SEQ(net, x, "branch0", {256, K1}, {384, K3S2});
    b[1] = SEQ(net, x, "branch1", {256, K1}, {288, K3S2});
    b[2] = SEQ(net, x, "branch2", {256, K1}, {288, K3}, {320, K3S2});
    b[3] = max_pool3s2(net, x, "branch3");
    return module_end(net, cat(net, b, 4));
}

/* Block8 = Inception-ResNet-C (8x8, Fig. 19), 2080 channels. */
static int irv2_block8(cz_net *net, int x, const char *name, float scale, bool relu)
{
    cz_scope_push(net, "%s", name);
    int b[2];
    b[0] = basic_conv(net, x, "branch0", (conv_spec){192, K1});
    b[1] = SEQ(net, x, "branch1", {192, K1}, {224, K13}, {256, K31});
    return module_end(net, residual(net, x, b, 2, 2080, scale, relu));
}

/* n blocks as nn.Sequential `name`: name.0 ... name.(n-1). */
static int repeat(cz_net *net, int x, const char *name, int n,
                  int (*block)(cz_net *, int, const char *, float), float scale)
{
    char child[32];
    for (int i = 0; i < n; i++) {
        snprintf(child, sizeof child, "%s.%d", name, i);
        x = block(net, x, child, scale);
    }
    return x;
}

static int irv2_block8_relu(cz_net *net, int x, const char *name, float scale)
{
    return irv2_block8(net, x, name, scale, true);
}

static cz_net *inception_resnet_v2(int classes, int channels, int height, int width,
                                   uint64_t seed)
{
    cz_net *net = cz_net_create(channels, height, width, seed);
    if (!net)
        return NULL;
    int x = basic_conv(net, CZ_INPUT, "conv2d_1a", (conv_spec){32, K3S2});
    x = basic_conv(net, x, "conv2d_2a", (conv_spec){32, 3, 3, 1, 0, 0});
    x = basic_conv(net, x, "conv2d_2b", (conv_spec){64, K3});
    x = max_pool3s2(net, x, "maxpool_3a");
    x = basic_conv(net, x, "conv2d_3b", (conv_spec){80, K1});
    x = basic_conv(net, x, "conv2d_4a", (conv_spec){192, 3, 3, 1, 0, 0});
    x = max_pool3s2(net, x, "maxpool_5a");
    x = irv2_mixed_5b(net, x, "mixed_5b");
    x = repeat(net, x, "repeat", 10, irv2_block35, 0.17f);
    x = irv2_mixed_6a(net, x, "mixed_6a");
    x = repeat(net, x, "repeat_1", 20, irv2_block17, 0.10f);
    x = irv2_mixed_7a(net, x, "mixed_7a");
    x = repeat(net, x, "repeat_2", 9, irv2_block8_relu, 0.20f);
    x = irv2_block8(net, x, "block8", 1.0f, false);
    x = basic_conv(net, x, "conv2d_7b", (conv_spec){1536, K1});
    classifier(net, x, "global_pool", 0.0f, "classif", classes);
    return finish(net);
}

static const cz_model_info models[] = {
    {"inception_v3", "Inception v3 (2015): factorised 7x7 and 3x3 modules, auxiliary head", 3,
     299, 299, 1000, inception_v3},
    {"inception_v4", "Inception v4 (2016): pure Inception, 14 modules + reductions (timm)", 3, 299,
     299, 1000, inception_v4},
    {"inception_resnet_v2",
     "Inception-ResNet-v2 (2016): 39 scaled residual Inception blocks (timm)", 3, 299, 299, 1000,
     inception_resnet_v2},
};

const cz_family cz_family_inception = CZ_FAMILY(models);
