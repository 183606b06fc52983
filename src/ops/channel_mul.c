/*
 * channel_mul.c - x (C, H, W) times a per-sample, per-channel scale
 * (C, 1, 1) or (C) features: squeeze-and-excitation's and EfficientNet's
 * gating, CBAM's channel attention. Gradients flow to both inputs.
 */
#include "graph/net.h"

int cz_channel_mul(cz_net *net, int x, int scale, const char *name)
{
    int inputs[2] = {x, scale};
    return cz_net_add_node(net, &cz_op_channel_mul, name, inputs, 2, NULL);
}

static cz_status channel_mul_infer(cz_net *net, cz_node *node)
{
    const cz_node *x = cz_node_in(net, node, 0), *s = cz_node_in(net, node, 1);
    if (x->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input %s must be (C, H, W), got %d dims",
                            x->name, x->ndim);
    bool fits = (s->ndim == 1 && s->shape[0] == x->shape[0]) ||
                (s->ndim == 3 && s->shape[0] == x->shape[0] && s->shape[1] == 1 &&
                 s->shape[2] == 1);
    if (!fits)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "scale %s must be (%d, 1, 1) or (%d) to match %s's %d channels, "
                            "got %d-D [%d, %d, %d]",
                            s->name, x->shape[0], x->shape[0], x->name, x->shape[0], s->ndim,
                            s->shape[0], s->ndim == 3 ? s->shape[1] : 0,
                            s->ndim == 3 ? s->shape[2] : 0);
    node->ndim = 3;
    for (int i = 0; i < 3; i++)
        node->shape[i] = x->shape[i];
    return CZ_OK;
}

CZ_ELEMENTWISE static void scale_plane(const float *x, float *y, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * s;
}

/* x (N, C, H, W), s (N, C) -> y (N, C, H, W) = x s */
static cz_status channel_mul_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data, *s = cz_node_in(net, node, 1)->out.data;
    float *y = node->out.data;
    int planes = net->batch * node->shape[0];
    size_t HW = (size_t)node->shape[1] * node->shape[2];

#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++)
        scale_plane(x + p * HW, y + p * HW, HW, s[p]);
    return CZ_OK;
}

/* dy (N, C, H, W) -> dx += dy s, ds (N, C) += sum_HW dy x */
static void channel_mul_backward(cz_net *net, cz_node *node)
{
    cz_node *xn = cz_node_in(net, node, 0), *sn = cz_node_in(net, node, 1);
    const float *x = xn->out.data, *s = sn->out.data, *dy = node->dout.data;
    float *dx = cz_wants_grad(net, xn) ? xn->dout.data : NULL;
    float *ds = cz_wants_grad(net, sn) ? sn->dout.data : NULL;
    int planes = net->batch * node->shape[0];
    size_t HW = (size_t)node->shape[1] * node->shape[2];

    /* When x and s are one node (a (C, 1, 1) map scaled by itself) dx and
     * ds alias; both are written for plane p only by p's iteration. */
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        double sum = 0.0;
        float sp = s[p];
        for (size_t i = 0; i < HW; i++) {
            sum += (double)dy[p * HW + i] * x[p * HW + i];
            if (dx)
                dx[p * HW + i] += dy[p * HW + i] * sp;
        }
        if (ds)
            ds[p] += (float)sum;
    }
}

const cz_op cz_op_channel_mul = {
    .name = "channel_mul",
    .infer = channel_mul_infer,
    .forward = channel_mul_forward,
    .backward = channel_mul_backward,
};
