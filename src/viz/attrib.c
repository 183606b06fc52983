/*
 * attrib.c - which pixels decide a class: saliency, Grad-CAM and
 * occlusion maps (viz.h). Gradients come from the net's own backward,
 * seeded with a one-hot d(loss)/d(logits), so the maps follow every op the
 * net has, exactly as autograd would.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "viz/viz.h"

int cz_viz_classes(const cz_net *net)
{
    int shape[3];
    if (cz_net_node_shape(net, cz_net_output(net), shape) != 1) {
        cz_fail(CZ_ERR_ARG, "the net's output %s is not one logit per class",
                cz_net_node_name(net, cz_net_output(net)));
        return -1;
    }
    return shape[0];
}

/* Softmax of n logits into prob, in double. */
static void softmax(const float *logits, int n, double *prob)
{
    double max = -INFINITY, sum = 0;
    for (int k = 0; k < n; k++)
        max = logits[k] > max ? logits[k] : max;
    for (int k = 0; k < n; k++)
        sum += prob[k] = exp(logits[k] - max);
    for (int k = 0; k < n; k++)
        prob[k] /= sum;
}

cz_status cz_viz_predict(cz_net *net, const cz_tensor *x, double *prob, int max_classes,
                         int *classes)
{
    int K = cz_viz_classes(net);
    if (K < 0)
        return CZ_ERR_ARG;
    if (K > max_classes)
        return cz_fail(CZ_ERR_ARG, "the net has %d classes, more than %d", K, max_classes);
    const cz_tensor *y = NULL;
    cz_status st = cz_net_forward(net, x, &y);
    if (st != CZ_OK)
        return st;
    softmax(y->data, K, prob);
    if (classes)
        *classes = K;
    return CZ_OK;
}

/* A forward that backward may follow, then backward from d(logit_cls). */
static cz_status class_backward(cz_net *net, const cz_tensor *x, int cls)
{
    int K = cz_viz_classes(net);
    if (K < 0)
        return CZ_ERR_ARG;
    if (cls < 0 || cls >= K)
        return cz_fail(CZ_ERR_ARG, "class %d is outside the net's %d classes [0, %d)", cls, K, K);
    if (x->ndim != 4 || x->shape[0] != 1)
        return cz_fail(CZ_ERR_SHAPE, "visualisations take one image (1, C, H, W)");
    cz_net_set_input_grad(net, true);
    cz_status st = cz_net_forward(net, x, NULL);
    cz_tensor seed = {0};
    int shape[2] = {1, K};
    if (st == CZ_OK)
        st = cz_tensor_alloc(&seed, 2, shape);
    if (st == CZ_OK) {
        seed.data[cls] = 1.0f;
        st = cz_net_backward(net, &seed);
    }
    cz_tensor_free(&seed);
    cz_net_zero_grad(net);
    return st;
}

cz_status cz_viz_saliency(cz_net *net, const cz_tensor *x, int cls, float *map, float *grad)
{
    cz_status st = class_backward(net, x, cls);
    const cz_tensor *g = st == CZ_OK ? cz_net_input_grad(net) : NULL;
    cz_net_set_input_grad(net, false);
    if (st != CZ_OK)
        return st;
    if (!g)
        return cz_fail(CZ_ERR_ARG, "saliency: backward gave no input gradient");
    int C = x->shape[1];
    size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
    for (size_t i = 0; i < plane; i++) {
        float m = 0.0f;
        for (int c = 0; c < C; c++)
            m = fmaxf(m, fabsf(g->data[(size_t)c * plane + i]));
        map[i] = m;
    }
    if (grad)
        memcpy(grad, g->data, (size_t)C * plane * sizeof *grad);
    return CZ_OK;
}

