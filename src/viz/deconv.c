/*
 * deconv.c - Zeiler & Fergus's deconvnet (viz.h) and the receptive fields
 * its reconstructions live in.
 *
 * The deconvnet is backprop with one change: where backward multiplies by
 * the ReLU's forward mask, the deconvnet applies ReLU to the signal coming
 * down. Unpooling to the recorded switches is exactly max pooling's
 * backward, and a convolution's backward with respect to its input is the
 * transposed convolution with the same filters (no bias), so both are the
 * ops' own backward functions. The units are projected in one batch: the
 * image is repeated n times and sample i is seeded with unit i alone.
 *
 * Limits: the net's internals (graph/net.h) are used directly, since the
 * walk replaces one op's backward; ops without a backward fail.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "viz/viz.h"

/* ------------------------------------------------------- receptive fields */

/* The input rows [*lo, *hi) that output rows [lo, hi) of a window op read:
 * kernel k, stride s, padding p, dilation d. */
static void window_back(int *lo, int *hi, int k, int s, int p, int d)
{
    *lo = *lo * s - p;
    *hi = (*hi - 1) * s - p + (k - 1) * d + 1;
}

/* The box of node's input 0 that box b of its output depends on. */
static cz_box box_back(const cz_net *net, const cz_node *node, cz_box b)
{
    const cz_node *in = &net->nodes[node->inputs[0]];
    if (in->ndim != 3)
        return b;
    int H = in->shape[1], W = in->shape[2];
    if (node->op == &cz_op_conv2d) {
        const cz_conv_attr *a = &node->attr.conv;
        window_back(&b.y0, &b.y1, a->kernel_h, a->stride_h, a->pad_h, a->dilation);
        window_back(&b.x0, &b.x1, a->kernel_w, a->stride_w, a->pad_w, a->dilation);
    } else if (node->op == &cz_op_maxpool || node->op == &cz_op_avgpool) {
        const cz_pool_attr *a = &node->attr.pool;
        window_back(&b.y0, &b.y1, a->kernel_h, a->stride_h, a->pad_h, 1);
        window_back(&b.x0, &b.x1, a->kernel_w, a->stride_w, a->pad_w, 1);
    } else if (node->ndim != 3 || node->shape[1] != H || node->shape[2] != W) {
        return (cz_box){0, H, 0, W};
    }
    b.y0 = b.y0 < 0 ? 0 : b.y0;
    b.x0 = b.x0 < 0 ? 0 : b.x0;
    b.y1 = b.y1 > H ? H : b.y1;
    b.x1 = b.x1 > W ? W : b.x1;
    return b;
}

static cz_box box_union(cz_box a, cz_box b)
{
    if (a.y1 <= a.y0 || a.x1 <= a.x0)
        return b;
    return (cz_box){a.y0 < b.y0 ? a.y0 : b.y0, a.y1 > b.y1 ? a.y1 : b.y1,
                    a.x0 < b.x0 ? a.x0 : b.x0, a.x1 > b.x1 ? a.x1 : b.x1};
}

cz_box cz_viz_receptive_field(const cz_net *net, int layer, int y, int x)
{
    cz_box *box = calloc((size_t)layer + 1, sizeof *box);
    const cz_node *input = &net->nodes[0];
    cz_box whole = {0, input->shape[1], 0, input->shape[2]};
    if (!box)
        return whole;
    box[layer] = (cz_box){y, y + 1, x, x + 1};
    /* Back over the DAG: each node's box is the union of what its users
     * need; every input of a multi-input node (add, concat) gets it. */
    for (int i = layer; i > 0; i--) {
        const cz_node *node = &net->nodes[i];
        if (box[i].y1 <= box[i].y0)
            continue;
        for (int k = 0; k < node->n_inputs; k++) {
            cz_box b = box_back(net, node, box[i]);
            if (net->nodes[node->inputs[k]].ndim != 3)
                b = whole;
            box[node->inputs[k]] = box_union(box[node->inputs[k]], b);
        }
    }
    cz_box out = box[0].y1 > box[0].y0 ? box[0] : whole;
    free(box);
    return out;
}

/* ------------------------------------------------------------ top units */

static float at(const cz_tensor *a, int c, int h, int w, int y, int x)
{
    return a->data[((size_t)c * h + y) * w + x];
}

/* The strongest position of channel c, avoiding the `n` taken ones. */
static cz_deconv_unit strongest(const cz_tensor *a, int c, int h, int w,
                                const cz_deconv_unit *taken, int n)
{
    cz_deconv_unit best = {.channel = c, .y = -1, .x = -1, .value = -INFINITY};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            bool used = false;
            for (int i = 0; i < n && !used; i++)
                used = taken[i].channel == c && taken[i].y == y && taken[i].x == x;
            float v = at(a, c, h, w, y, x);
            if (!used && v > best.value) {
                best.value = v;
                best.y = y;
                best.x = x;
            }
        }
    return best;
}

