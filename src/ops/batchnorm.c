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
 * With a replica sum set on the net (cz_net_set_sync_stats: data-parallel
 * training with --sync-bn) the batch statistics are those of the global
 * batch, as PyTorch's SyncBatchNorm computes them: forward sums each
 * channel's values, then its centred squares, over the replicas; backward
 * sums dy and dy xhat. The weight and bias gradients stay per replica
 * (the gradient averaging that follows adds them up).
 *
 * Saved state (both modes, 4 C doubles): the mean and 1/sqrt(var + eps) the
 * forward used, the values per channel they came from, whether they were
 * batch statistics (so backward knows which formula to differentiate), and
 * room for backward's two per-channel sums.
 */
#include <math.h>
#include <stdint.h>

#include "graph/net.h"

enum { BN_WEIGHT, BN_BIAS, BN_RUNNING_MEAN, BN_RUNNING_VAR, BN_NUM_BATCHES };

typedef struct saved_stats {
    int32_t batch_stats; /* 1: the forward normalised with batch statistics */
    double count;        /* values per channel in the (global) batch */
    /* point into the same block, after the header */
    double *mean, *invstd, *sum_dy, *sum_dy_xhat;
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

/* The saved block: header, then mean, invstd, sum_dy, sum_dy_xhat (C
 * each); backward's two sums are adjacent so one reduction covers both. */
static saved_stats *stats_of(cz_node *node, int C, bool allocate)
{
    size_t bytes = sizeof(saved_stats) + sizeof(double) * 4 * (size_t)C;
    saved_stats *s = allocate ? cz_node_saved(node, bytes) : node->saved;
    if (s) {
        s->mean = (double *)(s + 1);
        s->invstd = s->mean + C;
        s->sum_dy = s->invstd + C;
        s->sum_dy_xhat = s->sum_dy + C;
    }
    return s;
}

/* Sums v over the replicas when the net trains data-parallel with synced
 * statistics; a no-op otherwise. */
static cz_status replica_sum(cz_net *net, const cz_node *node, double *v, int n)
{
    if (!net->sync_sum)
        return CZ_OK;
    cz_status st = net->sync_sum(net->sync_ctx, v, n);
    return st == CZ_OK ? CZ_OK
                       : cz_node_fail(node, st, "summing batch statistics over processes failed");
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

/* The per-channel sums below run in double over LANES interleaved
 * partial sums, added pairwise at the end: the order is the code's, not
 * the compiler's or the thread count's, and the lanes vectorise (a single
 * double accumulator is one add per 4 cycles: resnet50's batch-8 step
 * spent 240 ms in these loops). */
enum { LANES = 16 };

static double lanes_total(double part[LANES])
{
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] += part[l + w];
    return part[0];
}

/* part[l] += x[i] for i = l (mod LANES): sums of x, or (centred) of
 * (x - mean)^2. */
CZ_ELEMENTWISE static void add_plane(const float *x, size_t n, bool squares, double mean,
                                     double out[LANES])
{
    double part[LANES];
    for (int l = 0; l < LANES; l++)
        part[l] = out[l];
    size_t full = n / LANES * LANES;
    for (size_t i = 0; i < full; i += LANES)
        for (int l = 0; l < LANES; l++) {
            double v = squares ? ((double)x[i + l] - mean) * ((double)x[i + l] - mean) : x[i + l];
            part[l] += v;
        }
    for (size_t i = full; i < n; i++) {
        double v = squares ? ((double)x[i] - mean) * ((double)x[i] - mean) : x[i];
        part[i - full] += v;
    }
    for (int l = 0; l < LANES; l++)
        out[l] = part[l];
}

/* Per channel, the sum of x over the batch (squares false), or of
 * (x - mean)^2 (squares true: a second pass on the centred values, so no
 * cancellation). */
static void channel_sums(const float *x, bn_dims d, bool squares, const double *mean,
                         double *sum)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < d.C; c++) {
        double part[LANES] = {0};
        for (int n = 0; n < d.N; n++)
            add_plane(x + ((size_t)n * d.C + c) * d.M, d.M, squares, squares ? mean[c] : 0.0,
                      part);
        sum[c] = lanes_total(part);
    }
}

/* The batch's mean and invstd (summed over replicas when synced) into s,
 * and the running statistics updated from them. */
