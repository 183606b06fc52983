/*
 * avgpool.c - 2-D average pooling as PyTorch's AvgPool2d: kernel, stride,
 * padding (at most half the kernel), ceil_mode and count_include_pad.
 *
 * The divisor follows PyTorch exactly: with count_include_pad it is the
 * window clipped to the padded input (so a ceil_mode window hanging past
 * the right padding counts only what lies inside H + pad), without it the
 * window clipped to the real input.
 */
#include <omp.h>

#include "graph/net.h"
#include "kernels/kernels.h"
#include "ops/pool.h"

int cz_avgpool(cz_net *net, int x, const char *name, cz_pool_args args)
{
    cz_attrs attr = cz_pool_attrs(args);
    return cz_net_add_node(net, &cz_op_avgpool, name, &x, 1, &attr);
}

static cz_status avgpool_infer(cz_net *net, cz_node *node) { return cz_pool_infer(net, node); }

/* The window of output (oh, ow) clipped to the real input, [h0, h1) x
 * [w0, w1), and its divisor. */
typedef struct window {
    int h0, h1, w0, w1;
    float divisor;
} window;

static window pool_window(const cz_node *node, int H, int W, int oh, int ow)
{
    int ph = node->attr.pool.pad_h, pw = node->attr.pool.pad_w;
    int h0 = oh * node->attr.pool.stride_h - ph, w0 = ow * node->attr.pool.stride_w - pw;
    int h1 = h0 + node->attr.pool.kernel_h, w1 = w0 + node->attr.pool.kernel_w;
    /* Clipped to the padded input first: that is count_include_pad's size. */
    h1 = h1 > H + ph ? H + ph : h1;
    w1 = w1 > W + pw ? W + pw : w1;
    int padded_size = (h1 - h0) * (w1 - w0);
    window win = {
        .h0 = h0 < 0 ? 0 : h0,
        .h1 = h1 > H ? H : h1,
        .w0 = w0 < 0 ? 0 : w0,
        .w1 = w1 > W ? W : w1,
    };
    int real_size = (win.h1 - win.h0) * (win.w1 - win.w0);
    win.divisor = (float)(node->attr.pool.count_include_pad ? padded_size : real_size);
    return win;
}

/* One plane by the window search: each window summed row by row. */
static void avgpool_plane(const cz_node *node, const float *x, int H, int W, float *y, int OH,
                          int OW)
{
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            window win = pool_window(node, H, W, oh, ow);
            float sum = 0.0f;
            for (int h = win.h0; h < win.h1; h++)
                for (int w = win.w0; w < win.w1; w++)
                    sum += x[h * W + w];
            y[oh * OW + ow] = sum / win.divisor;
        }
}

/* cz_pool_same_size pools (Inception's branch pools, 3x3 padded 1) on the
 * plane as one flat array (cz_pool_plane_same, as max pools): the window
 * search over maps of 8-35 columns spent 5 ns per output (inception_v3's
 * nine branch pools: 11 ms of 59). Padding adds nothing to a sum; each
 * sum runs centre, +1, -1, +2, -2 ..., so it may round differently from
 * the window search's row-by-row order. Then the divisors. */
CZ_ELEMENTWISE static void avgpool_plane_same(const cz_pool_attr *a, const float *x, int H, int W,
                                             float *y, float *v)
{
    cz_pool_plane_same(CZ_POOL_SUM, a, x, H, W, y, v);
    long n = (long)H * W;
    if (a->count_include_pad) {
        /* Every window lies inside the padded map. */
        float divisor = (float)(a->kernel_h * a->kernel_w);
        for (long i = 0; i < n; i++)
            y[i] /= divisor;
        return;
    }
    for (int h = 0; h < H; h++) {
        int h0 = h - a->pad_h < 0 ? 0 : h - a->pad_h;
        int h1 = h + a->pad_h >= H ? H - 1 : h + a->pad_h;
        float *row = y + (size_t)h * W;
        for (int w = 0; w < W; w++) {
            int w0 = w - a->pad_w < 0 ? 0 : w - a->pad_w;
            int w1 = w + a->pad_w >= W ? W - 1 : w + a->pad_w;
            row[w] /= (float)((h1 - h0 + 1) * (w1 - w0 + 1));
        }
    }
}

/* x (N, C, H, W) -> y (N, C, OH, OW) */
static cz_status avgpool_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    int C = in->shape[0], threads = omp_get_max_threads();
    const cz_pool_attr *a = &node->attr.pool;
    bool same = cz_pool_same_size(a);
    cz_conv_geom g = cz_pool_geom(a, H, W, OH, OW);
    /* Per thread: the flat sums of a same-size pool or the blocked
     * buffer; then every output position's divisor, for the blocks. */
    size_t width = cz_line_floats(cz_planes16_scratch(&g)), P = (size_t)OH * OW;
    if (same && cz_line_floats((size_t)H * W) > width)
        width = cz_line_floats((size_t)H * W);
    float *scratch = cz_net_scratch(net, sizeof(float) * (width * (size_t)threads + P));
    if (!scratch)
        return CZ_ERR_NOMEM;
    float *divisors = scratch + width * (size_t)threads;
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
            divisors[(size_t)oh * OW + ow] = pool_window(node, H, W, oh, ow).divisor;
    /* Each sample's channels in blocks of 16 (cz_avgpool_planes16, where
     * it takes them), then the rest one by one: which way a channel goes
     * does not depend on the batch. Same-size pools stay on their flat
     * sweeps (blocked, Inception's were no faster); DenseNet's 2x2/2
     * transitions went 0.99 -> 0.22-0.25 ms on one thread. */
    int blocks = same ? 0 : C / 16, per_sample = blocks + C - 16 * blocks;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int i = 0; i < net->batch * per_sample; i++) {
        int count;
        size_t p0 = (size_t)(i / per_sample) * C + cz_planes16_item(i % per_sample, blocks, &count);
        const float *x = in->out.data + p0 * H * W;
        float *y = node->out.data + p0 * P;
        float *own = scratch + (size_t)omp_get_thread_num() * width;
        if (count == 16 && cz_avgpool_planes16(&g, divisors, x, y, own))
            continue;
        for (int p = 0; p < count; p++) {
            if (same)
                avgpool_plane_same(a, x + (size_t)p * H * W, H, W, y + p * P, own);
            else
                avgpool_plane(node, x + (size_t)p * H * W, H, W, y + p * P, OH, OW);
        }
    }
    return CZ_OK;
}

/* dy (N, C, OH, OW) -> dx (N, C, H, W) += dy / divisor over each window */
static void avgpool_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    int planes = net->batch * in->shape[0];

    /* Per plane, so overlapping windows only collide within one thread. */
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *dy = node->dout.data + (size_t)p * OH * OW;
        float *dx = in->dout.data + (size_t)p * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                window win = pool_window(node, H, W, oh, ow);
                float g = dy[oh * OW + ow] / win.divisor;
                for (int h = win.h0; h < win.h1; h++)
                    for (int w = win.w0; w < win.w1; w++)
                        dx[h * W + w] += g;
            }
    }
}

const cz_op cz_op_avgpool = {
    .name = "avgpool",
    .infer = avgpool_infer,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
