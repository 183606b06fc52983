/*
 * adaptive_maxpool.c - PyTorch's AdaptiveMaxPool2d to any output size, with
 * the windows of adaptive average pooling: output row i covers input rows
 * floor(i H / OH) .. ceil((i + 1) H / OH) - 1 (windows overlap when H is
 * not a multiple of OH and repeat rows when OH > H); columns likewise.
 * CBAM's channel attention uses it as a global max pool (1 x 1).
 *
 * As in maxpool.c: training forward keeps each maximum's in-plane index for
 * backward, a backward after an eval forward searches the window again,
 * ties go to the first maximum in row-major order and a NaN wins.
 */
#include <stdint.h>

#include "graph/net.h"
#include "ops/pool.h"

int cz_adaptive_maxpool(cz_net *net, int x, const char *name, int out_h, int out_w)
{
    cz_attrs attr = {.adaptive = {.out_h = out_h, .out_w = out_w}};
    return cz_net_add_node(net, &cz_op_adaptive_maxpool, name, &x, 1, &attr);
}

static cz_status adaptive_maxpool_infer(cz_net *net, cz_node *node)
{
    return cz_adaptive_infer(net, node);
}

/* The flat index into the plane x (H, W) of the maximum of output (oh, ow)'s
 * window. */
static int32_t window_argmax(const float *x, int H, int W, int OH, int OW, int oh, int ow)
{
    int h0 = cz_adaptive_start(oh, H, OH), h1 = cz_adaptive_end(oh, H, OH);
    int w0 = cz_adaptive_start(ow, W, OW), w1 = cz_adaptive_end(ow, W, OW);
    int32_t best = h0 * W + w0;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            float v = x[h * W + w];
            if (v != v)
                return h * W + w;
            if (v > x[best])
                best = h * W + w;
        }
    return best;
}

/* x (N, C, H, W) -> y (N, C, OH, OW); argmax (N, C, OH, OW) in training */
static cz_status adaptive_maxpool_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    int planes = net->batch * in->shape[0];
    cz_saved_argmax *saved = NULL;
    if (net->training) {
        saved = cz_node_saved(node, sizeof *saved + sizeof(int32_t) * planes * OH * OW);
        if (!saved)
            return CZ_ERR_NOMEM;
        saved->batch = net->batch;
    } else if (node->saved) {
        ((cz_saved_argmax *)node->saved)->batch = 0;
    }

#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = in->out.data + (size_t)p * H * W;
        float *y = node->out.data + (size_t)p * OH * OW;
        int32_t *argmax = saved ? saved->idx + (size_t)p * OH * OW : NULL;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int32_t best = window_argmax(x, H, W, OH, OW, oh, ow);
                y[oh * OW + ow] = x[best];
                if (argmax)
                    argmax[oh * OW + ow] = best;
            }
    }
    return CZ_OK;
}

/* dy (N, C, OH, OW) -> dx (N, C, H, W) += dy at each window's argmax */
static void adaptive_maxpool_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    size_t out_plane = (size_t)OH * OW;
    int planes = net->batch * in->shape[0];
    const cz_saved_argmax *saved = node->saved;
    bool have_argmax = saved && saved->batch == net->batch;

    /* One plane per iteration: overlapping windows add into the same dx
     * element only from within the plane, so threads never collide. */
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *dy = node->dout.data + (size_t)p * out_plane;
        float *dx = in->dout.data + (size_t)p * H * W;
        if (have_argmax) {
            const int32_t *am = saved->idx + (size_t)p * out_plane;
            for (size_t i = 0; i < out_plane; i++)
                dx[am[i]] += dy[i];
            continue;
        }
        const float *x = in->out.data + (size_t)p * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                dx[window_argmax(x, H, W, OH, OW, oh, ow)] += dy[oh * OW + ow];
    }
}

const cz_op cz_op_adaptive_maxpool = {
    .name = "adaptive_maxpool",
    .infer = adaptive_maxpool_infer,
    .forward = adaptive_maxpool_forward,
    .backward = adaptive_maxpool_backward,
};
