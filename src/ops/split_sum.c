/*
 * split_sum.c - x (splits * C, H, W) -> (C, H, W), the sum of its `splits`
 * equal channel chunks (or of a 1-D input's feature chunks):
 * x.view(N, splits, C, H, W).sum(1), as ResNeSt's split attention sums the
 * radix splits, before the gap and after the attention weighting.
 */
#include <string.h>

#include "graph/net.h"

int cz_split_sum(cz_net *net, int x, const char *name, int splits)
{
    cz_attrs attr = {.split_sum = {.splits = splits}};
    return cz_net_add_node(net, &cz_op_split_sum, name, &x, 1, &attr);
}

static cz_status split_sum_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int splits = node->attr.split_sum.splits;
    if (in->ndim != 1 && in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input %s must be (C) or (C, H, W), got %d dims",
                            in->name, in->ndim);
    if (splits < 1 || in->shape[0] % splits != 0)
        return cz_node_fail(node, CZ_ERR_ARG,
                            "splits %d must be positive and divide the %d channels of %s",
                            splits, in->shape[0], in->name);
    node->ndim = in->ndim;
    memcpy(node->shape, in->shape, sizeof node->shape);
    node->shape[0] = in->shape[0] / splits;
    return CZ_OK;
}

/* x (N, splits, C M) -> y (N, C M) = sum over splits, M = H W (or 1) */
static cz_status split_sum_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    int splits = node->attr.split_sum.splits;
    size_t chunk = cz_node_numel(node);

#pragma omp parallel for schedule(static)
    for (int n = 0; n < net->batch; n++) {
        const float *xn = x + (size_t)n * splits * chunk;
        float *yn = y + (size_t)n * chunk;
        memcpy(yn, xn, chunk * sizeof(float));
        for (int s = 1; s < splits; s++)
            for (size_t i = 0; i < chunk; i++)
                yn[i] += xn[(size_t)s * chunk + i];
    }
    return CZ_OK;
}

/* dx[:, s] += dy for every split s */
static void split_sum_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *dy = node->dout.data;
    float *dx = in->dout.data;
    int splits = node->attr.split_sum.splits;
    size_t chunk = cz_node_numel(node);

#pragma omp parallel for schedule(static)
    for (int n = 0; n < net->batch; n++)
        for (int s = 0; s < splits; s++) {
            float *dxs = dx + ((size_t)n * splits + s) * chunk;
            const float *dyn = dy + (size_t)n * chunk;
            for (size_t i = 0; i < chunk; i++)
                dxs[i] += dyn[i];
        }
}

const cz_op cz_op_split_sum = {
    .name = "split_sum",
    .infer = split_sum_infer,
    .forward = split_sum_forward,
    .backward = split_sum_backward,
};
