/*
 * add.c - elementwise sum of two outputs of the same shape (residual
 * shortcuts). No broadcasting: shapes must match exactly.
 */
#include "graph/net.h"

int cz_add(cz_net *net, int a, int b, const char *name)
{
    int inputs[2] = {a, b};
    return cz_net_add_node(net, &cz_op_add, name, inputs, 2, NULL);
}

static cz_status add_infer(cz_net *net, cz_node *node)
{
    const cz_node *a = cz_node_in(net, node, 0), *b = cz_node_in(net, node, 1);
    bool same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim; i++)
        same = a->shape[i] == b->shape[i];
    if (!same)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "%s is [%d, %d, %d] (%d-D) but %s is [%d, %d, %d] (%d-D): "
                            "shapes must match",
                            a->name, a->shape[0], a->shape[1], a->shape[2], a->ndim, b->name,
                            b->shape[0], b->shape[1], b->shape[2], b->ndim);
    node->ndim = a->ndim;
    for (int i = 0; i < 3; i++)
        node->shape[i] = a->shape[i];
    return CZ_OK;
}

CZ_ELEMENTWISE static void add_arrays(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* a (N, ...), b (N, ...) -> y (N, ...) = a + b */
static cz_status add_forward(cz_net *net, cz_node *node)
{
    const float *a = cz_node_in(net, node, 0)->out.data, *b = cz_node_in(net, node, 1)->out.data;
    float *y = node->out.data;
    long n = (long)(cz_node_numel(node) * (size_t)net->batch);

    enum { CHUNK = 4096 };
    long chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        long lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        add_arrays(a + lo, b + lo, y + lo, (size_t)len);
    }
    return CZ_OK;
}

/* dy (N, ...) -> da += dy, db += dy (twice into one input given twice) */
static void add_backward(cz_net *net, cz_node *node)
{
    const float *dy = node->dout.data;
    long n = (long)(cz_node_numel(node) * (size_t)net->batch);
    for (int k = 0; k < 2; k++) {
        cz_node *in = cz_node_in(net, node, k);
        if (!cz_wants_grad(net, in))
            continue;
        float *dx = in->dout.data;
        bool fresh = cz_grad_take_fresh(in);
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++)
            dx[i] = fresh ? dy[i] : dx[i] + dy[i];
    }
}

const cz_op cz_op_add = {
    .name = "add",
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
    .clears_grads = true,
};
