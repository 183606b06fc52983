/*
 * spatial_mul.c - x (C, H, W) times a per-sample, per-pixel scale s
 * (1, H, W), the same at every channel: CBAM's spatial attention
 * (x * sigmoid(conv(channel_pool(x))) with PyTorch's broadcasting).
 * Gradients flow to both inputs; ds sums over channels in double.
 */
#include "graph/net.h"

/* Pixels handled together in backward, so the channel sums for ds stay on
 * the stack while the planes are read contiguously. */
#define PIXEL_BLOCK 64

int cz_spatial_mul(cz_net *net, int x, int s, const char *name)
{
    int inputs[2] = {x, s};
    return cz_net_add_node(net, &cz_op_spatial_mul, name, inputs, 2, NULL);
}

static cz_status spatial_mul_infer(cz_net *net, cz_node *node)
{
    const cz_node *x = cz_node_in(net, node, 0), *s = cz_node_in(net, node, 1);
    if (x->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input %s must be (C, H, W), got %d dims",
                            x->name, x->ndim);
    if (s->ndim != 3 || s->shape[0] != 1 || s->shape[1] != x->shape[1] ||
        s->shape[2] != x->shape[2])
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "scale %s must be (1, %d, %d) to match %s, got %d-D [%d, %d, %d]",
                            s->name, x->shape[1], x->shape[2], x->name, s->ndim, s->shape[0],
                            s->ndim == 3 ? s->shape[1] : 0, s->ndim == 3 ? s->shape[2] : 0);
    node->ndim = 3;
    for (int i = 0; i < 3; i++)
        node->shape[i] = x->shape[i];
    return CZ_OK;
}

/* x (N, C, H, W), s (N, 1, H, W) -> y (N, C, H, W) = x s */
static cz_status spatial_mul_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data, *s = cz_node_in(net, node, 1)->out.data;
    float *y = node->out.data;
    int C = node->shape[0];
    size_t HW = (size_t)node->shape[1] * node->shape[2];

#pragma omp parallel for schedule(static)
    for (int p = 0; p < net->batch * C; p++) {
        const float *sn = s + (size_t)(p / C) * HW;
        for (size_t i = 0; i < HW; i++)
            y[p * HW + i] = x[p * HW + i] * sn[i];
    }
    return CZ_OK;
}

/* dy (N, C, H, W) -> dx += dy s, ds (N, 1, H, W) += sum_C dy x */
static void spatial_mul_backward(cz_net *net, cz_node *node)
{
    cz_node *xn = cz_node_in(net, node, 0), *sn = cz_node_in(net, node, 1);
    const float *x = xn->out.data, *s = sn->out.data, *dy = node->dout.data;
    float *dx = cz_wants_grad(net, xn) ? xn->dout.data : NULL;
    float *ds = cz_wants_grad(net, sn) ? sn->dout.data : NULL;
    int C = node->shape[0];
    size_t HW = (size_t)node->shape[1] * node->shape[2];
    long blocks = (long)((HW + PIXEL_BLOCK - 1) / PIXEL_BLOCK);

    /* Each job owns a block of pixels of one sample, in every channel and
     * in s, so no two threads write the same element. */
#pragma omp parallel for schedule(static)
    for (long job = 0; job < net->batch * blocks; job++) {
        size_t n = (size_t)(job / blocks), p0 = (size_t)(job % blocks) * PIXEL_BLOCK;
        int count = (int)(HW - p0 < PIXEL_BLOCK ? HW - p0 : PIXEL_BLOCK);
        double sum[PIXEL_BLOCK] = {0};
        for (int c = 0; c < C; c++) {
            size_t at = (n * C + c) * HW + p0;
            for (int i = 0; i < count; i++) {
                sum[i] += (double)dy[at + i] * x[at + i];
                if (dx)
                    dx[at + i] += dy[at + i] * s[n * HW + p0 + i];
            }
        }
        if (ds)
            for (int i = 0; i < count; i++)
                ds[n * HW + p0 + i] += (float)sum[i];
    }
}

const cz_op cz_op_spatial_mul = {
    .name = "spatial_mul",
    .infer = spatial_mul_infer,
    .forward = spatial_mul_forward,
    .backward = spatial_mul_backward,
};
