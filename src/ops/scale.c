/*
 * scale.c - y = x * factor, a constant set when the net is built:
 * Inception-ResNet's residual scaling (the branch is scaled by 0.1-0.2
 * before it joins the shortcut, which keeps very deep residual stacks
 * stable). Any shape; no parameters.
 */
#include <math.h>
#include <string.h>

#include "graph/net.h"

int cz_scale(cz_net *net, int x, const char *name, float factor)
{
    cz_attrs attr = {.scale = {.factor = factor}};
    return cz_net_add_node(net, &cz_op_scale, name, &x, 1, &attr);
}

static cz_status scale_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    /* A NaN or infinite factor would poison every output silently. */
    if (!isfinite(node->attr.scale.factor))
        return cz_node_fail(node, CZ_ERR_ARG, "factor %g must be finite",
                            (double)node->attr.scale.factor);
    node->ndim = in->ndim;
    memcpy(node->shape, in->shape, sizeof node->shape);
    return CZ_OK;
}

/* x (N, ...) -> y (N, ...) = factor x */
static cz_status scale_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data, factor = node->attr.scale.factor;
    long n = (long)(cz_node_numel(node) * (size_t)net->batch);

#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        y[i] = x[i] * factor;
    return CZ_OK;
}

/* dx += factor dy */
static void scale_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *dy = node->dout.data;
    float *dx = in->dout.data, factor = node->attr.scale.factor;
    long n = (long)(cz_node_numel(node) * (size_t)net->batch);

#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        dx[i] += factor * dy[i];
}

const cz_op cz_op_scale = {
    .name = "scale",
    .infer = scale_infer,
    .forward = scale_forward,
    .backward = scale_backward,
};
