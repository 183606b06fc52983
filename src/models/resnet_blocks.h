/*
 * resnet_blocks.h - the torchvision ResNet skeleton that resnet.c and
 * senet.c share: the 7x7 stem, four stages of BasicBlocks or Bottlenecks
 * (v1 or v1.5 stride placement, ResNeXt groups and widths), the classifier
 * head, and a hook that puts an attention module (SE, CBAM) between a
 * block's last BatchNorm and its residual add, where timm and the CBAM
 * authors put theirs. Private to src/models/; defined in resnet.c.
 */
#ifndef CZ_RESNET_BLOCKS_H
#define CZ_RESNET_BLOCKS_H

#include "models.h"

/* torchvision's and timm's BatchNorm2d defaults, used by every ResNet. */
#define CZ_RESNET_BN_EPS 1e-5f
#define CZ_RESNET_BN_MOMENTUM 0.1f

/* Builds an attention module on a block's residual branch x (`channels`
 * maps) inside the block's scope ("layer1.0") and returns the gated
 * branch. */
typedef int (*cz_resnet_attention)(cz_net *net, int x, int channels);

/* One torchvision-style ResNet: torchvision's ResNet(block, layers,
 * groups, width_per_group) plus the 2015 paper's stride placement and an
 * attention hook. Zero means the plain ResNet value: groups 1, width per
 * group 64, no attention. */
typedef struct cz_resnet_config {
    bool bottleneck;               /* Bottleneck (expansion 4), else BasicBlock */
    int layers[4];                 /* blocks in layer1..layer4 */
    int groups;                    /* ResNeXt's cardinality */
    int width_per_group;           /* ResNeXt's d; 128 for wide_resnet*_2 */
    bool stride_in_1x1;            /* v1: stride on the first 1x1, not the 3x3 */
    cz_resnet_attention attention; /* after bn3 (bn2 in a BasicBlock) */
} cz_resnet_config;

/* conv1 7x7/2 - bn1 - relu - maxpool 3x3/2 - layer1..4 - global average
 * pool - fc, with torchvision's names. NULL on error, with the message set. */
cz_net *cz_resnet_build(const cz_resnet_config *config, int classes, int channels, int height,
                        int width, uint64_t seed);

/* conv (no bias unless args say so) then BatchNorm named `bn`. */
int cz_resnet_conv_bn(cz_net *net, int x, const char *conv, const char *bn, cz_conv_args args);

/* Global average pool, flatten, dropout p (none when 0), linear `fc`. */
int cz_resnet_head(cz_net *net, int x, const char *fc, int classes, float dropout);

/* A bottleneck-style block (expansion 4) built in the current scope
 * ("layer2.0"): `downsample` says the shortcut needs a projection. */
typedef int (*cz_resnet_block_fn)(cz_net *net, int x, const void *config, int planes,
                                  int stride, bool downsample);

/* torchvision's four stages layer1..layer4 of layers[s] blocks, planes
 * 64 << s, stride 2 in the first block of stages 2-4, for the ResNet
 * relatives that bring their own block (ResNeSt, Res2Net). */
int cz_resnet_stages(cz_net *net, int x, const int layers[4], int in_channels,
                     cz_resnet_block_fn block, const void *config);

/* Returns the net, or frees it and returns NULL when a builder call
 * failed (the message stays in cz_last_error()). */
cz_net *cz_resnet_finish(cz_net *net);

#endif
