/*
 * slice.c - channels [start, end) of a (C, H, W) input, or features
 * [start, end) of a 1-D one: torch.split / chunk along dim 1, as
 * ShuffleNet-v2's channel split and Res2Net's scales use it.
 */
#include <string.h>

#include "graph/net.h"

int cz_slice(cz_net *net, int x, const char *name, int start, int end)
{
    cz_attrs attr = {.slice = {.start = start, .end = end}};
    return cz_net_add_node(net, &cz_op_slice, name, &x, 1, &attr);
}

static cz_status slice_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int start = node->attr.slice.start, end = node->attr.slice.end;
    if (start < 0 || end <= start || end > in->shape[0])
        return cz_node_fail(node, CZ_ERR_ARG,
                            "channels [%d, %d) must be a non-empty range inside [0, %d)", start,
                            end, in->shape[0]);
    node->ndim = in->ndim;
    memcpy(node->shape, in->shape, sizeof node->shape);
    node->shape[0] = end - start;
    return CZ_OK;
}

/* Elements per channel (H W, or 1 for features). */
static size_t plane_size(const cz_node *node)
{
    return cz_node_numel(node) / (size_t)node->shape[0];
}

/* x (N, C, H, W) -> y (N, end - start, H, W): one copy per sample */
static cz_status slice_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    size_t plane = plane_size(node), in_size = cz_node_numel(in), out_size = cz_node_numel(node);
    for (int n = 0; n < net->batch; n++)
        memcpy(node->out.data + n * out_size,
               in->out.data + n * in_size + (size_t)node->attr.slice.start * plane,
               sizeof(float) * out_size);
    return CZ_OK;
}

/* dx[:, start:end] += dy */
static void slice_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    if (!cz_wants_grad(net, in))
        return;
    size_t plane = plane_size(node), in_size = cz_node_numel(in), out_size = cz_node_numel(node);
    for (int n = 0; n < net->batch; n++) {
        const float *dy = node->dout.data + n * out_size;
        float *dx = in->dout.data + n * in_size + (size_t)node->attr.slice.start * plane;
        for (size_t i = 0; i < out_size; i++)
            dx[i] += dy[i];
    }
}

const cz_op cz_op_slice = {
    .name = "slice",
    .infer = slice_infer,
    .forward = slice_forward,
    .backward = slice_backward,
};