static cz_status batch_statistics(cz_net *net, cz_node *node, const float *x, bn_dims d,
                                  saved_stats *s)
{
    double count = (double)d.N * (double)d.M, momentum = node->attr.bn.momentum;
    cz_status st = replica_sum(net, node, &count, 1);
    if (st == CZ_OK && count < 2)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "training needs more than 1 value per channel to compute a "
                            "variance; got batch %d of %zu values per channel",
                            d.N, d.M);
    if (st == CZ_OK) {
        channel_sums(x, d, false, NULL, s->mean);
        st = replica_sum(net, node, s->mean, d.C);
    }
    if (st != CZ_OK)
        return st;
    for (int c = 0; c < d.C; c++)
        s->mean[c] /= count;
    channel_sums(x, d, true, s->mean, s->invstd);
    if ((st = replica_sum(net, node, s->invstd, d.C)) != CZ_OK)
        return st;
    float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;
    for (int c = 0; c < d.C; c++) {
        double var = s->invstd[c] / count, unbiased = s->invstd[c] / (count - 1);
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * s->mean[c]);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
        s->invstd[c] = 1.0 / sqrt(var + node->attr.bn.eps);
    }
    s->count = count;
    cz_node_param(net, node, BN_NUM_BATCHES)->count++;
    return CZ_OK;
}

/* x (N, C, M) -> y (N, C, M), with M = H W or 1 */
/* y = (x - mean) scale + shift over one plane. */
CZ_ELEMENTWISE static void normalise_plane(const float *x, float *y, size_t n, float mean,
                                          float scale, float shift)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] - mean) * scale + shift;
}

static cz_status batchnorm_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    const float *x = in->out.data;
    /* The inference plan may fuse the activation after it: y is then the
     * activation's output, each plane mapped while it is in cache. */
    float *y = node->fuse_dst >= 0 ? net->nodes[node->fuse_dst].out.data : node->out.data;
    int act = node->fuse_act >= 0 ? (int)net->nodes[node->fuse_act].attr.act.act : -1;
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *bias = cz_node_param(net, node, BN_BIAS)->value.data;
    const float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    const float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;

    saved_stats *s = stats_of(node, d.C, true);
    if (!s)
        return CZ_ERR_NOMEM;
    s->batch_stats = net->training;
    if (net->training) {
        cz_status st = batch_statistics(net, node, x, d, s);
        if (st != CZ_OK)
            return st;
    } else {
        for (int c = 0; c < d.C; c++) {
            s->mean[c] = running_mean[c];
            s->invstd[c] = 1.0 / sqrt((double)running_var[c] + node->attr.bn.eps);
        }
    }

#pragma omp parallel for schedule(static)
    for (int c = 0; c < d.C; c++) {
        /* y = (x - mean) (invstd weight) + bias: centring first keeps the
         * precision that x scale + shift would lose when |mean| >> std.
         * (cz_batchnorm_eval_affine gives a fused conv the same numbers.) */
        float mean_f = (float)s->mean[c], scale = (float)(s->invstd[c] * weight[c]);
        for (int n = 0; n < d.N; n++) {
            float *yp = y + ((size_t)n * d.C + c) * d.M;
            normalise_plane(x + ((size_t)n * d.C + c) * d.M, yp, d.M, mean_f, scale, bias[c]);
            if (act >= 0)
                cz_act_map((cz_act)act, yp, yp, d.M);
        }
    }
    return CZ_OK;
}

void cz_batchnorm_eval_affine(cz_net *net, const cz_node *node, float *mean, float *scale,
                              const float **bias)
{
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    const float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;
    for (int c = 0; c < node->shape[0]; c++) {
        double invstd = 1.0 / sqrt((double)running_var[c] + node->attr.bn.eps);
        mean[c] = (float)(double)running_mean[c];
        scale[c] = (float)(invstd * weight[c]);
    }
    *bias = cz_node_param(net, node, BN_BIAS)->value.data;
}

/* The lanes' sums of dy and of dy xhat over one plane, xhat = (x - mean)
 * invstd. */
