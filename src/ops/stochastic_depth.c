/*
 * stochastic_depth.c - torchvision's StochasticDepth(p, "row"): in training
 * each sample of the residual branch is kept with probability 1 - p and
 * scaled by 1 / (1 - p), or zeroed, so the block is the identity for it;
 * evaluation is the identity. One draw per sample from the net's rng, kept
 * for backward.
 */
#include <stdint.h>

#include "graph/net.h"

typedef struct saved_rows {
    int32_t masked;
    uint8_t keep[];
} saved_rows;

int cz_stochastic_depth(cz_net *net, int x, const char *name, float p)
{
    cz_attrs attr = {.dropout = {.p = p}};
    return cz_net_add_node(net, &cz_op_stochastic_depth, name, &x, 1, &attr);
}

static cz_status stochastic_depth_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    float p = node->attr.dropout.p;
    if (!(p >= 0.0f && p < 1.0f))
        return cz_node_fail(node, CZ_ERR_ARG, "probability %g must lie in [0, 1)", p);
    node->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* x (N, ...) -> y (N, ...) = x keep[n] / (1 - p) in training, x otherwise */
static cz_status stochastic_depth_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    size_t row = cz_node_numel(node);
    float p = node->attr.dropout.p;
    bool active = net->training && !net->dropout_off && p > 0.0f;
    saved_rows *s = cz_node_saved(node, sizeof *s + (size_t)net->batch);
    if (!s)
        return CZ_ERR_NOMEM;
    s->masked = active;
    float scale = active ? 1.0f / (1.0f - p) : 1.0f;
    for (int n = 0; n < net->batch; n++) {
        s->keep[n] = !active || cz_rng_uniform(cz_net_rng(net)) >= p;
        float k = s->keep[n] ? scale : 0.0f;
        for (size_t i = 0; i < row; i++)
            y[(size_t)n * row + i] = x[(size_t)n * row + i] * k;
    }
    return CZ_OK;
}

/* dy -> dx += dy keep[n] / (1 - p) (dy after an eval forward) */
static void stochastic_depth_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const saved_rows *s = node->saved;
    size_t row = cz_node_numel(node);
    float scale = s->masked ? 1.0f / (1.0f - node->attr.dropout.p) : 1.0f;
    for (int n = 0; n < net->batch; n++) {
        float k = s->keep[n] ? scale : 0.0f;
        for (size_t i = 0; i < row; i++)
            in->dout.data[(size_t)n * row + i] += node->dout.data[(size_t)n * row + i] * k;
    }
}

const cz_op cz_op_stochastic_depth = {
    .name = "stochastic_depth",
    .infer = stochastic_depth_infer,
    .forward = stochastic_depth_forward,
    .backward = stochastic_depth_backward,
};
