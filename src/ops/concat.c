/*
 * concat.c - torch.cat(xs, dim=1): (C_i, H, W) inputs that agree on H and
 * W become (sum C_i, H, W); feature inputs (C_i) become (sum C_i). Up to
 * CZ_MAX_INPUTS inputs (Inception's four branches, a DenseNet step's two).
 */
#include <string.h>

#include "graph/net.h"

int cz_concat(cz_net *net, const int *xs, int n, const char *name)
{
    return cz_net_add_node(net, &cz_op_concat, name, xs, n, NULL);
}

static cz_status concat_infer(cz_net *net, cz_node *node)
{
    const cz_node *first = cz_node_in(net, node, 0);
    int64_t channels = 0;
    for (int i = 0; i < node->n_inputs; i++) {
        const cz_node *in = cz_node_in(net, node, i);
        if (in->ndim != first->ndim ||
            (in->ndim == 3 && (in->shape[1] != first->shape[1] || in->shape[2] != first->shape[2])))
            return cz_node_fail(node, CZ_ERR_SHAPE,
                                "input %d (%s) is %d-D %dx%d, input 0 (%s) is %d-D %dx%d: "
                                "inputs must have the same dims and H, W",
                                i, in->name, in->ndim, in->ndim == 3 ? in->shape[1] : 1,
                                in->ndim == 3 ? in->shape[2] : 1, first->name, first->ndim,
                                first->ndim == 3 ? first->shape[1] : 1,
                                first->ndim == 3 ? first->shape[2] : 1);
        if (in->ndim != 1 && in->ndim != 3)
            return cz_node_fail(node, CZ_ERR_SHAPE, "input %d (%s) has %d dims, expected 1 or 3",
                                i, in->name, in->ndim);
        channels += in->shape[0];
    }
    if (channels > INT32_MAX)
        return cz_node_fail(node, CZ_ERR_SHAPE, "%lld channels do not fit an int",
                            (long long)channels);
    node->ndim = first->ndim;
    node->shape[0] = (int)channels;
    node->shape[1] = first->shape[1];
    node->shape[2] = first->shape[2];
    return CZ_OK;
}

/* Elements per channel: H W, or 1 for features. */
static size_t plane_size(const cz_node *node)
{
    return node->ndim == 3 ? (size_t)node->shape[1] * node->shape[2] : 1;
}

/* Whether every input already lies where the output wants it: the
 * inference plan placed them there (net.c's plan_in_place), at a batch of
 * one. */
static bool all_in_place(cz_net *net, const cz_node *node)
{
    size_t start = 0, plane = plane_size(node);
    for (int i = 0; i < node->n_inputs; i++) {
        const cz_node *in = cz_node_in(net, node, i);
        if (net->batch != 1 || in->out.data != node->out.data + start)
            return false;
        start += (size_t)in->shape[0] * plane;
    }
    return true;
}

/* x_i (N, C_i, H, W) -> y (N, sum C_i, H, W), in chunks of the output
 * over the threads: by samples, batch 1 (DenseNet's growing maps, 1.3 ms
 * of densenet121 before the plan put them in place) copied on one thread.
 * A piece already in place is not copied. */
static cz_status concat_forward(cz_net *net, cz_node *node)
{
    enum { CHUNK = 16384 };
    node->kernel = all_in_place(net, node) ? "in place" : NULL;
    if (node->kernel)
        return CZ_OK;
    size_t plane = plane_size(node), out_sample = cz_node_numel(node);
    size_t total = out_sample * (size_t)net->batch;
    long chunks = (long)((total + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * CHUNK, hi = total - lo < CHUNK ? total : lo + CHUNK;
        /* Output range [lo, hi): the input pieces it spans. */
        while (lo < hi) {
            size_t n = lo / out_sample, at = lo % out_sample, start = 0;
            for (int i = 0; i < node->n_inputs; i++) {
                const cz_node *in = cz_node_in(net, node, i);
                size_t size = (size_t)in->shape[0] * plane;
                if (at < start + size) {
                    size_t len = start + size - at < hi - lo ? start + size - at : hi - lo;
                    const float *src = in->out.data + n * size + (at - start);
                    if (src != node->out.data + lo)
                        memcpy(node->out.data + lo, src, len * sizeof(float));
                    lo += len;
                    break;
                }
                start += size;
            }
        }
    }
    return CZ_OK;
}

/* dy (N, sum C_i, H, W) -> dx_i (N, C_i, H, W) += its slice of dy */
static void concat_backward(cz_net *net, cz_node *node)
{
    size_t plane = plane_size(node), out_sample = cz_node_numel(node);

    /* Per sample: an input given twice adds twice into its own sample. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < net->batch; n++) {
        const float *dy = node->dout.data + (size_t)n * out_sample;
        for (int i = 0; i < node->n_inputs; i++) {
            cz_node *in = cz_node_in(net, node, i);
            size_t size = (size_t)in->shape[0] * plane;
            if (cz_wants_grad(net, in)) {
                float *dx = in->dout.data + (size_t)n * size;
                for (size_t j = 0; j < size; j++)
                    dx[j] += dy[j];
            }
            dy += size;
        }
    }
}

const cz_op cz_op_concat = {
    .name = "concat",
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
};