CZ_ELEMENTWISE static void dy_sums_plane(const float *x, const float *dy, size_t n, double mean,
                                         double invstd, double dy_out[LANES],
                                         double dy_xhat_out[LANES])
{
    double a[LANES], b[LANES];
    for (int l = 0; l < LANES; l++)
        a[l] = dy_out[l], b[l] = dy_xhat_out[l];
    size_t full = n / LANES * LANES;
    for (size_t i = 0; i < full; i += LANES)
        for (int l = 0; l < LANES; l++) {
            a[l] += dy[i + l];
            b[l] += dy[i + l] * ((x[i + l] - mean) * invstd);
        }
    for (size_t i = full; i < n; i++) {
        a[i - full] += dy[i];
        b[i - full] += dy[i] * ((x[i] - mean) * invstd);
    }
    for (int l = 0; l < LANES; l++)
        dy_out[l] = a[l], dy_xhat_out[l] = b[l];
}

/* dx += k (dy - mean_dy - xhat mean_dy_xhat) over one plane; a fresh dx
 * gets 0 + that, stored without clearing and reading it back first (the
 * same bits; the clearing memsets were 1-2% of a resnet50 step). */
CZ_ELEMENTWISE static void dx_plane(const float *x, const float *dy, float *dx, size_t n,
                                    double mean, double invstd, double k, double mean_dy,
                                    double mean_dy_xhat, bool fresh)
{
    if (fresh)
        for (size_t i = 0; i < n; i++) {
            double xhat = (x[i] - mean) * invstd;
            dx[i] = 0.0f + (float)(k * (dy[i] - mean_dy - xhat * mean_dy_xhat));
        }
    else
        for (size_t i = 0; i < n; i++) {
            double xhat = (x[i] - mean) * invstd;
            dx[i] += (float)(k * (dy[i] - mean_dy - xhat * mean_dy_xhat));
        }
}

/* dy (N, C, M) -> dx (N, C, M), dweight (C), dbias (C), all accumulated.
 * With batch statistics (xhat = (x - mean) invstd, m values per channel in
 * the global batch):
 *   dx = weight invstd (dy - sum(dy) / m - xhat sum(dy xhat) / m)
 * With running statistics the affine map's own derivative:
 *   dx = weight invstd dy */
static void batchnorm_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    int C = d.C, N = d.N;
    size_t M = d.M;
    const float *x = in->out.data, *dy = node->dout.data;
    float *dx = cz_wants_grad(net, in) ? in->dout.data : NULL;
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    float *dweight = cz_node_param(net, node, BN_WEIGHT)->grad.data;
    float *dbias = cz_node_param(net, node, BN_BIAS)->grad.data;
    saved_stats *s = stats_of(node, C, false);

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double dy_part[LANES] = {0}, dy_xhat_part[LANES] = {0};
        for (int n = 0; n < N; n++)
            dy_sums_plane(x + ((size_t)n * C + c) * M, dy + ((size_t)n * C + c) * M, M,
                          s->mean[c], s->invstd[c], dy_part, dy_xhat_part);
        double sum_dy = lanes_total(dy_part), sum_dy_xhat = lanes_total(dy_xhat_part);
        dweight[c] += (float)sum_dy_xhat;
        dbias[c] += (float)sum_dy;
        s->sum_dy[c] = sum_dy;
        s->sum_dy_xhat[c] = sum_dy_xhat;
    }
    if (!dx)
        return;
    /* Backward cannot fail: a failed sum has already stopped the process
     * (MPI's default error handler aborts). */
    if (s->batch_stats)
        (void)replica_sum(net, node, s->sum_dy, 2 * C);
    bool fresh = cz_grad_take_fresh(in);

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean = s->mean[c], invstd = s->invstd[c], k = weight[c] * invstd;
        double mean_dy = 0.0, mean_dy_xhat = 0.0;
        if (s->batch_stats) {
            mean_dy = s->sum_dy[c] / s->count;
            mean_dy_xhat = s->sum_dy_xhat[c] / s->count;
        }
        for (int n = 0; n < N; n++) {
            size_t at = ((size_t)n * C + c) * M;
            dx_plane(x + at, dy + at, dx + at, M, mean, invstd, k, mean_dy, mean_dy_xhat, fresh);
        }
    }
}

const cz_op cz_op_batchnorm = {
    .name = "batchnorm",
    .infer = batchnorm_infer,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .clears_grads = true,
};
