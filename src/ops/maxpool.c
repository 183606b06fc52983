/*
 * maxpool.c - 2-D max pooling as PyTorch's MaxPool2d (no dilation):
 * kernel, stride, padding (at most half the kernel) and ceil_mode. Padding
 * acts as -inf, so it is never chosen; a window always holds at least one
 * real element because padding <= kernel / 2 and ceil_mode drops windows
 * starting in the right padding.
 *
 * In training, forward keeps the in-plane index of each maximum so backward
 * routes the gradient without searching again. A backward after an eval
 * forward (saliency, Grad-CAM) searches the windows again instead. Ties go
 * to the first maximum in row-major window order and a NaN wins, as in
 * PyTorch's CPU kernel. Inference, which keeps no argmax, takes the
 * maxima row by row instead (maxpool_plane).
 */
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "graph/net.h"
#include "kernels/kernels.h"
#include "ops/pool.h"

int cz_maxpool(cz_net *net, int x, const char *name, cz_pool_args args)
{
    cz_attrs attr = cz_pool_attrs(args);
    return cz_net_add_node(net, &cz_op_maxpool, name, &x, 1, &attr);
}

static cz_status maxpool_infer(cz_net *net, cz_node *node) { return cz_pool_infer(net, node); }

/* MaxPool2d's window of output (oh, ow), clipped to the real input
 * (padding is -inf, so it never wins). */
static cz_window strided_window(const cz_node *node, int H, int W, int oh, int ow)
{
    const cz_pool_attr *a = &node->attr.pool;
    int h0 = oh * a->stride_h - a->pad_h, w0 = ow * a->stride_w - a->pad_w;
    int h1 = h0 + a->kernel_h, w1 = w0 + a->kernel_w;
    return (cz_window){.h0 = h0 < 0 ? 0 : h0, .h1 = h1 > H ? H : h1,
                       .w0 = w0 < 0 ? 0 : w0, .w1 = w1 > W ? W : w1};
}

/* The flat index into the plane x (H, W) of the maximum of window w. */
static int32_t window_argmax(const float *x, int W, cz_window w)
{
    int32_t best = w.h0 * W + w.w0;
    for (int h = w.h0; h < w.h1; h++)
        for (int c = w.w0; c < w.w1; c++) {
            float v = x[h * W + c];
            if (v != v)
                return h * W + c;
            if (v > x[best])
                best = h * W + c;
        }
    return best;
}

/* Outputs [ow0, ow1) of row oh, each by searching its window. */
static void search_windows(const cz_node *node, const float *x, int H, int W, int oh, int ow0,
                           int ow1, float *yo, int32_t *io)
{
    for (int ow = ow0; ow < ow1; ow++) {
        io[ow] = window_argmax(x, W, strided_window(node, H, W, oh, ow));
        yo[ow] = x[io[ow]];
    }
}

/* MaxPool2d's training forward on one plane: y and each maximum's index.
 * The windows that the row does not clip run across the row, a tap at a
 * time over all their outputs (no chain through one running maximum: the
 * window search took 25 ms of resnet50's batch-8 step); the taps go in the
 * search's row-major order with its rule (a larger value or the first NaN
 * wins), so the same maxima and indices. Clipped windows at the edges are
 * searched. */
CZ_ELEMENTWISE static void maxpool_argmax_plane(const cz_node *node, const float *x, int H, int W,
                                               float *y, int32_t *idx, int OH, int OW)
{
    const cz_pool_attr *a = &node->attr.pool;
    int sw = a->stride_w, lo = (a->pad_w + sw - 1) / sw;
    int hi = W >= a->kernel_w - a->pad_w ? (W - a->kernel_w + a->pad_w) / sw + 1 : 0;
    hi = hi > OW ? OW : hi;
    lo = lo > hi ? hi : lo;
    for (int oh = 0; oh < OH; oh++) {
        float *yo = y + (size_t)oh * OW;
        int32_t *io = idx + (size_t)oh * OW;
        search_windows(node, x, H, W, oh, 0, lo, yo, io);
        search_windows(node, x, H, W, oh, hi, OW, yo, io);
        cz_window w = strided_window(node, H, W, oh, lo);
        int32_t first = w.h0 * W - a->pad_w;
        for (int ow = lo; ow < hi; ow++) {
            io[ow] = first + ow * sw;
            yo[ow] = x[io[ow]];
        }
        for (int h = w.h0; h < w.h1; h++)
            for (int k = h == w.h0 ? 1 : 0; k < a->kernel_w; k++) {
                int32_t tap = h * W - a->pad_w + k;
                for (int ow = lo; ow < hi; ow++) {
                    float v = x[tap + ow * sw], best = yo[ow];
                    bool take = v > best || (v != v && best == best);
                    yo[ow] = take ? v : best;
                    io[ow] = take ? tap + ow * sw : io[ow];
                }
            }
    }
}

