/*
 * linear.c - fully connected layer y = x W^T + b, W (out_features,
 * in_features) as torch.nn.Linear. The input must be 1-D per sample
 * (flatten first, as torchvision's models do).
 *
 * Every product is one cz_gemm_parallel over all threads: at batch 1 the
 * forward is a matrix-vector product, split over output features, not a
 * batch split that would leave all but one thread idle. The GEMM's split
 * never changes an element's summation order, so results do not depend
 * on the thread count.
 */
#include <math.h>
#include <omp.h>

#include "graph/net.h"
#include "kernels/kernels.h"

int cz_linear(cz_net *net, int x, const char *name, int out_features, bool bias)
{
    cz_attrs attr = {.linear = {.out_features = out_features, .bias = bias}};
    return cz_net_add_node(net, &cz_op_linear, name, &x, 1, &attr);
}

static cz_status linear_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int out = node->attr.linear.out_features;
    if (in->ndim != 1)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "input must be 1-D features (flatten first), got %d dims", in->ndim);
    if (out <= 0)
        return cz_node_fail(node, CZ_ERR_ARG, "out_features %d must be positive", out);
    node->ndim = 1;
    node->shape[0] = out;
    int wshape[2] = {out, in->shape[0]};
    /* A failed declaration (a clashing name, no memory) has set the
     * message; the status only has to say "failed". */
    if (cz_node_declare(net, node, "weight", CZ_PARAM_WEIGHT, 2, wshape) < 0 ||
        (node->attr.linear.bias &&
         cz_node_declare(net, node, "bias", CZ_PARAM_WEIGHT, 1, wshape) < 0))
        return CZ_ERR_ARG;
    /* PyTorch's default: U(-1/sqrt(in_features), +) for weight and bias. */
    float bound = 1.0f / sqrtf((float)in->shape[0]);
    for (int k = 0; k < node->n_params; k++) {
        cz_tensor *t = &cz_node_param(net, node, k)->value;
        for (size_t i = 0; t->data && i < cz_tensor_numel(t); i++) /* NULL: shapes only */
            t->data[i] = bound * (float)(2.0 * cz_rng_uniform(&net->rng) - 1.0);
    }
    return CZ_OK;
}

/* Rows [r0, r1) of `rows` for thread t of T. */
static void share(int rows, int t, int T, int *r0, int *r1)
{
    *r0 = (int)((long)rows * t / T);
    *r1 = (int)((long)rows * (t + 1) / T);
}

/* x (N, IN), weight (OUT, IN), bias (OUT) -> y (N, OUT) */
static cz_status linear_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int N = net->batch, IN = in->shape[0], OUT = node->shape[0];
    const float *weight = cz_node_param(net, node, 0)->value.data;
    const float *bias = node->attr.linear.bias ? cz_node_param(net, node, 1)->value.data : NULL;
    float *y = node->out.data;
    cz_gemm_parallel(false, true, N, OUT, IN, 1.0f, in->out.data, IN, weight, IN, 0.0f, y, OUT);
    for (int n = 0; bias && n < N; n++)
        for (int o = 0; o < OUT; o++)
            y[(size_t)n * OUT + o] += bias[o];
    return CZ_OK;
}

static void linear_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    int N = net->batch, IN = in->shape[0], OUT = node->shape[0];
    cz_param *weight = cz_node_param(net, node, 0);
    float *dbias = node->attr.linear.bias ? cz_node_param(net, node, 1)->grad.data : NULL;
    const float *dy = node->dout.data;
    /* dweight (OUT, IN) += dy^T (OUT, N) * x (N, IN) */
    cz_gemm_parallel(true, false, OUT, IN, N, 1.0f, dy, OUT, in->out.data, IN, 1.0f,
                     weight->grad.data, IN);
    /* dx (N, IN) += dy (N, OUT) * weight (OUT, IN) */
    if (cz_wants_grad(net, in))
        cz_gemm_parallel(false, false, N, IN, OUT, 1.0f, dy, OUT, weight->value.data, IN, 1.0f,
                         in->dout.data, IN);
    if (!dbias)
        return;
#pragma omp parallel
    {
        int r0, r1;
        share(OUT, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        for (int o = r0; o < r1; o++)
            for (int n = 0; n < N; n++)
                dbias[o] += dy[(size_t)n * OUT + o];
    }
}

static int64_t linear_cost(const cz_net *net, const cz_node *node)
{
    return (int64_t)net->nodes[node->inputs[0]].shape[0] * node->shape[0];
}

const cz_op cz_op_linear = {
    .name = "linear",
    .infer = linear_infer,
    .forward = linear_forward,
    .backward = linear_backward,
    .cost = linear_cost,
};
