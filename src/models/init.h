/*
 * init.h - weight initialisation schemes (internal to the library).
 *
 * Every conv and linear op draws PyTorch's module default when it is built
 * (kaiming_uniform with a = sqrt(5): weight and bias U(-1/sqrt(fan_in), +)),
 * and every BatchNorm starts at weight 1, bias 0, running statistics 0/1.
 * A family whose source (torchvision 0.14, timm, the authors' code)
 * re-initialises after construction calls cz_init_apply with its scheme at
 * the end of its builder, so cz_model_create gives that source's
 * distributions. cz_init_paper re-draws AlexNet and ZFNet as their papers
 * did (`cnnzoo train --init paper`).
 *
 * fan_in = in_channels / groups x kh x kw (linear: in_features) and
 * fan_out = out_channels x kh x kw (linear: out_features), as PyTorch's
 * _calculate_fan_in_and_fan_out computes them: groups do not divide
 * fan_out. CZ_FILL_KAIMING_OUT_GROUPS is timm's TensorFlow-style variant
 * that does divide it (a depthwise 3x3 has fan_out 9).
 */
#ifndef CZ_INIT_H
#define CZ_INIT_H

#include "cnnzoo.h"

typedef enum cz_init_fill {
    CZ_FILL_KEEP,               /* leave PyTorch's module default */
    CZ_FILL_ZERO,               /* 0 */
    CZ_FILL_ONE,                /* 1 */
    CZ_FILL_TORCH_DEFAULT,      /* U(-1/sqrt(fan_in), +): PyTorch's module default,
                                   re-drawn */
    CZ_FILL_KAIMING_IN,         /* N(0, 2 / fan_in): kaiming_normal_() */
    CZ_FILL_KAIMING_OUT,        /* N(0, 2 / fan_out): kaiming_normal_(mode="fan_out") */
    CZ_FILL_KAIMING_OUT_GROUPS, /* N(0, 2 / (fan_out / groups)): timm's
                                   _init_weight_goog */
    CZ_FILL_NORMAL,             /* N(0, std^2) */
    CZ_FILL_TRUNC_NORMAL,       /* N(0, std^2) redrawn outside [-2, 2]:
                                   trunc_normal_(a=-2, b=2) */
    CZ_FILL_UNIFORM_OUT,        /* U(-1/sqrt(fan_out), +): EfficientNet's classifier */
} cz_init_fill;

/* What a family's constructor does to its layers after building them.
 * BatchNorm is left at 1 / 0 (every family here wants that). */
typedef struct cz_init_scheme {
    cz_init_fill conv_weight, conv_bias;
    cz_init_fill linear_weight, linear_bias;
    float std; /* for CZ_FILL_NORMAL and CZ_FILL_TRUNC_NORMAL */
} cz_init_scheme;

/* Re-draws every conv and linear parameter of the net by the scheme, in
 * node order from the net's generator. A shapes-only net or one whose
 * build failed is left as it is. These builder-time calls record a
 * failure in the net (like a failed builder call), so a builder calls
 * them before its final cz_net_status() check. */
void cz_init_apply(cz_net *net, const cz_init_scheme *scheme);

/* Re-draws the one parameter named `name` (a conv's or linear's weight or
 * bias, whose fans the fills use). CZ_ERR_ARG, recorded in the net, if
 * there is none. */
cz_status cz_init_param(cz_net *net, const char *name, cz_init_fill fill, float std);

/* Sets every parameter whose name ends with `suffix` (".bn3.weight") to
 * `value`; returns how many were set. timm's zero_init_last. */
int cz_init_fill_suffix(cz_net *net, const char *suffix, float value);

/* The CBAM authors' ResidualNet init (Jongchan/attention-module): fc
 * weight N(0, 2 / fan_in); every weight whose key holds "conv" N(0, 2 /
 * fan_out); every weight whose key holds "bn" 1, or 0 in the SpatialGate;
 * every bias 0. Other weights (downsample, the channel gate's MLP) get
 * PyTorch's default again (cz_resnet_build has re-drawn the convs). */
void cz_init_cbam(cz_net *net);

/* The original papers' initialisation, for `model`:
 *   alexnet, alexnet_paper  Krizhevsky et al. 2012, Sec. 5: every conv and
 *                           linear weight N(0, 0.01^2); biases 1 in the
 *                           2nd, 4th and 5th convs and the hidden linears
 *                           (fc6, fc7), 0 elsewhere (conv1, conv3, fc8).
 *   zfnet                   Zeiler & Fergus 2013, Sec. 3: weights
 *                           N(0, 0.01^2) ("initialized to 10^-2"),
 *                           biases 0.
 * Draws from `seed` (not the net's generator), so the same seed gives the
 * same weights whatever was drawn before. CZ_ERR_ARG for other models. */
cz_status cz_init_paper(cz_net *net, const char *model, uint64_t seed);

#endif
