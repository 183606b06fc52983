/*
 * pool.h - what max and average pooling share: turning cz_pool_args into
 * attributes, validating them against PyTorch's rules, and PyTorch's output
 * size with ceil_mode. Private to src/ops/.
 */
#ifndef CZ_OPS_POOL_H
#define CZ_OPS_POOL_H

#include <stdint.h>

#include "graph/net.h"
#include "kernels/kernels.h"

static inline int cz_pool_pick(int specific, int square) { return specific ? specific : square; }

/* Whether the pool keeps the map's size with stride 1 (GoogLeNet's and
 * Inception's branch pools, 3x3 padded 1): the case maxpool and avgpool
 * run on the plane as one flat array. */
static inline bool cz_pool_same_size(const cz_pool_attr *a)
{
    return a->stride_h == 1 && a->stride_w == 1 && a->kernel_h == 2 * a->pad_h + 1 &&
           a->kernel_w == 2 * a->pad_w + 1;
}

/* One plane's window geometry as the kernels take it (planes16.c). */
static inline cz_conv_geom cz_pool_geom(const cz_pool_attr *a, int H, int W, int OH, int OW)
{
    return (cz_conv_geom){.channels = 1, .height = H, .width = W, .kernel_h = a->kernel_h,
                          .kernel_w = a->kernel_w, .stride_h = a->stride_h,
                          .stride_w = a->stride_w, .pad_h = a->pad_h, .pad_w = a->pad_w,
                          .dilation = 1, .out_h = OH, .out_w = OW};
}

/* a or b, whichever is larger; a NaN wins (as the window search). Two
 * selects rather than one || so that the loops vectorise. */
static inline float cz_max_nan(float a, float b)
{
    float m = b > a ? b : a;
    return b != b ? b : m;
}

/* What cz_pool_plane_same folds a window with. */
typedef enum cz_pool_op { CZ_POOL_MAX, CZ_POOL_SUM } cz_pool_op;

static inline __attribute__((always_inline)) float cz_pool_fold(cz_pool_op op, float a, float b)
{
    return op == CZ_POOL_MAX ? cz_max_nan(a, b) : a + b;
}

/* y (H, W) = the max or the sum of each same-size window of x (H, W),
 * padding left out, on the plane as one flat array (v: H x W floats of
 * scratch): row sweeps over maps of 7-35 columns spent more in their
 * scalar remainders than in vector work. The column folds v take pad_h
 * shifted sweeps each way over the whole plane; the row folds shift v by
 * 1..pad_w each way, which is right except in the pad_w columns at each
 * edge, where a shift crosses into the next or previous row: those are
 * folded again from their clipped windows, in the same order (centre, +1,
 * -1, +2, -2 ...). op is a constant at each caller, so the loops
 * vectorise for it. */
static inline __attribute__((always_inline)) void
cz_pool_plane_same(cz_pool_op op, const cz_pool_attr *a, const float *x, int H, int W, float *y,
                   float *v)
{
    long n = (long)H * W;
    if (a->pad_h == 1 && a->pad_w == 1 && H >= 2 && W >= 2) {
        /* 3x3 (Inception's, GoogLeNet's): the same folds in the same
         * order, each sweep's taps in one pass rather than one pass a
         * tap (inception_v3's nine average pools 1.29 -> 0.71 ms on one
         * thread). */
        for (long i = 0; i < W; i++)
            v[i] = cz_pool_fold(op, x[i], x[i + W]);
        for (long i = W; i < n - W; i++)
            v[i] = cz_pool_fold(op, cz_pool_fold(op, x[i], x[i + W]), x[i - W]);
        for (long i = n - W; i < n; i++)
            v[i] = cz_pool_fold(op, x[i], x[i - W]);
        for (long i = 1; i < n - 1; i++)
            y[i] = cz_pool_fold(op, cz_pool_fold(op, v[i], v[i + 1]), v[i - 1]);
        for (long i = 0; i < n; i += W) { /* the edge columns, from their own rows */
            y[i] = cz_pool_fold(op, v[i], v[i + 1]);
            y[i + W - 1] = cz_pool_fold(op, v[i + W - 1], v[i + W - 2]);
        }
        return;
    }
    for (long i = 0; i < n; i++)
        v[i] = x[i];
    for (long d = W; d <= (long)a->pad_h * W; d += W) {
        for (long i = 0; i < n - d; i++)
            v[i] = cz_pool_fold(op, v[i], x[i + d]);
        for (long i = d; i < n; i++)
            v[i] = cz_pool_fold(op, v[i], x[i - d]);
    }
    for (long i = 0; i < n; i++)
        y[i] = v[i];
    for (long d = 1; d <= a->pad_w; d++) {
        for (long i = 0; i < n - d; i++)
            y[i] = cz_pool_fold(op, y[i], v[i + d]);
        for (long i = d; i < n; i++)
            y[i] = cz_pool_fold(op, y[i], v[i - d]);
    }
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
            if (w >= a->pad_w && w < W - a->pad_w) {
                w = W - a->pad_w - 1; /* skip the interior */
                continue;
            }
            const float *row = v + (size_t)h * W;
            float f = row[w];
            for (int d = 1; d <= a->pad_w; d++) {
                if (w + d < W)
                    f = cz_pool_fold(op, f, row[w + d]);
                if (w - d >= 0)
                    f = cz_pool_fold(op, f, row[w - d]);
            }
            y[(size_t)h * W + w] = f;
        }
}