/* x (N, C, H, W) -> y (N, C, OH, OW); argmax (N, C, OH, OW) in training */
cz_status cz_max_window_forward(cz_net *net, cz_node *node, cz_window_fn window)
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

    /* MaxPool2d's windows (not adaptive ones) in training: row sweeps. */
    bool across_rows = window == strided_window;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *x = in->out.data + (size_t)p * H * W;
        float *y = node->out.data + (size_t)p * OH * OW;
        int32_t *argmax = saved ? saved->idx + (size_t)p * OH * OW : NULL;
        if (argmax && across_rows) {
            maxpool_argmax_plane(node, x, H, W, y, argmax, OH, OW);
            continue;
        }
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int32_t best = window_argmax(x, W, window(node, H, W, oh, ow));
                y[oh * OW + ow] = x[best];
                if (argmax)
                    argmax[oh * OW + ow] = best;
            }
    }
    return CZ_OK;
}

/* dy (N, C, OH, OW) -> dx (N, C, H, W) += dy at each window's argmax */
void cz_max_window_backward(cz_net *net, cz_node *node, cz_window_fn window)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    size_t out_plane = (size_t)OH * OW;
    int planes = net->batch * in->shape[0];
    const cz_saved_argmax *saved = node->saved;
    bool have_argmax = saved && saved->batch == net->batch;
    bool fresh = cz_grad_take_fresh(in);

    /* One plane per iteration: overlapping windows add into the same dx
     * element only from within the plane, so threads never collide. */
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *dy = node->dout.data + (size_t)p * out_plane;
        float *dx = in->dout.data + (size_t)p * H * W;
        if (fresh)
            memset(dx, 0, sizeof(float) * H * W);
        if (have_argmax) {
            const int32_t *am = saved->idx + (size_t)p * out_plane;
            for (size_t i = 0; i < out_plane; i++)
                dx[am[i]] += dy[i];
            continue;
        }
        /* No saved argmax (an eval forward): search the windows again. */
        const float *x = in->out.data + (size_t)p * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                dx[window_argmax(x, W, window(node, H, W, oh, ow))] += dy[oh * OW + ow];
    }
}

/* Floats of row buffer maxpool_plane needs: the row with -inf on both
 * sides, wide enough for every window (ceil_mode's last one included),
 * in whole cache lines (each thread has one). */
static size_t row_floats(const cz_pool_attr *a, int W, int OW)
{
    size_t need = (size_t)(OW - 1) * a->stride_w + a->kernel_w, have = (size_t)W + a->pad_w;
    return cz_line_floats((need > have ? need : have) + 1);
}

/* Inference (no argmax to keep): each output row is the max of its window
 * rows taken column by column, into a row padded with -inf, then of
 * kernel_w neighbours in that row, tap by tap: no bounds checks, so both
 * sweeps vectorise. The same maxima as the window search (padding never
 * wins while a window holds a real value); only the sign of a zero tied
 * with a zero may differ. */
