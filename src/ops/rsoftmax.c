/*
 * rsoftmax.c - ResNeSt's radix softmax (timm's RadixSoftmax): the split
 * attention weights of fc2, (radix * C) features or (radix * C, 1, 1).
 *
 * The input is read as (groups, radix, C / groups) - fc2 is a grouped 1x1
 * conv, so each cardinal group's radix splits are adjacent - and written
 * as (radix, groups, C / groups), softmax taken over radix: output split r
 * is then channels [r C, (r + 1) C), the layout the split conv's output
 * has, so channel_mul + split_sum can apply it. With radix 1 there is
 * nothing to choose between and timm uses a sigmoid gate (SE-like).
 */
#include <math.h>

#include "graph/net.h"

int cz_rsoftmax(cz_net *net, int x, const char *name, int radix, int groups)
{
    cz_attrs attr = {.rsoftmax = {.radix = radix, .groups = groups}};
    return cz_net_add_node(net, &cz_op_rsoftmax, name, &x, 1, &attr);
}

static cz_status rsoftmax_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int radix = node->attr.rsoftmax.radix, groups = node->attr.rsoftmax.groups;
    bool vector = in->ndim == 1 || (in->ndim == 3 && in->shape[1] == 1 && in->shape[2] == 1);
    if (!vector)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "input %s must be (C) features or (C, 1, 1), got %d-D [%d, %d, %d]",
                            in->name, in->ndim, in->shape[0], in->ndim == 3 ? in->shape[1] : 0,
                            in->ndim == 3 ? in->shape[2] : 0);
    if (radix < 1 || groups < 1)
        return cz_node_fail(node, CZ_ERR_ARG, "radix %d and groups %d must be positive", radix,
                            groups);
    if (in->shape[0] % ((int64_t)radix * groups) != 0)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "%d channels of %s do not split into radix %d x groups %d",
                            in->shape[0], in->name, radix, groups);
    node->ndim = in->ndim;
    for (int i = 0; i < 3; i++)
        node->shape[i] = in->shape[i];
    return CZ_OK;
}

/* Where element (r, g, j) of the radix group sits: `in` in the input's
 * (groups, radix, rest) order, `out` in the output's (radix, groups, rest). */
typedef struct rsoftmax_layout {
    int radix, groups, rest;
} rsoftmax_layout;

static rsoftmax_layout layout_of(const cz_node *node)
{
    rsoftmax_layout l = {node->attr.rsoftmax.radix, node->attr.rsoftmax.groups, 0};
    l.rest = node->shape[0] / (l.radix * l.groups);
    return l;
}

static size_t index_in(rsoftmax_layout l, int r, int g, int j)
{
    return ((size_t)g * l.radix + r) * l.rest + j;
}

static size_t index_out(rsoftmax_layout l, int r, int g, int j)
{
    return ((size_t)r * l.groups + g) * l.rest + j;
}

/* x (N, groups, radix, rest) -> y (N, radix, groups, rest), softmax over
 * radix; stable (max subtracted), sum in double. */
static void softmax_sample(rsoftmax_layout l, const float *x, float *y)
{
    for (int g = 0; g < l.groups; g++)
        for (int j = 0; j < l.rest; j++) {
            float max = x[index_in(l, 0, g, j)];
            for (int r = 1; r < l.radix; r++)
                max = fmaxf(max, x[index_in(l, r, g, j)]);
            double sum = 0.0;
            for (int r = 0; r < l.radix; r++) {
                float e = expf(x[index_in(l, r, g, j)] - max);
                y[index_out(l, r, g, j)] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int r = 0; r < l.radix; r++)
                y[index_out(l, r, g, j)] *= inv;
        }
}

static cz_status rsoftmax_forward(cz_net *net, cz_node *node)
{
    const float *x = cz_node_in(net, node, 0)->out.data;
    float *y = node->out.data;
    rsoftmax_layout l = layout_of(node);
    size_t C = (size_t)node->shape[0];

#pragma omp parallel for schedule(static)
    for (int n = 0; n < net->batch; n++) {
        if (l.radix == 1)
            for (size_t c = 0; c < C; c++)
                y[n * C + c] = 1.0f / (1.0f + expf(-x[n * C + c]));
        else
            softmax_sample(l, x + n * C, y + n * C);
    }
    return CZ_OK;
}

/* dx(r) += y(r) (dy(r) - sum_r' dy(r') y(r')), read in the output's order
 * and written back in the input's. */
static void softmax_sample_backward(rsoftmax_layout l, const float *y, const float *dy, float *dx)
{
    for (int g = 0; g < l.groups; g++)
        for (int j = 0; j < l.rest; j++) {
            double dot = 0.0;
            for (int r = 0; r < l.radix; r++)
                dot += (double)dy[index_out(l, r, g, j)] * y[index_out(l, r, g, j)];
            for (int r = 0; r < l.radix; r++) {
                size_t o = index_out(l, r, g, j);
                dx[index_in(l, r, g, j)] += (float)(y[o] * (dy[o] - dot));
            }
        }
}

static void rsoftmax_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    const float *y = node->out.data, *dy = node->dout.data;
    float *dx = in->dout.data;
    rsoftmax_layout l = layout_of(node);
    size_t C = (size_t)node->shape[0];

#pragma omp parallel for schedule(static)
    for (int n = 0; n < net->batch; n++) {
        if (l.radix == 1)
            for (size_t c = n * C; c < (n + 1) * C; c++)
                dx[c] += dy[c] * y[c] * (1.0f - y[c]);
        else
            softmax_sample_backward(l, y + n * C, dy + n * C, dx + n * C);
    }
}

const cz_op cz_op_rsoftmax = {
    .name = "rsoftmax",
    .infer = rsoftmax_infer,
    .forward = rsoftmax_forward,
    .backward = rsoftmax_backward,
};
