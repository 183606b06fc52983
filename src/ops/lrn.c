/*
 * lrn.c - local response normalisation across channels, as PyTorch's
 * LocalResponseNorm (AlexNet, GoogLeNet):
 *   b_c = a_c D_c^-beta,  D_c = k + alpha / size * sum_{i in W(c)} a_i^2,
 *   W(c) = c - size/2 .. c + (size-1)/2 clipped to the channels
 * (PyTorch zero-pads size/2 channels before and (size-1)/2 after, then
 * averages over `size`, so the divisor is always `size`).
 *
 * Window sums run along the channels, adding the channel entering the
 * window and subtracting the one leaving it (in double, so the subtraction
 * loses nothing that matters): linear in C whatever the size. Positions are
 * processed in blocks so the channel walk reads contiguous rows.
 *
 * Forward keeps D (one float per element) in every mode, since backward
 * needs it for all channels of a position and may follow an eval forward
 * (saliency maps).
 */
#include <math.h>

#include "graph/net.h"

enum { BLOCK = 64 }; /* positions per channel walk */

int cz_lrn(cz_net *net, int x, const char *name, int size, float alpha, float beta, float k)
{
    cz_attrs attr = {.lrn = {.size = size, .alpha = alpha, .beta = beta, .k = k}};
    return cz_net_add_node(net, &cz_op_lrn, name, &x, 1, &attr);
}

static cz_status lrn_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int size = node->attr.lrn.size;
    float alpha = node->attr.lrn.alpha, beta = node->attr.lrn.beta, k = node->attr.lrn.k;
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C, H, W), got %d dims",
                            in->ndim);
    if (size < 1)
        return cz_node_fail(node, CZ_ERR_ARG, "size %d must be positive", size);
    /* k > 0 keeps D positive, so D^-beta is finite for every input. */
    if (!(k > 0.0f) || !(alpha >= 0.0f) || !isfinite(k) || !isfinite(alpha) || !isfinite(beta))
        return cz_node_fail(node, CZ_ERR_ARG,
                            "k %g must be positive, alpha %g non-negative, beta %g finite", k,
                            alpha, beta);
    node->ndim = 3;
    for (int i = 0; i < 3; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* x (N, C, H, W) -> y (N, C, H, W), saved D (N, C, H, W) */
static cz_status lrn_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int C = node->shape[0], N = net->batch;
    int before = node->attr.lrn.size / 2, after = (node->attr.lrn.size - 1) / 2;
    size_t HW = (size_t)node->shape[1] * node->shape[2];
    int blocks = (int)((HW + BLOCK - 1) / BLOCK);
    double k = node->attr.lrn.k, scale = (double)node->attr.lrn.alpha / node->attr.lrn.size;
    double beta = node->attr.lrn.beta;
    float *D = cz_node_saved(node, sizeof(float) * N * C * HW);
    if (!D)
        return CZ_ERR_NOMEM;

#pragma omp parallel for schedule(static)
    for (int task = 0; task < N * blocks; task++) {
        int n = task / blocks;
        size_t p0 = (size_t)(task % blocks) * BLOCK;
        int len = (int)(HW - p0 < BLOCK ? HW - p0 : BLOCK);
        const float *x = in->out.data + (size_t)n * C * HW + p0;
        float *y = node->out.data + (size_t)n * C * HW + p0;
        float *d = D + (size_t)n * C * HW + p0;
        double sum[BLOCK] = {0};
        /* Channels 0 .. after-1 are in W(0) before the walk adds W(0)'s last. */
        for (int i = 0; i < after && i < C; i++)
            for (int p = 0; p < len; p++)
                sum[p] += (double)x[i * HW + p] * x[i * HW + p];
        for (int c = 0; c < C; c++) {
            int enter = c + after, leave = c - before - 1;
            for (int p = 0; p < len; p++) {
                if (enter < C)
                    sum[p] += (double)x[enter * HW + p] * x[enter * HW + p];
                if (leave >= 0)
                    sum[p] -= (double)x[leave * HW + p] * x[leave * HW + p];
                double s = sum[p] > 0.0 ? sum[p] : 0.0;
                double dc = k + scale * s;
                d[c * HW + p] = (float)dc;
                y[c * HW + p] = (float)(x[c * HW + p] * pow(dc, -beta));
            }
        }
    }
    return CZ_OK;
}

/* t(c) = dy_c a_c D_c^(-beta-1) at element i. */
static inline double t_term(const float *dy, const float *x, const float *d, size_t i,
                            double beta)
{
    return (double)dy[i] * x[i] * pow(d[i], -beta - 1.0);
}

/* dy (N, C, H, W) -> dx (N, C, H, W) +=
 *   dy_j D_j^-beta - 2 alpha beta / size a_j sum_{c : j in W(c)} dy_c a_c D_c^(-beta-1)
 * where j in W(c) exactly when c runs over j - (size-1)/2 .. j + size/2. */
static void lrn_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int C = node->shape[0], N = net->batch;
    int before = node->attr.lrn.size / 2, after = (node->attr.lrn.size - 1) / 2;
    size_t HW = (size_t)node->shape[1] * node->shape[2];
    int blocks = (int)((HW + BLOCK - 1) / BLOCK);
    double beta = node->attr.lrn.beta;
    double coef = 2.0 * node->attr.lrn.alpha * beta / node->attr.lrn.size;
    const float *D = node->saved;

#pragma omp parallel for schedule(static)
    for (int task = 0; task < N * blocks; task++) {
        int n = task / blocks;
        size_t p0 = (size_t)(task % blocks) * BLOCK;
        int len = (int)(HW - p0 < BLOCK ? HW - p0 : BLOCK);
        size_t off = (size_t)n * C * HW + p0;
        const float *x = in->out.data + off, *dy = node->dout.data + off, *d = D + off;
        float *dx = in->dout.data + off;
        /* t(c) summed over the mirrored window. */
        double sum[BLOCK] = {0};
        for (int i = 0; i < before && i < C; i++)
            for (int p = 0; p < len; p++)
                sum[p] += t_term(dy, x, d, i * HW + p, beta);
        for (int j = 0; j < C; j++) {
            int enter = j + before, leave = j - after - 1;
            for (int p = 0; p < len; p++) {
                if (enter < C)
                    sum[p] += t_term(dy, x, d, enter * HW + p, beta);
                if (leave >= 0)
                    sum[p] -= t_term(dy, x, d, leave * HW + p, beta);
                double dj = d[j * HW + p];
                dx[j * HW + p] += (float)(dy[j * HW + p] * pow(dj, -beta) -
                                          coef * x[j * HW + p] * sum[p]);
            }
        }
    }
}

const cz_op cz_op_lrn = {
    .name = "lrn",
    .infer = lrn_infer,
    .forward = lrn_forward,
    .backward = lrn_backward,
};