CZ_ELEMENTWISE static void maxpool_plane(const cz_pool_attr *a, const float *x, int H, int W,
                                        float *y, int OH, int OW, float *row)
{
    size_t width = row_floats(a, W, OW);
    for (size_t i = 0; i < width; i++)
        row[i] = -INFINITY;
    float *rowmax = row + a->pad_w; /* rowmax[w] for w in [-pad_w, width - pad_w) */
    for (int oh = 0; oh < OH; oh++) {
        int h0 = oh * a->stride_h - a->pad_h, h1 = h0 + a->kernel_h;
        h0 = h0 < 0 ? 0 : h0;
        h1 = h1 > H ? H : h1;
        const float *first = x + (size_t)h0 * W;
        for (int w = 0; w < W; w++)
            rowmax[w] = first[w];
        for (int h = h0 + 1; h < h1; h++) {
            const float *r = x + (size_t)h * W;
            for (int w = 0; w < W; w++)
                rowmax[w] = cz_max_nan(rowmax[w], r[w]);
        }
        float *out = y + (size_t)oh * OW;
        int sw = a->stride_w;
        if (sw == 2 && (a->kernel_w == 2 || a->kernel_w == 3)) {
            /* The taps in one loop: the compiler vectorises this
             * interleaved access with permutes, where each strided tap
             * alone ran a float at a time (the 3x3/2 pools of
             * inception_v3, ResNet and GoogLeNet on 147- to 112-wide
             * maps, VGG's 2x2/2 on 224 to 28). The same order. */
            for (int ow = 0; ow < OW; ow++) {
                const float *t = row + 2 * (size_t)ow;
                float m = cz_max_nan(t[0], t[1]);
                out[ow] = a->kernel_w == 3 ? cz_max_nan(m, t[2]) : m;
            }
            continue;
        }
        for (int ow = 0; ow < OW; ow++)
            out[ow] = row[(size_t)ow * sw];
        for (int j = 1; j < a->kernel_w; j++) {
            const float *tap = row + j;
            if (sw == 1)
                for (int ow = 0; ow < OW; ow++)
                    out[ow] = cz_max_nan(out[ow], tap[ow]);
            else
                for (int ow = 0; ow < OW; ow++)
                    out[ow] = cz_max_nan(out[ow], tap[(size_t)ow * sw]);
        }
    }
}

/* Inference for cz_pool_same_size pools, on the plane as one flat array
 * (cz_pool_plane_same): maxpool_plane's row sweeps run over rows of 7-28
 * floats, where the vector loops' scalar remainders cost more than their
 * bodies. The same maxima as the window search. */
CZ_ELEMENTWISE static void maxpool_plane_same(const cz_pool_attr *a, const float *x, int H, int W,
                                             float *y, float *v)
{
    cz_pool_plane_same(CZ_POOL_MAX, a, x, H, W, y, v);
}

static cz_status maxpool_forward(cz_net *net, cz_node *node)
{
    if (net->training)
        return cz_max_window_forward(net, node, strided_window);
    const cz_node *in = cz_node_in(net, node, 0);
    int H = in->shape[1], W = in->shape[2], OH = node->shape[1], OW = node->shape[2];
    if (node->saved) /* no argmax from this forward */
        ((cz_saved_argmax *)node->saved)->batch = 0;
    int threads = omp_get_max_threads();
    const cz_pool_attr *a = &node->attr.pool;
    bool same = cz_pool_same_size(a);
    cz_conv_geom g = cz_pool_geom(a, H, W, OH, OW);
    size_t width = same ? cz_line_floats((size_t)H * W) : row_floats(a, W, OW);
    if (cz_line_floats(cz_planes16_scratch(&g)) > width)
        width = cz_line_floats(cz_planes16_scratch(&g));
    float *rows = cz_net_scratch(net, sizeof(float) * width * (size_t)threads);
    if (!rows)
        return CZ_ERR_NOMEM;
    /* Each sample's channels in blocks of 16 where cz_maxpool_planes16
     * takes them (the row sweeps of small planes were mostly their loops'
     * remainders), then the rest one by one; larger planes one by one, so
     * that the threads get even shares. */
    int C = in->shape[0], blocks = cz_maxpool_planes16_takes(&g) ? C / 16 : 0;
    int per_sample = blocks + C - 16 * blocks;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int i = 0; i < net->batch * per_sample; i++) {
        int count, p0 = i / per_sample * C + cz_planes16_item(i % per_sample, blocks, &count);
        const float *x = in->out.data + (size_t)p0 * H * W;
        float *y = node->out.data + (size_t)p0 * OH * OW;
        float *own = rows + (size_t)omp_get_thread_num() * width;
        if (count == 16 && cz_maxpool_planes16(&g, x, y, own))
            continue;
        for (int p = 0; p < count; p++) {
            const float *xp = x + (size_t)p * H * W;
            float *yp = y + (size_t)p * OH * OW;
            if (same)
                maxpool_plane_same(a, xp, H, W, yp, own);
            else
                maxpool_plane(a, xp, H, W, yp, OH, OW, own);
        }
    }
    return CZ_OK;
}

static void maxpool_backward(cz_net *net, cz_node *node)
{
    cz_max_window_backward(net, node, strided_window);
}

const cz_op cz_op_maxpool = {
    .name = "maxpool",
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .clears_grads = true,
};
