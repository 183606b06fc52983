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
    double *plane; /* 2 N C: per-plane sums, before they are added up per channel */
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
 * each; backward's two sums are adjacent so one reduction covers both),
 * then room for 2 N C per-plane sums. Made by forward, so that backward
 * needs no memory of its own. */
static saved_stats *stats_of(cz_node *node, int C, int N, bool allocate)
{
    size_t bytes = sizeof(saved_stats) + sizeof(double) * (4 + 2 * (size_t)N) * (size_t)C;
    saved_stats *s = allocate ? cz_node_saved(node, bytes) : node->saved;
    if (s) {
        s->mean = (double *)(s + 1);
        s->invstd = s->mean + C;
        s->sum_dy = s->invstd + C;
        s->sum_dy_xhat = s->sum_dy + C;
        s->plane = s->sum_dy_xhat + C;
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

/* The sums below run in double over LANES interleaved partial sums per
 * plane, added pairwise at the end of the plane: the order is the code's,
 * not the compiler's or the thread count's, and the lanes vectorise (a
 * single double accumulator is one add per 4 cycles: resnet50's batch-8
 * step spent 240 ms in these loops). The planes' sums are then added per
 * channel in sample order. Planes are taken in memory order, each thread
 * a contiguous range: channel by channel, a channel's planes lie C M
 * floats apart, and on 14x14 maps that walk defeated the prefetchers. */
enum { LANES = 16 };

static double lanes_total(double part[LANES])
{
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] += part[l + w];
    return part[0];
}

/* The sum of x over one plane, or (squares) of (x - mean)^2. */
CZ_ELEMENTWISE static double plane_sum(const float *x, size_t n, bool squares, double mean)
{
    double part[LANES] = {0};
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
    return lanes_total(part);
}

/* total[c] = the sum over samples n of plane[(n C + c) * stride]. */
static void channel_totals(const double *plane, bn_dims d, int stride, double *total)
{
    for (int c = 0; c < d.C; c++) {
        double t = 0.0;
        for (int n = 0; n < d.N; n++)
            t += plane[((size_t)n * d.C + c) * stride];
        total[c] = t;
    }
}

/* Per channel, the sum of x over the batch (squares false), or of
 * (x - mean)^2 (squares true: a second pass on the centred values, so no
 * cancellation). */
static void channel_sums(const float *x, bn_dims d, bool squares, const double *mean,
                         double *plane, double *sum)
{
    long planes = (long)d.N * d.C;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < planes; p++)
        plane[p] = plane_sum(x + (size_t)p * d.M, d.M, squares, squares ? mean[p % d.C] : 0.0);
    channel_totals(plane, d, 1, sum);
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
        channel_sums(x, d, false, NULL, s->plane, s->mean);
        st = replica_sum(net, node, s->mean, d.C);
    }
    if (st != CZ_OK)
        return st;
    for (int c = 0; c < d.C; c++)
        s->mean[c] /= count;
    channel_sums(x, d, true, s->mean, s->plane, s->invstd);
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

/* y = (x - mean) scale + shift over one plane. */
CZ_ELEMENTWISE static void normalise_plane(const float *x, float *y, size_t n, float mean,
                                          float scale, float shift)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] - mean) * scale + shift;
}

/* y = x scale + shift over one plane: a multiply and an add, not fmaf,
 * which the AVX2 and baseline clones (no FMA in their targets) would
 * call from libm for every element. */
CZ_ELEMENTWISE static void scale_shift_plane(const float *x, float *y, size_t n, float scale,
                                            float shift)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * scale + shift;
}

CZ_ELEMENTWISE static void add_into(float *y, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] + b[i];
}

/* Channel c's map. With batch statistics (training) y = (x - mean) scale
 * + shift: centring first keeps the precision that x scale + shift would
 * lose when |mean| >> std, and backward recomputes the same numbers. With
 * running statistics (eval) the map is folded, as PyTorch's CPU kernel
 * and ONNX Runtime fold it: y = x scale + (bias - mean scale), two
 * operations where the centred form takes three, and a conv that takes
 * the BatchNorm into its epilogue (cz_batchnorm_eval_affine) does the
 * same operations on the same numbers. The folded form loses about
 * |mean| scale / 2^24 where the centred one lost nothing: 1e-6 of an
 * output even where |mean| is 20 standard deviations. */
typedef struct affine {
    float mean, scale, shift;
    bool folded; /* y = x scale + shift; mean unused */
} affine;

static affine folded_affine(double mean, double invstd, float weight, float bias)
{
    double scale = invstd * weight;
    return (affine){(float)mean, (float)scale, (float)((double)bias - mean * scale), true};
}

static affine affine_of(const saved_stats *s, const float *weight, const float *bias, int c)
{
    if (!s->batch_stats)
        return folded_affine(s->mean[c], s->invstd[c], weight[c], bias[c]);
    return (affine){(float)s->mean[c], (float)(s->invstd[c] * weight[c]), bias[c], false};
}

