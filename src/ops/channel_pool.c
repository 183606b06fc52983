/*
 * channel_pool.c - CBAM's channel pooling: x (C, H, W) -> (2, H, W) with
 * channel 0 the max over C and channel 1 the mean over C at each pixel
 * (torch.cat((x.max(1)[0], x.mean(1)), 1) with the channel dim kept), the
 * input of CBAM's 7x7 spatial-attention conv.
 *
 * The max's ties go to the first channel and a NaN wins, as in max
 * pooling; training forward keeps the winning channel per pixel so
 * backward routes the max's gradient without searching again. The mean is
 * summed in double so a 2048-channel map loses nothing to rounding.
 */
#include <stdint.h>

#include "graph/net.h"

/* Pixels handled together: the channel loop runs over a block of pixels
 * that are contiguous in every plane, with its sums kept on the stack. */
#define PIXEL_BLOCK 64

/* Saved state: which forward the argmax belongs to, then per (n, pixel)
 * the channel holding the max. */
typedef struct saved_argmax {
    int32_t batch; /* N of the training forward that filled idx, 0 if none */
    int32_t idx[];
} saved_argmax;

int cz_channel_pool(cz_net *net, int x, const char *name)
{
    return cz_net_add_node(net, &cz_op_channel_pool, name, &x, 1, NULL);
}

static cz_status channel_pool_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input %s must be (C, H, W), got %d dims",
                            in->name, in->ndim);
    node->ndim = 3;
    node->shape[0] = 2;
    node->shape[1] = in->shape[1];
    node->shape[2] = in->shape[2];
    return CZ_OK;
}

/* For pixels [p0, p0 + n) of one sample's x (C, HW): the max's channel into
 * argmax[], the max and the mean into ymax[], ymean[]. */
static void pool_block(const float *x, int C, size_t HW, size_t p0, int n, int32_t *argmax,
                       float *ymax, float *ymean)
{
    double sum[PIXEL_BLOCK];
    float best[PIXEL_BLOCK];
    for (int i = 0; i < n; i++) {
        argmax[i] = 0;
        best[i] = x[p0 + i];
        sum[i] = 0.0;
    }
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * HW + p0;
        for (int i = 0; i < n; i++) {
            float v = xc[i];
            sum[i] += v;
            /* Once a NaN holds the max (best != best) it stays. */
            if (v > best[i] || (v != v && best[i] == best[i])) {
                best[i] = v;
                argmax[i] = c;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        ymax[i] = best[i];
        ymean[i] = (float)(sum[i] / C);
    }
}

/* x (N, C, H, W) -> y (N, 2, H, W); argmax (N, H, W) in training */
static cz_status channel_pool_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int C = in->shape[0];
    size_t HW = (size_t)in->shape[1] * in->shape[2];
    long blocks = (long)((HW + PIXEL_BLOCK - 1) / PIXEL_BLOCK);
    saved_argmax *saved = NULL;
    if (net->training) {
        saved = cz_node_saved(node, sizeof *saved + sizeof(int32_t) * net->batch * HW);
        if (!saved)
            return CZ_ERR_NOMEM;
        saved->batch = net->batch;
    } else if (node->saved) {
        ((saved_argmax *)node->saved)->batch = 0;
    }

#pragma omp parallel for schedule(static)
    for (long job = 0; job < net->batch * blocks; job++) {
        int n = (int)(job / blocks);
        size_t p0 = (size_t)(job % blocks) * PIXEL_BLOCK;
        int count = (int)(HW - p0 < PIXEL_BLOCK ? HW - p0 : PIXEL_BLOCK);
        const float *x = in->out.data + (size_t)n * C * HW;
        float *y = node->out.data + (size_t)n * 2 * HW;
        int32_t scratch[PIXEL_BLOCK];
        int32_t *argmax = saved ? saved->idx + (size_t)n * HW + p0 : scratch;
        pool_block(x, C, HW, p0, count, argmax, y + p0, y + HW + p0);
    }
    return CZ_OK;
}

/* dy (N, 2, H, W) -> dx (N, C, H, W) += dy_max at the max's channel and
 * dy_mean / C at every channel */
static void channel_pool_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int C = in->shape[0];
    size_t HW = (size_t)in->shape[1] * in->shape[2];
    long blocks = (long)((HW + PIXEL_BLOCK - 1) / PIXEL_BLOCK);
    const saved_argmax *saved = node->saved;
    bool have_argmax = saved && saved->batch == net->batch;

    /* Each job owns a block of pixels of one sample in every channel. */
#pragma omp parallel for schedule(static)
    for (long job = 0; job < net->batch * blocks; job++) {
        int n = (int)(job / blocks);
        size_t p0 = (size_t)(job % blocks) * PIXEL_BLOCK;
        int count = (int)(HW - p0 < PIXEL_BLOCK ? HW - p0 : PIXEL_BLOCK);
        const float *dy = node->dout.data + (size_t)n * 2 * HW;
        float *dx = in->dout.data + (size_t)n * C * HW;
        int32_t found[PIXEL_BLOCK];
        const int32_t *argmax = found;
        if (have_argmax) {
            argmax = saved->idx + (size_t)n * HW + p0;
        } else {
            /* An eval forward kept nothing: find the max again. */
            float ymax[PIXEL_BLOCK], ymean[PIXEL_BLOCK];
            pool_block(in->out.data + (size_t)n * C * HW, C, HW, p0, count, found, ymax,
                       ymean);
        }
        for (int c = 0; c < C; c++)
            for (int i = 0; i < count; i++)
                dx[(size_t)c * HW + p0 + i] += dy[HW + p0 + i] / (float)C;
        for (int i = 0; i < count; i++)
            dx[(size_t)argmax[i] * HW + p0 + i] += dy[p0 + i];
    }
}

const cz_op cz_op_channel_pool = {
    .name = "channel_pool",
    .infer = channel_pool_infer,
    .forward = channel_pool_forward,
    .backward = channel_pool_backward,
};
