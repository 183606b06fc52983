/*
 * batchnorm.c - batch normalisation as PyTorch's BatchNorm2d (input
 * (C, H, W)) and BatchNorm1d (input (C) features), parameters and buffers
 * in torchvision's state_dict order: weight, bias, running_mean,
 * running_var, num_batches_tracked.
 *
 * Training normalises with the batch mean and the biased variance over
 * N, H, W, and updates running_mean / running_var (the latter with the
 * unbiased variance) by running = (1 - momentum) running + momentum batch,
 * as PyTorch does; eps sits inside the square root. Evaluation uses the
 * running statistics. Statistics are accumulated in double, one channel per
 * iteration, so threads never share a sum.
 *
 * Saved state (both modes, 2 C doubles): the mean and 1/sqrt(var + eps) the
 * forward used, and whether they were batch statistics, so backward knows
 * which formula to differentiate.
 */
#include <math.h>
#include <stdint.h>

#include "graph/net.h"

enum { BN_WEIGHT, BN_BIAS, BN_RUNNING_MEAN, BN_RUNNING_VAR, BN_NUM_BATCHES };

typedef struct saved_stats {
    int32_t batch_stats; /* 1: the forward normalised with batch statistics */
    double *mean, *invstd; /* point into the same block, after the header */
} saved_stats;

int cz_batchnorm(cz_net *net, int x, const char *name, float eps, float momentum)
{
    cz_attrs attr = {.bn = {.eps = eps, .momentum = momentum}};
    return cz_net_add_node(net, &cz_op_batchnorm, name, &x, 1, &attr);
}

static cz_status batchnorm_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    float eps = node->attr.bn.eps, momentum = node->attr.bn.momentum;
    if (in->ndim != 3 && in->ndim != 1)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "input must be (C, H, W) or (C) features, got %d dims", in->ndim);
    if (!(eps > 0.0f) || !isfinite(eps))
        return cz_node_fail(node, CZ_ERR_ARG, "eps %g must be positive and finite", eps);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return cz_node_fail(node, CZ_ERR_ARG, "momentum %g must lie in [0, 1]", momentum);
    node->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++)
        node->shape[i] = in->shape[i];

    int C = in->shape[0];
    if (cz_node_declare(net, node, "weight", CZ_PARAM_WEIGHT, 1, &C) < 0 ||
        cz_node_declare(net, node, "bias", CZ_PARAM_WEIGHT, 1, &C) < 0 ||
        cz_node_declare(net, node, "running_mean", CZ_PARAM_BUFFER, 1, &C) < 0 ||
        cz_node_declare(net, node, "running_var", CZ_PARAM_BUFFER, 1, &C) < 0 ||
        cz_node_declare_count(net, node, "num_batches_tracked") < 0)
        return CZ_ERR_NOMEM;
    /* Declared tensors start at zero: weight and running_var start at one. */
    float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;
    for (int c = 0; weight && c < C; c++) { /* NULL in a shapes-only net */
        weight[c] = 1.0f;
        running_var[c] = 1.0f;
    }
    return CZ_OK;
}

/* The saved block: header, then mean (C), then invstd (C). */
static saved_stats *stats_of(cz_node *node, int C, bool allocate)
{
    size_t bytes = sizeof(saved_stats) + sizeof(double) * 2 * (size_t)C;
    saved_stats *s = allocate ? cz_node_saved(node, bytes) : node->saved;
    if (s) {
        s->mean = (double *)(s + 1);
        s->invstd = s->mean + C;
    }
    return s;
}

/* Sizes shared by forward and backward: C channels, N samples, M elements
 * per channel per sample (H W, or 1 for features). */
typedef struct bn_dims {
    int C, N;
    size_t M;
} bn_dims;

static bn_dims dims_of(const cz_net *net, const cz_node *node)
{
    bn_dims d = {.C = node->shape[0], .N = net->batch, .M = 1};
    if (node->ndim == 3)
        d.M = (size_t)node->shape[1] * node->shape[2];
    return d;
}