/* The chain that a plan (cz_net_set_fusion) hangs on a BatchNorm: a
 * residual add of node fuse_res's output, then an activation, each
 * optional. pre is the activation's input, bn(x) + res, made by the same
 * operations as the unfused ops, so the bits are theirs. */
typedef struct chain {
    const float *res; /* NULL: no add */
    int act;          /* -1: none */
} chain;

static chain chain_of(const cz_net *net, const cz_node *node)
{
    chain ch = {NULL, -1};
    if (node->fuse_res >= 0)
        ch.res = net->nodes[node->fuse_res].out.data;
    if (node->fuse_act >= 0)
        ch.act = (int)net->nodes[node->fuse_act].attr.act.act;
    return ch;
}

/* pre over n values of a plane at offset at: bn(x) (+ res). */
static void chain_pre(const chain *ch, const float *x, size_t at, size_t n, affine a, float *pre)
{
    if (a.folded)
        scale_shift_plane(x + at, pre, n, a.scale, a.shift);
    else
        normalise_plane(x + at, pre, n, a.mean, a.scale, a.shift);
    if (ch->res)
        add_into(pre, ch->res + at, n);
}

/* x (N, C, M) -> y (N, C, M), with M = H W or 1; y is the chain's last
 * output when a plan fused one. */
static cz_status batchnorm_forward(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    const float *x = in->out.data;
    float *y = node->fuse_dst >= 0 ? net->nodes[node->fuse_dst].out.data : node->out.data;
    chain ch = chain_of(net, node);
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *bias = cz_node_param(net, node, BN_BIAS)->value.data;
    const float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    const float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;

    saved_stats *s = stats_of(node, d.C, d.N, true);
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

    /* Each plane through the whole chain while it is in cache. */
    long planes = (long)d.N * d.C;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < planes; p++) {
        size_t at = (size_t)p * d.M;
        chain_pre(&ch, x, at, d.M, affine_of(s, weight, bias, (int)(p % d.C)), y + at);
        if (ch.act >= 0)
            cz_act_forward(net, (cz_act)ch.act, y + at, y + at, d.M);
    }
    return CZ_OK;
}

void cz_batchnorm_eval_affine(cz_net *net, const cz_node *node, float *scale, float *shift,
                              cz_bn_made *made)
{
    int64_t batches = cz_node_param(net, node, BN_NUM_BATCHES)->count;
    if (made->version == net->param_version + 1 && made->batches == batches)
        return;
    *made = (cz_bn_made){net->param_version + 1, batches};
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *bias = cz_node_param(net, node, BN_BIAS)->value.data;
    const float *running_mean = cz_node_param(net, node, BN_RUNNING_MEAN)->value.data;
    const float *running_var = cz_node_param(net, node, BN_RUNNING_VAR)->value.data;
    for (int c = 0; c < node->shape[0]; c++) {
        /* batchnorm_forward's statistics in eval, to the bit */
        double invstd = 1.0 / sqrt((double)running_var[c] + node->attr.bn.eps);
        affine a = folded_affine(running_mean[c], invstd, weight[c], bias[c]);
        scale[c] = a.scale;
        shift[c] = a.shift;
    }
}

/* The lanes' sums of dy and of dy xhat over n values, xhat = (x - mean)
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

/* dx += k (dy - mean_dy - xhat mean_dy_xhat) over n values; a fresh dx
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

/* dres = dy (fresh) or dres + dy, as the add's backward does. */
CZ_ELEMENTWISE static void residual_grad(float *dres, const float *dy, bool fresh, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dres[i] = fresh ? dy[i] : dres[i] + dy[i];
}

/* ReLU's or ReLU6's backward at pre = bn(x) (+ res), pre made by the
 * forward's operations: 0 + dz slope, as the activation's backward stores
 * a fresh gradient. One loop, so that x, res and dz stream in together. */
static inline __attribute__((always_inline)) void
slope_body(const float *x, const float *res, const float *dz, size_t n, affine a, float *g,
           const int act, const bool has_res)
{
    for (size_t i = 0; i < n; i++) {
        float p = (x[i] - a.mean) * a.scale + a.shift;
        if (has_res)
            p = p + res[i];
        float slope = act == CZ_ACT_RELU ? (p > 0.0f ? 1.0f : 0.0f)
                                         : (p > 0.0f && p < 6.0f ? 1.0f : 0.0f);
        g[i] = 0.0f + dz[i] * slope;
    }
}

CZ_ELEMENTWISE static void slope_grad(const float *x, const float *res, const float *dz, size_t n,
                                      affine a, int act, float *g)
{
    if (act == CZ_ACT_RELU)
        res ? slope_body(x, res, dz, n, a, g, CZ_ACT_RELU, true)
            : slope_body(x, res, dz, n, a, g, CZ_ACT_RELU, false);
    else
        res ? slope_body(x, res, dz, n, a, g, CZ_ACT_RELU6, true)
            : slope_body(x, res, dz, n, a, g, CZ_ACT_RELU6, false);
}

/* The gradient at the BatchNorm's output over n <= CZ_ACT_CHUNK values at
 * offset at, from dz, the gradient at the chain's last output, as the
 * unfused ops compute it: dz itself with no activation (the add's
 * backward passes it on); else, into g, the activation's backward at its
 * input, recomputed rather than kept (pre is room for it). */