cz_status cz_viz_gradcam(cz_net *net, const cz_tensor *x, int layer, int cls, float *cam,
                         float *alpha)
{
    int shape[3];
    if (layer <= 0 || layer >= cz_net_node_count(net) || cz_net_node_shape(net, layer, shape) != 3)
        return cz_fail(CZ_ERR_ARG, "Grad-CAM needs a layer with a (C, H, W) output");
    cz_status st = class_backward(net, x, cls);
    cz_net_set_input_grad(net, false);
    if (st != CZ_OK)
        return st;
    const cz_tensor *a = cz_net_node_output(net, layer), *g = cz_net_node_grad(net, layer);
    if (!a || !g)
        return cz_fail(CZ_ERR_ARG, "Grad-CAM: %s has no output or gradient",
                       cz_net_node_name(net, layer));
    int C = shape[0];
    size_t plane = (size_t)shape[1] * (size_t)shape[2];
    double *acc = calloc(plane, sizeof *acc);
    if (!acc)
        return cz_fail(CZ_ERR_NOMEM, "Grad-CAM: out of memory");
    for (int c = 0; c < C; c++) {
        const float *gc = g->data + (size_t)c * plane, *ac = a->data + (size_t)c * plane;
        double mean = 0;
        for (size_t i = 0; i < plane; i++)
            mean += gc[i];
        mean /= (double)plane;
        if (alpha)
            alpha[c] = (float)mean;
        for (size_t i = 0; i < plane; i++)
            acc[i] += mean * ac[i];
    }
    for (size_t i = 0; i < plane; i++)
        cam[i] = acc[i] > 0 ? (float)acc[i] : 0.0f;
    free(acc);
    return CZ_OK;
}

static bool is_pool(const char *op)
{
    return strstr(op, "pool") != NULL;
}

int cz_viz_default_cam_layer(const cz_net *net)
{
    int best = -1;
    for (int i = 1; i < cz_net_node_count(net); i++) {
        int shape[3];
        if (cz_net_node_is_aux(net, i))
            continue;
        if (cz_net_node_shape(net, i, shape) != 3)
            break; /* the classifier starts at the first flat output */
        if (shape[1] * shape[2] > 1 && !is_pool(cz_net_node_op(net, i)))
            best = i;
    }
    return best;
}

void cz_viz_upsample(const float *src, int h, int w, float *dst, int H, int W)
{
    float sy = (float)h / (float)H, sx = (float)w / (float)W;
    for (int Y = 0; Y < H; Y++) {
        float fy = fmaxf(((float)Y + 0.5f) * sy - 0.5f, 0.0f);
        int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        float ly = fy - (float)y0;
        for (int X = 0; X < W; X++) {
            float fx = fmaxf(((float)X + 0.5f) * sx - 0.5f, 0.0f);
            int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float lx = fx - (float)x0;
            dst[Y * W + X] = (1 - ly) * ((1 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1]) +
                             ly * ((1 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1]);
        }
    }
}

void cz_viz_occlude(const cz_tensor *x, int y0, int x0, int size, const float *fill, float *dst)
{
    int C = x->shape[1], H = x->shape[2], W = x->shape[3];
    memcpy(dst, x->data, (size_t)C * H * W * sizeof *dst);
    int ya = y0 < 0 ? 0 : y0, yb = y0 + size > H ? H : y0 + size;
    int xa = x0 < 0 ? 0 : x0, xb = x0 + size > W ? W : x0 + size;
    for (int c = 0; c < C; c++)
        for (int y = ya; y < yb; y++)
            for (int i = xa; i < xb; i++)
                dst[((size_t)c * H + y) * W + i] = fill[c];
}

void cz_occlusion_free(cz_occlusion *o)
{
    free(o->prob);
    free(o->top1);
    free(o->pixel);
    memset(o, 0, sizeof *o);
}

