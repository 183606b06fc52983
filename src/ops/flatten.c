/*
 * flatten.c - torch.flatten(x, 1): (C, H, W) per sample to C H W features
 * in row-major order (what a classifier's first Linear expects). Features
 * pass through unchanged.
 */
#include <string.h>

#include "graph/net.h"

int cz_flatten(cz_net *net, int x, const char *name)
{
    return cz_net_add_node(net, &cz_op_flatten, name, &x, 1, NULL);
}

static cz_status flatten_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    size_t numel = cz_node_numel(in);
    if (numel > INT32_MAX)
        return cz_node_fail(node, CZ_ERR_SHAPE, "%zu features do not fit an int", numel);
    node->ndim = 1;
    node->shape[0] = (int)numel;
    return CZ_OK;
}

/* x (N, C, H, W) -> y (N, C H W): the same bytes */
static cz_status flatten_forward(cz_net *net, cz_node *node)
{
    memcpy(node->out.data, cz_node_in(net, node, 0)->out.data,
           cz_node_numel(node) * (size_t)net->batch * sizeof(float));
    return CZ_OK;
}

/* dy (N, C H W) -> dx (N, C, H, W) += dy */
static void flatten_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    size_t n = cz_node_numel(node) * (size_t)net->batch;
    const float *dy = node->dout.data;
    float *dx = in->dout.data;
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i];
}

const cz_op cz_op_flatten = {
    .name = "flatten",
    .infer = flatten_infer,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