static const float *chain_dy(const chain *ch, const float *x, const float *dz, size_t at,
                             size_t n, affine a, float *pre, float *g)
{
    if (ch->act < 0)
        return dz + at;
    if (ch->act == CZ_ACT_RELU || ch->act == CZ_ACT_RELU6) {
        slope_grad(x + at, ch->res ? ch->res + at : NULL, dz + at, n, a, ch->act, g);
        return g;
    }
    chain_pre(ch, x, at, n, a, pre);
    cz_act_grad((cz_act)ch->act, pre, dz + at, g, true, n);
    return g;
}

/* dy (N, C, M) -> dx (N, C, M), dweight (C), dbias (C), all accumulated.
 * With batch statistics (xhat = (x - mean) invstd, m values per channel in
 * the global batch):
 *   dx = weight invstd (dy - sum(dy) / m - xhat sum(dy xhat) / m)
 * With running statistics the affine map's own derivative:
 *   dx = weight invstd dy
 * With a fused chain, dy comes from the chain's output gradient, made
 * again on each of the two passes (chain_dy), piece by piece, and never
 * goes to memory; the residual's gradient is written on the second pass. */
static void batchnorm_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    bn_dims d = dims_of(net, node);
    int C = d.C;
    size_t M = d.M;
    long planes = (long)d.N * C;
    const float *x = in->out.data;
    chain ch = chain_of(net, node);
    const float *dz = node->fuse_dst >= 0 ? net->nodes[node->fuse_dst].dout.data : node->dout.data;
    cz_node *res = node->fuse_res >= 0 ? &net->nodes[node->fuse_res] : NULL;
    float *dx = cz_wants_grad(net, in) ? in->dout.data : NULL;
    float *dres = res && cz_wants_grad(net, res) ? res->dout.data : NULL;
    const float *weight = cz_node_param(net, node, BN_WEIGHT)->value.data;
    const float *bias = cz_node_param(net, node, BN_BIAS)->value.data;
    float *dweight = cz_node_param(net, node, BN_WEIGHT)->grad.data;
    float *dbias = cz_node_param(net, node, BN_BIAS)->grad.data;
    saved_stats *s = stats_of(node, C, d.N, false);

    /* Pieces of a plane, whole multiples of LANES, so that each value
     * meets the same lane of the sums as in one sweep of the plane. */
    enum { PIECE = CZ_ACT_CHUNK };
#pragma omp parallel for schedule(static)
    for (long p = 0; p < planes; p++) {
        _Alignas(64) float pre[PIECE], g[PIECE];
        int c = (int)(p % C);
        affine a = affine_of(s, weight, bias, c);
        double dy_part[LANES] = {0}, dy_xhat_part[LANES] = {0};
        for (size_t i = 0; i < M; i += PIECE) {
            size_t at = (size_t)p * M + i, len = M - i < PIECE ? M - i : PIECE;
            dy_sums_plane(x + at, chain_dy(&ch, x, dz, at, len, a, pre, g), len, s->mean[c],
                          s->invstd[c], dy_part, dy_xhat_part);
        }
        s->plane[2 * p] = lanes_total(dy_part);
        s->plane[2 * p + 1] = lanes_total(dy_xhat_part);
    }
    channel_totals(s->plane, d, 2, s->sum_dy);
    channel_totals(s->plane + 1, d, 2, s->sum_dy_xhat);
    for (int c = 0; c < C; c++) {
        dweight[c] += (float)s->sum_dy_xhat[c];
        dbias[c] += (float)s->sum_dy[c];
    }
    if (!dx && !dres)
        return;
    /* Backward cannot fail: a failed sum has already stopped the process
     * (MPI's default error handler aborts). */
    if (dx && s->batch_stats)
        (void)replica_sum(net, node, s->sum_dy, 2 * C);
    bool fresh = dx && cz_grad_take_fresh(in), res_fresh = dres && cz_grad_take_fresh(res);

#pragma omp parallel for schedule(static)
    for (long p = 0; p < planes; p++) {
        _Alignas(64) float pre[PIECE], g[PIECE];
        int c = (int)(p % C);
        affine a = affine_of(s, weight, bias, c);
        double mean = s->mean[c], invstd = s->invstd[c], k = weight[c] * invstd;
        double mean_dy = 0.0, mean_dy_xhat = 0.0;
        if (s->batch_stats) {
            mean_dy = s->sum_dy[c] / s->count;
            mean_dy_xhat = s->sum_dy_xhat[c] / s->count;
        }
        for (size_t i = 0; i < M; i += PIECE) {
            size_t at = (size_t)p * M + i, len = M - i < PIECE ? M - i : PIECE;
            const float *dy = chain_dy(&ch, x, dz, at, len, a, pre, g);
            if (dres)
                residual_grad(dres + at, dy, res_fresh, len);
            if (dx)
                dx_plane(x + at, dy, dx + at, len, mean, invstd, k, mean_dy, mean_dy_xhat, fresh);
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