/* x (N, C, M) -> y (N, C, M), with M = H W or 1 */
static cz_status batchnorm_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    int C = d.C, N = d.N;
    size_t M = d.M, count = (size_t)N * M;
    const float *x = in->out.data;
    float *y = node->out.data;
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *bias = cz_node_param(net, node, BN_BIAS)->value.data;
    float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;
    double eps = node->attr.bn.eps, momentum = node->attr.bn.momentum;

    if (net->training && count < 2)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "training needs more than 1 value per channel to compute a "
                            "variance; got batch %d of %zu values per channel",
                            N, M);
    saved_stats *s = stats_of(node, C, true);
    if (!s)
        return CZ_ERR_NOMEM;
    s->batch_stats = net->training;

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (net->training) {
            double sum = 0.0;
            for (int n = 0; n < N; n++) {
                const float *xc = x + ((size_t)n * C + c) * M;
                for (size_t i = 0; i < M; i++)
                    sum += xc[i];
            }
            mean = sum / (double)count;
            /* Second pass on the centred values: no cancellation. */
            double sq = 0.0;
            for (int n = 0; n < N; n++) {
                const float *xc = x + ((size_t)n * C + c) * M;
                for (size_t i = 0; i < M; i++)
                    sq += ((double)xc[i] - mean) * ((double)xc[i] - mean);
            }
            var = sq / (double)count;
            double unbiased = sq / (double)(count - 1);
            running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
            running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
        } else {
            mean = running_mean[c];
            var = running_var[c];
        }
        double invstd = 1.0 / sqrt(var + eps);
        s->mean[c] = mean;
        s->invstd[c] = invstd;
        /* y = (x - mean) (invstd weight) + bias: centring first keeps the
         * precision that x scale + shift would lose when |mean| >> std. */
        float mean_f = (float)mean, scale = (float)(invstd * weight[c]);
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * C + c) * M;
            float *yc = y + ((size_t)n * C + c) * M;
            for (size_t i = 0; i < M; i++)
                yc[i] = (xc[i] - mean_f) * scale + bias[c];
        }
    }
    if (net->training)
        cz_node_param(net, node, BN_NUM_BATCHES)->count++;
    return CZ_OK;
}

/* dy (N, C, M) -> dx (N, C, M), dweight (C), dbias (C), all accumulated.
 * With batch statistics (xhat = (x - mean) invstd, m = N M):
 *   dx = weight invstd (dy - mean(dy) - xhat mean(dy xhat))
 * With running statistics the affine map's own derivative:
 *   dx = weight invstd dy */
static void batchnorm_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    int C = d.C, N = d.N;
    size_t M = d.M, count = (size_t)N * M;
    const float *x = in->out.data, *dy = node->dout.data;
    float *dx = cz_wants_grad(net, in) ? in->dout.data : NULL;
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    float *dweight = cz_node_param(net, node, BN_WEIGHT)->grad.data;
    float *dbias = cz_node_param(net, node, BN_BIAS)->grad.data;
    const saved_stats *s = stats_of(node, C, false);

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean = s->mean[c], invstd = s->invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * C + c) * M;
            const float *dyc = dy + ((size_t)n * C + c) * M;
            for (size_t i = 0; i < M; i++) {
                sum_dy += dyc[i];
                sum_dy_xhat += dyc[i] * ((xc[i] - mean) * invstd);
            }
        }
        dweight[c] += (float)sum_dy_xhat;
        dbias[c] += (float)sum_dy;
        if (!dx)
            continue;
        double k = weight[c] * invstd;
        double mean_dy = 0.0, mean_dy_xhat = 0.0;
        if (s->batch_stats) {
            mean_dy = sum_dy / (double)count;
            mean_dy_xhat = sum_dy_xhat / (double)count;
        }
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * C + c) * M;
            const float *dyc = dy + ((size_t)n * C + c) * M;
            float *dxc = dx + ((size_t)n * C + c) * M;
            for (size_t i = 0; i < M; i++) {
                double xhat = (xc[i] - mean) * invstd;
                dxc[i] += (float)(k * (dyc[i] - mean_dy - xhat * mean_dy_xhat));
            }
        }
    }
}

const cz_op cz_op_batchnorm = {
    .name = "batchnorm",
    .infer = batchnorm_infer,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
};