/* A square value (kernel, stride, padding) stands where the _h/_w value is
 * 0; stride 0 means "the kernel", as PyTorch's stride=None. */
static inline cz_attrs cz_pool_attrs(cz_pool_args a)
{
    int kernel_h = cz_pool_pick(a.kernel_h, a.kernel);
    int kernel_w = cz_pool_pick(a.kernel_w, a.kernel);
    int stride_h = cz_pool_pick(a.stride_h, a.stride);
    int stride_w = cz_pool_pick(a.stride_w, a.stride);
    return (cz_attrs){.pool = {
                          .kernel_h = kernel_h,
                          .kernel_w = kernel_w,
                          .stride_h = stride_h ? stride_h : kernel_h,
                          .stride_w = stride_w ? stride_w : kernel_w,
                          .pad_h = cz_pool_pick(a.padding_h, a.padding),
                          .pad_w = cz_pool_pick(a.padding_w, a.padding),
                          .ceil_mode = a.ceil_mode,
                          .count_include_pad = a.count_include_pad,
                      }};
}

/* PyTorch's pooling_output_shape: floor or ceil of (size + 2 pad - kernel)
 * / stride, plus one; with ceil_mode the last window must still start
 * inside the input or its left padding, else it is dropped. Ceil mode can
 * give one output for an input smaller than the kernel (2x2/2 on 1x1). */
static inline int cz_pool_out_size(int size, int kernel, int stride, int pad, bool ceil_mode)
{
    int numer = size + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
    if (numer < 0)
        return 0;
    int out = numer / stride + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad)
        out--;
    return out;
}

/* Validates the attributes against a (C, H, W) input and sets the node's
 * output shape (C, OH, OW). PyTorch's rules: positive kernel and stride,
 * 0 <= padding <= kernel / 2, and at least one output. */
static inline cz_status cz_pool_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int kh = node->attr.pool.kernel_h, kw = node->attr.pool.kernel_w;
    int sh = node->attr.pool.stride_h, sw = node->attr.pool.stride_w;
    int ph = node->attr.pool.pad_h, pw = node->attr.pool.pad_w;
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C, H, W), got %d dims",
                            in->ndim);
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0)
        return cz_node_fail(node, CZ_ERR_ARG, "kernel %dx%d and stride %dx%d must be positive",
                            kh, kw, sh, sw);
    if (ph < 0 || pw < 0 || ph > kh / 2 || pw > kw / 2)
        return cz_node_fail(node, CZ_ERR_ARG,
                            "padding %dx%d must be >= 0 and at most half the kernel %dx%d", ph,
                            pw, kh, kw);
    int oh = cz_pool_out_size(in->shape[1], kh, sh, ph, node->attr.pool.ceil_mode);
    int ow = cz_pool_out_size(in->shape[2], kw, sw, pw, node->attr.pool.ceil_mode);
    if (oh < 1 || ow < 1)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "input %dx%d with padding %dx%d is smaller than the kernel %dx%d",
                            in->shape[1], in->shape[2], ph, pw, kh, kw);
    node->ndim = 3;
    node->shape[0] = in->shape[0];
    node->shape[1] = oh;
    node->shape[2] = ow;
    return CZ_OK;
}

/* The input window [h0, h1) x [w0, w1) that output (oh, ow) of a pooling
 * node reads, already clipped to the H x W input. */
typedef struct cz_window {
    int h0, h1, w0, w1;
} cz_window;
typedef cz_window (*cz_window_fn)(const cz_node *node, int H, int W, int oh, int ow);

/* Max pooling over whatever windows `window` gives (maxpool.c): the
 * forward and backward shared by MaxPool2d and AdaptiveMaxPool2d. */
cz_status cz_max_window_forward(cz_net *net, cz_node *node, cz_window_fn window);
void cz_max_window_backward(cz_net *net, cz_node *node, cz_window_fn window);

/* What max and adaptive max pooling keep for backward: which forward the
 * argmax belongs to, then each maximum's in-plane index. */
typedef struct cz_saved_argmax {
    int32_t batch; /* N of the training forward that filled idx, 0 if none */
    int32_t idx[];
} cz_saved_argmax;

/* Adaptive pooling (PyTorch's AdaptiveAvg/MaxPool2d): output index i's
 * window over an input of `size` is [floor(i size / out),
 * ceil((i + 1) size / out)); 64-bit products so large sizes cannot
 * overflow. Windows overlap when size is not a multiple of out. */
static inline int cz_adaptive_start(int i, int size, int out)
{
    return (int)((int64_t)i * size / out);
}

static inline int cz_adaptive_end(int i, int size, int out)
{
    return (int)(((int64_t)(i + 1) * size + out - 1) / out);
}

/* Validates an adaptive pool's (C, H, W) input and positive output size
 * and sets the node's output shape (C, OH, OW). */
static inline cz_status cz_adaptive_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int out_h = node->attr.adaptive.out_h, out_w = node->attr.adaptive.out_w;
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C, H, W), got %d dims",
                            in->ndim);
    if (out_h <= 0 || out_w <= 0)
        return cz_node_fail(node, CZ_ERR_ARG, "output size %dx%d must be positive", out_h,
                            out_w);
    node->ndim = 3;
    node->shape[0] = in->shape[0];
    node->shape[1] = out_h;
    node->shape[2] = out_w;
    return CZ_OK;
}

#endif
