/*
 * channel_shuffle.c - ShuffleNet's channel shuffle as torchvision's
 * channel_shuffle: view the C channels as (groups, C / groups), transpose,
 * flatten. Output channel j * groups + g is input channel g * (C / groups)
 * + j.
 */
#include <string.h>

#include "graph/net.h"

int cz_channel_shuffle(cz_net *net, int x, const char *name, int groups)
{
    cz_attrs attr = {.shuffle = {.groups = groups}};
    return cz_net_add_node(net, &cz_op_channel_shuffle, name, &x, 1, &attr);
}

static cz_status channel_shuffle_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int groups = node->attr.shuffle.groups;
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C, H, W), got %d dims",
                            in->ndim);
    if (groups < 1 || in->shape[0] % groups)
        return cz_node_fail(node, CZ_ERR_ARG, "groups %d must be positive and divide the %d "
                            "channels", groups, in->shape[0]);
    node->ndim = 3;
    for (int i = 0; i < 3; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* The input channel that output channel c reads. */
static int source_channel(int c, int C, int groups)
{
    int per_group = C / groups;
    return (c % groups) * per_group + c / groups;
}

/* x (N, C, H, W) -> y (N, C, H, W) with channels permuted */
static cz_status channel_shuffle_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    int C = node->shape[0], groups = node->attr.shuffle.groups;
    size_t HW = (size_t)node->shape[1] * node->shape[2];

#pragma omp parallel for schedule(static)
    for (int p = 0; p < net->batch * C; p++) {
        int n = p / C, c = p % C;
        memcpy(y + (size_t)p * HW, x + ((size_t)n * C + source_channel(c, C, groups)) * HW,
               HW * sizeof(float));
    }
    return CZ_OK;
}

/* dy (N, C, H, W) -> dx (N, C, H, W) += dy with the inverse permutation */
static void channel_shuffle_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *dy = node->dout.data;
    float *dx = in->dout.data;
    int C = node->shape[0], groups = node->attr.shuffle.groups;
    size_t HW = (size_t)node->shape[1] * node->shape[2];

    /* A permutation: each output plane adds into a distinct input plane. */
#pragma omp parallel for schedule(static)
    for (int p = 0; p < net->batch * C; p++) {
        int n = p / C, c = p % C;
        float *dxp = dx + ((size_t)n * C + source_channel(c, C, groups)) * HW;
        const float *dyp = dy + (size_t)p * HW;
        for (size_t i = 0; i < HW; i++)
            dxp[i] += dyp[i];
    }
}

const cz_op cz_op_channel_shuffle = {
    .name = "channel_shuffle",
    .infer = channel_shuffle_infer,
    .forward = channel_shuffle_forward,
    .backward = channel_shuffle_backward,
};
