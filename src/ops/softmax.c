/*
 * softmax.c - softmax over the features (C) or, for (C, H, W), over the
 * channels at each position, as torch.softmax(x, dim=1). Stable: the
 * maximum is subtracted before exponentiating, sums in double.
 */
#include <math.h>

#include "graph/net.h"

int cz_softmax(cz_net *net, int x, const char *name)
{
    return cz_net_add_node(net, &cz_op_softmax, name, &x, 1, NULL);
}

static cz_status softmax_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    if (in->ndim != 1 && in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C) or (C, H, W), got %d dims",
                            in->ndim);
    node->ndim = in->ndim;
    for (int i = 0; i < 3; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* Elements per channel: H W, or 1 for features. */
static size_t plane_size(const cz_node *node)
{
    return node->ndim == 3 ? (size_t)node->shape[1] * node->shape[2] : 1;
}

/* x (N, C, M) -> y (N, C, M), normalised over C at each of the M positions */
static cz_status softmax_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    int C = node->shape[0];
    size_t M = plane_size(node);
    long columns = (long)(net->batch * M);

#pragma omp parallel for schedule(static)
    for (long col = 0; col < columns; col++) {
        size_t n = (size_t)col / M, m = (size_t)col % M;
        const float *xc = x + n * C * M + m;
        float *yc = y + n * C * M + m;
        float max = xc[0];
        for (int c = 1; c < C; c++)
            max = xc[c * M] > max ? xc[c * M] : max;
        double sum = 0.0;
        for (int c = 0; c < C; c++) {
            float e = expf(xc[c * M] - max);
            yc[c * M] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < C; c++)
            yc[c * M] *= inv;
    }
    return CZ_OK;
}

/* dy (N, C, M) -> dx (N, C, M) += y (dy - sum_c dy y) */
static void softmax_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *y = node->out.data, *dy = node->dout.data;
    float *dx = in->dout.data;
    int C = node->shape[0];
    size_t M = plane_size(node);
    long columns = (long)(net->batch * M);

#pragma omp parallel for schedule(static)
    for (long col = 0; col < columns; col++) {
        size_t base = ((size_t)col / M) * C * M + (size_t)col % M;
        double dot = 0.0;
        for (int c = 0; c < C; c++)
            dot += (double)dy[base + c * M] * y[base + c * M];
        for (int c = 0; c < C; c++)
            dx[base + c * M] += (float)(y[base + c * M] * (dy[base + c * M] - dot));
    }
}

const cz_op cz_op_softmax = {
    .name = "softmax",
    .infer = softmax_infer,
    .forward = softmax_forward,
    .backward = softmax_backward,
};
