/*
 * dropout.c - inverted dropout as PyTorch's Dropout, and torchvision's
 * StochasticDepth(p, "row"), which is the same with one draw per sample:
 * in training each element (or each sample, whole) is kept with
 * probability 1 - p and scaled by 1 / (1 - p), so evaluation is the
 * identity. The mask is drawn from the net's rng one unit after another
 * (not in parallel), so a seed fixes it whatever the thread count; it is
 * kept for backward.
 */
#include <stdint.h>
#include <string.h>

#include "graph/net.h"

/* Saved state: whether the last forward dropped anything, then the mask. */
typedef struct saved_mask {
    int32_t masked;
    uint8_t keep[];
} saved_mask;

int cz_dropout(cz_net *net, int x, const char *name, float p)
{
    cz_attrs attr = {.dropout = {.p = p}};
    return cz_net_add_node(net, &cz_op_dropout, name, &x, 1, &attr);
}

int cz_stochastic_depth(cz_net *net, int x, const char *name, float p)
{
    cz_attrs attr = {.dropout = {.p = p}};
    return cz_net_add_node(net, &cz_op_stochastic_depth, name, &x, 1, &attr);
}

static cz_status dropout_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    float p = node->attr.dropout.p;
    /* p = 1 would divide by zero; PyTorch allows it, but no model uses it. */
    if (!(p >= 0.0f && p < 1.0f))
        return cz_node_fail(node, CZ_ERR_ARG, "probability %g must lie in [0, 1)", p);
    node->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* Elements per mask draw: 1 for dropout, a whole sample for stochastic
 * depth. */
static size_t unit(const cz_node *node)
{
    return node->op == &cz_op_stochastic_depth ? cz_node_numel(node) : 1;
}

/* x (N, ...) -> y (N, ...) = x keep / (1 - p) in training, x otherwise */
static cz_status dropout_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    size_t n = cz_node_numel(node) * (size_t)net->batch, u = unit(node);
    float p = node->attr.dropout.p;
    bool active = net->training && !net->dropout_off && p > 0.0f;
    saved_mask *s = cz_node_saved(node, sizeof *s + (active ? n / u : 0));
    if (!s)
        return CZ_ERR_NOMEM;
    s->masked = active;
    if (!active) {
        memcpy(y, x, n * sizeof *y);
        return CZ_OK;
    }
    cz_rng *rng = cz_net_rng(net);
    for (size_t i = 0; i < n / u; i++)
        s->keep[i] = cz_rng_uniform(rng) >= p;
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        y[i] = s->keep[i / u] ? x[i] * scale : 0.0f;
    return CZ_OK;
}

/* dy (N, ...) -> dx (N, ...) += dy keep / (1 - p), or dy after an eval forward */
static void dropout_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *dy = node->dout.data;
    float *dx = in->dout.data;
    size_t n = cz_node_numel(node) * (size_t)net->batch, u = unit(node);
    const saved_mask *s = node->saved;
    float scale = 1.0f / (1.0f - node->attr.dropout.p);
    for (size_t i = 0; i < n; i++)
        dx[i] += s->masked ? (s->keep[i / u] ? dy[i] * scale : 0.0f) : dy[i];
}

const cz_op cz_op_dropout = {
    .name = "dropout",
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
};

const cz_op cz_op_stochastic_depth = {
    .name = "stochastic_depth",
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