/* Runs the squares [first, first + n) of the grid as one batch. */
static cz_status occlusion_batch(cz_net *net, const cz_tensor *x, int cls, const float *fill,
                                 cz_occlusion *o, int first, int n, cz_tensor *batch)
{
    int K = cz_viz_classes(net);
    int shape[4] = {n, x->shape[1], x->shape[2], x->shape[3]};
    if (batch->shape[0] != n) {
        cz_status st = cz_tensor_alloc(batch, 4, shape);
        if (st != CZ_OK)
            return st;
    }
    size_t sample = cz_tensor_numel(x);
    for (int i = 0; i < n; i++) {
        int g = first + i, gy = g / o->grid_w, gx = g % o->grid_w;
        cz_viz_occlude(x, gy * o->stride - o->size / 2, gx * o->stride - o->size / 2, o->size,
                       fill, batch->data + (size_t)i * sample);
    }
    const cz_tensor *y = NULL;
    cz_status st = cz_net_forward(net, batch, &y);
    double *prob = st == CZ_OK ? malloc((size_t)K * sizeof *prob) : NULL;
    if (st == CZ_OK && !prob)
        st = cz_fail(CZ_ERR_NOMEM, "occlusion: out of memory");
    for (int i = 0; st == CZ_OK && i < n; i++) {
        softmax(y->data + (size_t)i * K, K, prob);
        int top = 0;
        for (int k = 1; k < K; k++)
            top = prob[k] > prob[top] ? k : top;
        o->prob[first + i] = (float)prob[cls];
        o->top1[first + i] = top;
    }
    free(prob);
    return st;
}

cz_status cz_viz_occlusion(cz_net *net, const cz_tensor *x, int cls, int size, int stride,
                           const float *fill, int batch, cz_occlusion *out)
{
    int K = cz_viz_classes(net);
    if (K < 0)
        return CZ_ERR_ARG;
    if (cls < 0 || cls >= K)
        return cz_fail(CZ_ERR_ARG, "class %d is outside the net's %d classes [0, %d)", cls, K, K);
    int H = x->shape[2], W = x->shape[3];
    if (size < 1 || stride < 1 || batch < 1)
        return cz_fail(CZ_ERR_ARG, "occlusion: size %d, stride %d and batch %d must be positive",
                       size, stride, batch);
    cz_occlusion o = {.size = size, .stride = stride, .grid_h = (H + stride - 1) / stride,
                      .grid_w = (W + stride - 1) / stride};
    int cells = o.grid_h * o.grid_w;
    o.prob = malloc((size_t)cells * sizeof *o.prob);
    o.top1 = malloc((size_t)cells * sizeof *o.top1);
    o.pixel = calloc((size_t)H * W, sizeof *o.pixel);
    int *cover = calloc((size_t)H * W, sizeof *cover);
    cz_status st = o.prob && o.top1 && o.pixel && cover
                       ? CZ_OK
                       : cz_fail(CZ_ERR_NOMEM, "occlusion: out of memory for %d squares", cells);
    cz_tensor images = {0};
    for (int first = 0; st == CZ_OK && first < cells; first += batch) {
        int n = cells - first < batch ? cells - first : batch;
        st = occlusion_batch(net, x, cls, fill, &o, first, n, &images);
    }
    cz_tensor_free(&images);
    /* Each pixel: the mean probability over the squares that hid it. */
    for (int g = 0; st == CZ_OK && g < cells; g++) {
        int y0 = (g / o.grid_w) * stride - size / 2, x0 = (g % o.grid_w) * stride - size / 2;
        for (int y = y0 < 0 ? 0 : y0; y < y0 + size && y < H; y++)
            for (int i = x0 < 0 ? 0 : x0; i < x0 + size && i < W; i++) {
                o.pixel[y * W + i] += o.prob[g];
                cover[y * W + i]++;
            }
    }
    for (int i = 0; st == CZ_OK && i < H * W; i++)
        o.pixel[i] = cover[i] ? o.pixel[i] / (float)cover[i] : NAN;
    free(cover);
    if (st != CZ_OK) {
        cz_occlusion_free(&o);
        return st;
    }
    *out = o;
    return CZ_OK;
}