cz_status cz_viz_top_units(cz_net *net, const cz_tensor *x, int layer, int channel, int k,
                           cz_deconv_unit *units, int *found)
{
    int shape[3];
    if (layer <= 0 || layer >= net->n_nodes || cz_net_node_shape(net, layer, shape) != 3)
        return cz_fail(CZ_ERR_ARG, "deconv needs a layer with a (C, H, W) output");
    int C = shape[0], h = shape[1], w = shape[2];
    if (channel >= C)
        return cz_fail(CZ_ERR_ARG, "channel %d is outside %s's %d channels", channel,
                       net->nodes[layer].name, C);
    /* The layer's own output, kept: with the inference plan on, inner maps
     * share memory and fused-away ones are not written. */
    bool fusion = net->fusion;
    net->fusion = false;
    cz_status st = cz_net_forward(net, x, NULL);
    net->fusion = fusion;
    if (st != CZ_OK)
        return st;
    const cz_tensor *a = &net->nodes[layer].out;
    int n = 0;
    if (channel >= 0) {
        for (; n < k && n < h * w; n++)
            units[n] = strongest(a, channel, h, w, units, n);
    } else {
        /* Each channel's maximum, then the k largest of those. */
        for (; n < k && n < C; n++) {
            cz_deconv_unit best = {.value = -INFINITY, .channel = -1};
            for (int c = 0; c < C; c++) {
                bool used = false;
                for (int i = 0; i < n && !used; i++)
                    used = units[i].channel == c;
                cz_deconv_unit u = used ? best : strongest(a, c, h, w, NULL, 0);
                if (!used && (best.channel < 0 || u.value > best.value))
                    best = u;
            }
            units[n] = best;
        }
    }
    for (int i = 0; i < n; i++)
        units[i].field = cz_viz_receptive_field(net, layer, units[i].y, units[i].x);
    *found = n;
    return CZ_OK;
}

/* ------------------------------------------------------------- deconvnet */

/* Gives node a zeroed dout of the batch's shape. */
static cz_status zero_dout(cz_node *node, int batch)
{
    int shape[4] = {batch, node->shape[0], node->shape[1], node->shape[2]};
    if (!node->dout.data || node->dout.ndim != node->ndim + 1 || node->dout.shape[0] != batch) {
        cz_status st = cz_tensor_alloc(&node->dout, node->ndim + 1, shape);
        if (st != CZ_OK)
            return cz_fail(st, "deconv: cannot allocate %s's signal", node->name);
    }
    memset(node->dout.data, 0, cz_tensor_numel(&node->dout) * sizeof(float));
    return CZ_OK;
}

/* ReLU's deconvnet rule: in->dout += max(signal, 0). */
static void relu_signal(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    size_t n = cz_node_numel(node) * (size_t)net->batch;
    for (size_t i = 0; i < n; i++)
        in->dout.data[i] += fmaxf(node->dout.data[i], 0.0f);
}

/* The walk from `layer` down to the input over the nodes the seeds reach. */
static cz_status project(cz_net *net, int layer)
{
    bool *reached = calloc((size_t)layer + 1, sizeof *reached);
    if (!reached)
        return cz_fail(CZ_ERR_NOMEM, "deconv: out of memory");
    reached[layer] = true;
    cz_status st = CZ_OK;
    for (int i = layer; i > 0 && st == CZ_OK; i--) {
        cz_node *node = &net->nodes[i];
        if (!reached[i])
            continue;
        if (node->op == &cz_op_activation && node->attr.act.act == CZ_ACT_RELU)
            relu_signal(net, node);
        else if (node->op->backward)
            node->op->backward(net, node);
        else
            st = cz_fail(CZ_ERR_ARG, "deconv: %s (%s) has no backward pass", node->name,
                         node->op->name);
        for (int k = 0; k < node->n_inputs; k++)
            reached[node->inputs[k]] = true;
    }
    free(reached);
    return st;
}

cz_status cz_viz_deconv(cz_net *net, const cz_tensor *x, int layer, const cz_deconv_unit *units,
                        int n, float *recon)
{
    int shape[3];
    if (layer <= 0 || layer >= net->n_nodes || cz_net_node_shape(net, layer, shape) != 3)
        return cz_fail(CZ_ERR_ARG, "deconv needs a layer with a (C, H, W) output");
    if (x->ndim != 4 || x->shape[0] != 1 || n < 1)
        return cz_fail(CZ_ERR_SHAPE, "deconv takes one image (1, C, H, W) and units to project");
    size_t sample = cz_tensor_numel(x);
    cz_tensor batch = {0};
    int bshape[4] = {n, x->shape[1], x->shape[2], x->shape[3]};
    cz_status st = cz_tensor_alloc(&batch, 4, bshape);
    for (int i = 0; st == CZ_OK && i < n; i++)
        memcpy(batch.data + (size_t)i * sample, x->data, sample * sizeof(float));
    /* input_grad: the forward sizes what the convolutions' backward needs,
     * and the input node gets a signal buffer. */
    bool old = net->input_grad;
    net->input_grad = true;
    if (st == CZ_OK)
        st = cz_net_forward(net, &batch, NULL);
    for (int i = 0; st == CZ_OK && i <= layer; i++)
        if (!(net->nodes[i].train_only && !net->training))
            st = zero_dout(&net->nodes[i], n);
    size_t plane = (size_t)shape[1] * shape[2], per = (size_t)shape[0] * plane;
    for (int i = 0; st == CZ_OK && i < n; i++) {
        const cz_deconv_unit *u = &units[i];
        size_t at_unit = (size_t)u->channel * plane + (size_t)u->y * shape[2] + (size_t)u->x;
        net->nodes[layer].dout.data[(size_t)i * per + at_unit] =
            net->nodes[layer].out.data[(size_t)i * per + at_unit];
    }
    if (st == CZ_OK)
        st = project(net, layer);
    if (st == CZ_OK)
        memcpy(recon, net->nodes[0].dout.data, (size_t)n * sample * sizeof(float));
    net->input_grad = old;
    cz_net_zero_grad(net);
    cz_tensor_free(&batch);
    return st;
}
