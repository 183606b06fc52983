/*
 * conv2d.c - 2-D convolution (cross-correlation, as PyTorch), with stride,
 * padding, dilation, groups and optional bias. Weights are OIHW:
 * (out_channels, in_channels / groups, kernel_h, kernel_w).
 *
 * Forward picks a kernel per layer (node->kernel names it):
 *   - depthwise (one input channel per group): a direct kernel per plane;
 *   - 3x3 stride 1, one group, in inference: Winograd F(4x4, 3x3), when
 *     the layer is wide enough for its transforms to pay;
 *   - one group, 2 to 4 input channels, a small kernel, in inference on
 *     AVX-512: the stem's direct conv (kernels/stem.c), the GEMM's bits;
 *   - one group, in inference, on AVX-512: the blocked direct conv
 *     (kernels/direct.c) where it pays (use_direct);
 *   - pointwise (1x1, stride 1, no padding): one GEMM on the input itself,
 *     whose im2col is the identity;
 *   - anything else: im2col, then one GEMM per group.
 * For the GEMMs, threads take whole samples while there are at least as
 * many samples as threads; the samples left over (all of them at batch 1)
 * are split inside: im2col over channels, the GEMM over column or row
 * tiles. On small maps
 * (forward_batched) groups of samples share one GEMM. The GEMM sums K in
 * an order fixed by K alone, so these strategies give the same bits.
 *
 * Backward: each thread takes a contiguous share of the samples, one at a
 * time (im2col, then GEMMs) or, on small maps, a group at a time
 * (grads_batched); each owns its buffers and its partial weight gradient,
 * summed in thread order so the result depends only on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "graph/net.h"
#include "kernels/kernels.h"
#include "kernels/steal.h"
#ifdef CZ_HAVE_X86
#include "kernels/x86/act_avx512.h"
#include "kernels/x86/transpose_avx512.h"
#endif

static int pick(int specific, int square) { return specific ? specific : square; }

int cz_conv2d(cz_net *net, int x, const char *name, cz_conv_args a)
{
    cz_attrs attr = {.conv = {
                         .out_channels = a.out_channels,
                         .kernel_h = pick(a.kernel_h, a.kernel),
                         .kernel_w = pick(a.kernel_w, a.kernel),
                         .stride_h = pick(a.stride_h, a.stride ? a.stride : 1),
                         .stride_w = pick(a.stride_w, a.stride ? a.stride : 1),
                         .pad_h = pick(a.padding_h, a.padding),
                         .pad_w = pick(a.padding_w, a.padding),
                         .dilation = a.dilation ? a.dilation : 1,
                         .groups = a.groups ? a.groups : 1,
                         .bias = a.bias,
                     }};
    return cz_net_add_node(net, &cz_op_conv2d, name, &x, 1, &attr);
}

/* The sweep over all input channels: im2col rows come out ordered by
 * channel, so group g's rows are the g-th block of K = C/G*KH*KW rows. */
static cz_conv_geom geometry(const cz_node *node, const cz_node *in)
{
    const cz_conv_attr *c = &node->attr.conv;
    return (cz_conv_geom){
        .channels = in->shape[0],
        .height = in->shape[1],
        .width = in->shape[2],
        .kernel_h = c->kernel_h,
        .kernel_w = c->kernel_w,
        .stride_h = c->stride_h,
        .stride_w = c->stride_w,
        .pad_h = c->pad_h,
        .pad_w = c->pad_w,
        .dilation = c->dilation,
        .out_h = node->shape[1],
        .out_w = node->shape[2],
    };
}

static bool is_pointwise(const cz_conv_geom *g)
{
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
           g->pad_h == 0 && g->pad_w == 0;
}

/* One input channel per group (groups == in_channels; out_channels may be
 * a multiple): each output plane is one input plane's direct conv. */
static bool is_depthwise(const cz_node *node, const cz_conv_geom *g)
{
    return node->attr.conv.groups == g->channels;
}

static cz_status conv2d_infer(cz_net *net, cz_node *node)
{
    const cz_conv_attr *c = &node->attr.conv;
    const cz_node *in = cz_node_in(net, node, 0);
    if (in->ndim != 3)
        return cz_node_fail(node, CZ_ERR_SHAPE, "input must be (C, H, W), got %d dims",
                            in->ndim);
    if (c->out_channels <= 0 || c->kernel_h <= 0 || c->kernel_w <= 0 || c->stride_h <= 0 ||
        c->stride_w <= 0 || c->pad_h < 0 || c->pad_w < 0 || c->dilation <= 0 || c->groups <= 0)
        return cz_node_fail(node, CZ_ERR_ARG,
                            "out_channels %d, kernel %dx%d, stride %dx%d, padding %dx%d, "
                            "dilation %d, groups %d: all must be positive (padding >= 0)",
                            c->out_channels, c->kernel_h, c->kernel_w, c->stride_h, c->stride_w,
                            c->pad_h, c->pad_w, c->dilation, c->groups);
    if (in->shape[0] % c->groups || c->out_channels % c->groups)
        return cz_node_fail(node, CZ_ERR_ARG,
                            "groups %d must divide in_channels %d and out_channels %d", c->groups,
                            in->shape[0], c->out_channels);
    int span_h = c->dilation * (c->kernel_h - 1) + 1, span_w = c->dilation * (c->kernel_w - 1) + 1;
    int out_h = (in->shape[1] + 2 * c->pad_h - span_h) / c->stride_h + 1;
    int out_w = (in->shape[2] + 2 * c->pad_w - span_w) / c->stride_w + 1;
    if (in->shape[1] + 2 * c->pad_h < span_h || in->shape[2] + 2 * c->pad_w < span_w)
        return cz_node_fail(node, CZ_ERR_SHAPE,
                            "input %dx%d (padded %dx%d) is smaller than the kernel span %dx%d",
                            in->shape[1], in->shape[2], in->shape[1] + 2 * c->pad_h,
                            in->shape[2] + 2 * c->pad_w, span_h, span_w);
    node->ndim = 3;
    node->shape[0] = c->out_channels;
    node->shape[1] = out_h;
    node->shape[2] = out_w;

    int in_per_group = in->shape[0] / c->groups;
    int wshape[4] = {c->out_channels, in_per_group, c->kernel_h, c->kernel_w};
    /* A failed declaration (a clashing name, no memory) has set the
     * message; the status only has to say "failed". */
    if (cz_node_declare(net, node, "weight", CZ_PARAM_WEIGHT, 4, wshape) < 0 ||
        (c->bias && cz_node_declare(net, node, "bias", CZ_PARAM_WEIGHT, 1, wshape) < 0))
        return CZ_ERR_ARG;
    /* PyTorch's default (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fan_in), +). */
    float bound = 1.0f / sqrtf((float)(in_per_group * c->kernel_h * c->kernel_w));
    for (int k = 0; k < node->n_params; k++) {
        cz_tensor *t = &cz_node_param(net, node, k)->value;
        for (size_t i = 0; t->data && i < cz_tensor_numel(t); i++) /* NULL: shapes only */
            t->data[i] = bound * (float)(2.0 * cz_rng_uniform(&net->rng) - 1.0);
    }
    return CZ_OK;
}

/* Per-thread scratch: two column buffers (the im2col of x, and dcol in
 * backward), then in backward a weight and a bias gradient partial. */
typedef struct scratch {
    float *col, *dcol;
    float *dweight; /* w_size floats, then b_size of bias */
    float *cat;     /* several samples' columns and dy side by side */
} scratch;

typedef struct sizes {
    size_t col, w, b, cat; /* floats per thread */
} sizes;

/* On small maps (late layers: 7x7, or 1x1 at CIFAR sizes) one sample's
 * weight gradient dy col^T sums over only P columns: a thin GEMM, or a
 * rank-1 update of the whole gradient at P = 1. Backward then puts
 * CAT_COLS / P samples side by side and sums them in one GEMM. */
enum { CAT_COLS = 256 };

static int cat_samples(const cz_conv_geom *g)
{
    int P = g->out_h * g->out_w;
    return P * 2 <= CAT_COLS ? CAT_COLS / P : 1;
}

static sizes scratch_sizes(const cz_node *node, const cz_conv_geom *g)
{
    size_t col = is_pointwise(g) ? 0 : (size_t)g->channels * g->kernel_h * g->kernel_w *
                                           g->out_h * g->out_w;
    /* Forward's depthwise kernel uses the column slot for a padded plane. */
    if (is_depthwise(node, g) && cz_depthwise_scratch(g) > col)
        col = cz_depthwise_scratch(g);
    /* The gradient partials are sized even for inference: saliency and
     * Grad-CAM run backward through an eval-mode net. */
    const cz_conv_attr *c = &node->attr.conv;
    size_t w = (size_t)c->out_channels * (g->channels / c->groups) * c->kernel_h * c->kernel_w;
    int nb = cat_samples(g);
    size_t cat = nb > 1 ? ((size_t)g->channels * c->kernel_h * c->kernel_w + c->out_channels) *
                              (size_t)nb * g->out_h * g->out_w
                        : 0;
    return (sizes){.col = col, .w = w, .b = c->bias ? (size_t)c->out_channels : 0, .cat = cat};
}

/* What forward tells backward: how many threads it sized the scratch for
 * (backward must not use more, even if cz_set_threads raised the count
 * between the two). The scratch itself is the net's shared one. */
typedef struct saved_block {
    int threads;
    cz_bn_made made;     /* what epilogue[] was made from */
    cz_bn_made pre_made; /* what the prologue's part was made from */
    float epilogue[];    /* a fused BatchNorm folded: scale, shift (OC each);
                          * then the prologue's (C each) */
} saved_block;

/* Each buffer of a thread's part starts on a cache line (cz_line_floats),
 * so no two threads write one line. */

/* Floats of scratch per thread for inference: the columns. */
static size_t col_stride(sizes z) { return cz_line_floats(z.col); }

/* Floats of scratch per thread for a pass that backward follows. */
static size_t full_stride(sizes z)
{
    return 2 * cz_line_floats(z.col) + cz_line_floats(z.w + z.b) + cz_line_floats(z.cat);
}

/* Thread t's part of the scratch, parts `stride` floats apart. */
static scratch thread_scratch(float *base, int t, size_t stride, sizes z)
{
    float *p = base + (size_t)t * stride;
    size_t col = cz_line_floats(z.col);
    return (scratch){.col = p, .dcol = p + col, .dweight = p + 2 * col,
                     .cat = p + 2 * col + cz_line_floats(z.w + z.b)};
}

/* Kernel names per path (cz_kpath order), for node->kernel. */
static const char *const gemm_names[] = {"conv-gemm-ref", "conv-gemm-portable", "conv-gemm-avx2",
                                         "conv-gemm-avx512"};
static const char *const pointwise_names[] = {"conv1x1-ref", "conv1x1-portable", "conv1x1-avx2",
                                              "conv1x1-avx512"};
static const char *const grouped_names[] = {"conv-grouped-gemm-ref", "conv-grouped-gemm-portable",
                                            "conv-grouped-gemm-avx2", "conv-grouped-gemm-avx512"};

/* What follows the convolution's sums, per output channel: its bias,
 * then (inference plan) a fused BatchNorm and activation, applied in one
 * pass with the same arithmetic as the separate ops. */
typedef struct epilogue {
    const float *bias;                  /* conv bias, or NULL */
    const float *scale, *shift;         /* BatchNorm folded, or NULL */
    const float *residual, *dst;        /* y[i] += residual[i], y at dst[i] */
    int act;                            /* a cz_act, or -1 */
} epilogue;

/* Rows oc0 .. oc0 + rows - 1 of one sample's output, `cols` columns from
 * c (row stride ldc): bias, BatchNorm, residual, activation, each
 * element once, in that order (the separate ops' arithmetic). */
CZ_ELEMENTWISE static void epilogue_block_c(const epilogue *e, float *c, int ldc, int oc0,
                                           int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        int oc = oc0 + r;
        float *row = c + (size_t)r * ldc;
        float b = e->bias ? e->bias[oc] : 0.0f;
        if (e->scale) {
            float sc = e->scale[oc], sh = e->shift[oc];
            if (e->bias)
                for (int p = 0; p < cols; p++)
                    row[p] = (row[p] + b) * sc + sh;
            else
                for (int p = 0; p < cols; p++)
                    row[p] = row[p] * sc + sh;
        } else if (e->bias) {
            for (int p = 0; p < cols; p++)
                row[p] += b;
        }
        if (e->residual) {
            const float *res = e->residual + (row - e->dst);
            for (int p = 0; p < cols; p++)
                row[p] += res[p];
        }
        if (e->act >= 0)
            cz_act_map((cz_act)e->act, row, row, (size_t)cols);
    }
}

#ifdef CZ_HAVE_X86
/* One row of epilogue_block_c in zmm registers: each vector through all
 * the steps while in a register, one pass where the C loops made two
 * (the activation's apart): the same IEEE operations in the same order,
 * so the same bits. The two passes were 11% of mobilenet_v2's batch-1
 * samples on one thread, the one pass 9%; BatchNorm folded (two
 * operations, not three) 8.5%: the pass costs its loads and stores as
 * much as its arithmetic. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
epilogue16(const int act, const epilogue *e, __m512 v, __m512 b, __m512 sc, __m512 sh,
           const float *res, __mmask16 k)
{
    if (e->bias)
        v = _mm512_add_ps(v, b);
    if (e->scale)
        v = _mm512_add_ps(_mm512_mul_ps(v, sc), sh);
    if (res)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, res));
    return cz_act16(act, v);
}

__attribute__((target("avx512f"), always_inline)) static inline void
epilogue_rows16(const int act, const epilogue *e, float *c, int ldc, int oc0, int rows, int cols)
{
    __mmask16 tail = (__mmask16)((1u << (cols % 16)) - 1u);
    for (int r = 0; r < rows; r++) {
        int oc = oc0 + r;
        float *row = c + (size_t)r * ldc;
        const float *res = e->residual ? e->residual + (row - e->dst) : NULL;
        __m512 b = _mm512_set1_ps(e->bias ? e->bias[oc] : 0.0f);
        __m512 sc = _mm512_set1_ps(e->scale ? e->scale[oc] : 0.0f);
        __m512 sh = _mm512_set1_ps(e->scale ? e->shift[oc] : 0.0f);
        int p = 0;
        for (; p + 16 <= cols; p += 16)
            _mm512_storeu_ps(row + p, epilogue16(act, e, _mm512_loadu_ps(row + p), b, sc, sh,
                                                 res ? res + p : NULL, 0xFFFF));
        if (p < cols)
            _mm512_mask_storeu_ps(row + p, tail,
                                  epilogue16(act, e, _mm512_maskz_loadu_ps(tail, row + p), b, sc,
                                             sh, res ? res + p : NULL, tail));
    }
}

/* A block one column wide and contiguous (a conv on a 1x1 map: an SE
 * block's): 16 rows, that is channels, to a vector, where a row at a time
 * made one masked vector per element (45% of a 48 -> 1152 SE conv). The
 * same operations per element as epilogue_rows16, so the same bits. */
__attribute__((target("avx512f"), always_inline)) static inline void
epilogue_column16(const int act, const epilogue *e, float *c, int oc0, int rows)
{
    const float *res = e->residual ? e->residual + (c - e->dst) : NULL;
    const __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r += 16) {
        __mmask16 k = cz_first_lanes(rows - r);
        int oc = oc0 + r;
        __m512 b = e->bias ? _mm512_maskz_loadu_ps(k, e->bias + oc) : zero;
        __m512 sc = e->scale ? _mm512_maskz_loadu_ps(k, e->scale + oc) : zero;
        __m512 sh = e->scale ? _mm512_maskz_loadu_ps(k, e->shift + oc) : zero;
        _mm512_mask_storeu_ps(c + r, k,
                              epilogue16(act, e, _mm512_maskz_loadu_ps(k, c + r), b, sc, sh,
                                         res ? res + r : NULL, k));
    }
}

__attribute__((target("avx512f"))) static void epilogue_block_avx512(const epilogue *e, float *c,
                                                                     int ldc, int oc0, int rows,
                                                                     int cols)
{
#define ROWS(A) epilogue_rows16(A, e, c, ldc, oc0, rows, cols)
#define COLUMN(A) epilogue_column16(A, e, c, oc0, rows)
    if (cols == 1 && ldc == 1)
        CZ_ACT16_SWITCH(e->act, COLUMN)
    else
        CZ_ACT16_SWITCH(e->act, ROWS)
#undef COLUMN
#undef ROWS
}
#endif

/* The epilogue on AVX-512 where the activation has a vector form (as
 * cz_act_map chooses), else the C loops. */
static void epilogue_block(const epilogue *e, float *c, int ldc, int oc0, int rows, int cols)
{
#ifdef CZ_HAVE_X86
    if (cz_kernels_current() == CZ_KPATH_AVX512 && (e->act < 0 || cz_act16_has(e->act))) {
        epilogue_block_avx512(e, c, ldc, oc0, rows, cols);
        return;
    }
#endif
    epilogue_block_c(e, c, ldc, oc0, rows, cols);
}

/* Channels [oc0, oc1) of y (OC, P), one sample. */
static void apply_epilogue(const epilogue *e, float *y, int oc0, int oc1, int P)
{
    epilogue_block(e, y + (size_t)oc0 * P, P, oc0, oc1 - oc0, P);
}

/* The node's epilogue for output y (N, OC, P); a fused BatchNorm's scale
 * and shift are kept in saved->epilogue (OC floats each). */
static epilogue epilogue_of(cz_net *net, const cz_node *node, saved_block *saved,
                            const float *y)
{
    epilogue e = {.act = -1};
    if (node->fuse_add >= 0) {
        e.residual = net->nodes[node->fuse_res].out.data;
        e.dst = y;
    }
    e.bias = node->attr.conv.bias ? cz_node_param(net, node, 1)->value.data : NULL;
    if (node->fuse_bn >= 0) {
        float *scale = saved->epilogue, *shift = scale + node->shape[0];
        cz_batchnorm_eval_affine(net, &net->nodes[node->fuse_bn], scale, shift, &saved->made);
        e.scale = scale;
        e.shift = shift;
    }
    if (node->fuse_act >= 0)
        e.act = (int)net->nodes[node->fuse_act].attr.act.act;
    return e;
}

/* The epilogue without the bias, for kernels that add the bias themselves. */
static epilogue after_bias(epilogue e)
{
    e.bias = NULL;
    return e;
}

static bool has_work(const epilogue *e)
{
    return e->bias || e->scale || e->residual || e->act >= 0;
}

/* What the plan put before a 1x1 conv (fuse_pre), per input channel: a
 * BatchNorm chain, x scale + shift then the activation; or an SE block's
 * gate (channel_mul), x scale with each sample's own scale. */
typedef struct prologue {
    const float *scale, *shift; /* shift NULL: the scale alone */
    int act;                    /* a cz_act, or -1 */
    size_t sample_stride;       /* scale's floats per sample: 0, or C for a gate */
} prologue;

/* The prologue on a packed sliver of the input (rows of nr floats, row k
 * being channel row + k): the BatchNorm op's operations (a multiply, an
 * add) or channel_mul's (a multiply), and the activation op's
 * cz_act_map, so the same bits as those ops. */
CZ_ELEMENTWISE static void prologue_rows_c(const prologue *p, float *b, int row, int rows, int nr)
{
    for (int k = 0; k < rows; k++) {
        float sc = p->scale[row + k], *v = b + (size_t)k * nr;
        if (p->shift) {
            float sh = p->shift[row + k];
            for (int c = 0; c < nr; c++)
                v[c] = v[c] * sc + sh;
        } else {
            for (int c = 0; c < nr; c++)
                v[c] = v[c] * sc;
        }
    }
    if (p->act >= 0)
        cz_act_map((cz_act)p->act, b, b, (size_t)rows * nr);
}

#ifdef CZ_HAVE_X86
__attribute__((target("avx512f"), always_inline)) static inline __m512
prologue16(const int act, const prologue *p, __m512 v, __m512 sc, __m512 sh)
{
    v = _mm512_mul_ps(v, sc);
    return cz_act16(act, p->shift ? _mm512_add_ps(v, sh) : v);
}

/* prologue_rows_c with each vector through all the steps in a register:
 * one pass where the C loops make two (the activation's apart); the same
 * IEEE operations, so the same bits. */
__attribute__((target("avx512f"), always_inline)) static inline void
prologue_rows16(const int act, const prologue *p, float *b, int row, int rows, int nr)
{
    __mmask16 tail = cz_first_lanes(nr % 16);
    for (int k = 0; k < rows; k++) {
        __m512 sc = _mm512_set1_ps(p->scale[row + k]);
        __m512 sh = _mm512_set1_ps(p->shift ? p->shift[row + k] : 0.0f);
        float *v = b + (size_t)k * nr;
        int c = 0;
        for (; c + 16 <= nr; c += 16)
            _mm512_storeu_ps(v + c, prologue16(act, p, _mm512_loadu_ps(v + c), sc, sh));
        if (c < nr)
            _mm512_mask_storeu_ps(v + c, tail,
                                  prologue16(act, p, _mm512_maskz_loadu_ps(tail, v + c), sc, sh));
    }
}

__attribute__((target("avx512f"))) static void prologue_rows_avx512(const prologue *p, float *b,
                                                                    int row, int rows, int nr)
{
#define ROWS(A) prologue_rows16(A, p, b, row, rows, nr)
    CZ_ACT16_SWITCH(p->act, ROWS)
#undef ROWS
}
#endif

static void prologue_rows(void *ctx, float *b, int row, int rows, int nr)
{
    const prologue *p = ctx;
#ifdef CZ_HAVE_X86
    if (cz_kernels_current() == CZ_KPATH_AVX512 && (p->act < 0 || cz_act16_has(p->act))) {
        prologue_rows_avx512(p, b, row, rows, nr);
        return;
    }
#endif
    prologue_rows_c(p, b, row, rows, nr);
}

/* The prologue of the conv's node (its fuse_pre) and where its input x
 * is: the BatchNorm's or the gate's input, which the fused node (writing
 * nothing) would have made the conv's. */
static prologue prologue_of(cz_net *net, const cz_node *node, saved_block *saved,
                            const float **x)
{
    const cz_node *pre = &net->nodes[node->fuse_pre];
    int C = cz_node_in(net, node, 0)->shape[0];
    *x = cz_node_in(net, pre, 0)->out.data;
    if (pre->op == &cz_op_channel_mul)
        return (prologue){.scale = cz_node_in(net, pre, 1)->out.data, .act = -1,
                          .sample_stride = (size_t)C};
    float *scale = saved->epilogue + 2 * (size_t)node->shape[0], *shift = scale + C;
    cz_batchnorm_eval_affine(net, pre, scale, shift, &saved->pre_made);
    return (prologue){scale, shift,
                      pre->fuse_act >= 0 ? (int)net->nodes[pre->fuse_act].attr.act.act : -1, 0};
}

bool cz_conv2d_takes_prologue(const cz_node *conv)
{
    const cz_conv_attr *c = &conv->attr.conv;
    return c->kernel_h == 1 && c->kernel_w == 1 && c->stride_h == 1 && c->stride_w == 1 &&
           c->pad_h == 0 && c->pad_w == 0 && c->groups == 1;
}

/* The key of a cache derived from the weights: their version (any change
 * through the public API bumps it), the kernel path, and what it holds. */
enum {
    CACHE_WINOGRAD4 = 1,
    CACHE_PACKED = 2,
    CACHE_PACKED_BOTH = 3,
    CACHE_DIRECT = 4,
    CACHE_WINOGRAD2 = 5,
    CACHE_STEM = 6,
    CACHE_WINOGRAD4_DX = 7, /* U, then the input gradient's U */
    CACHE_WINOGRAD2_DX = 8,
    CACHE_WINOGRAD1D = 9
};
static uint64_t cache_key(const cz_net *net, int what)
{
    return net->param_version << 8 | (uint64_t)cz_kernels_current() << 4 | (uint64_t)what;
}

static int winograd_cached(int m, bool dx)
{
    if (m == 4)
        return dx ? CACHE_WINOGRAD4_DX : CACHE_WINOGRAD4;
    return dx ? CACHE_WINOGRAD2_DX : CACHE_WINOGRAD2;
}

/* What one forward call needs to run a sample. */
typedef struct fwd_ctx {
    const cz_conv_geom *g;
    int G, OC, OCg, K, P;
    bool pointwise;
    const float *weight;
    const cz_packed_a *packed; /* per group, or NULL: cz_gemm packs per call */
    epilogue ep;
    const cz_gemm_prologue *pro; /* on the input's rows as they are packed, or NULL */
    float *mean;                 /* (N, OC) plane means (fuse_mean), or NULL */
} fwd_ctx;

/* Sample n's prologue: a gate's scale is the sample's own. */
static prologue of_sample(prologue p, int n)
{
    p.scale += (size_t)n * p.sample_stride;
    return p;
}

/* Sample n's forward context: its own prologue in *mine, *pro. */
static fwd_ctx for_sample(const fwd_ctx *f, int n, prologue *mine, cz_gemm_prologue *pro)
{
    fwd_ctx fn = *f;
    if (f->pro) {
        *mine = of_sample(*(const prologue *)f->pro->ctx, n);
        *pro = (cz_gemm_prologue){.fn = prologue_rows, .ctx = mine};
        fn.pro = pro;
    }
    return fn;
}

/* The epilogue of group grp's rows, as the GEMM finishes each block. */
typedef struct group_epilogue {
    const epilogue *e;
    int oc0; /* the group's first output channel */
} group_epilogue;

static void run_group_epilogue(void *ctx, float *c, int ldc, int row, int rows, int cols)
{
    const group_epilogue *g = ctx;
    epilogue_block(g->e, c, ldc, g->oc0 + row, rows, cols);
}

/* Group grp's weights times n columns b (row stride ldb) into c (row
 * stride P), through the pack when there is one (the same bits either
 * way), with the epilogue applied to each block of c while it is in
 * cache; split over the threads when parallel. */
static void columns_gemm(const fwd_ctx *f, int grp, const float *b, int ldb, int n, float *c,
                         bool parallel)
{
    const cz_packed_a *pa = f->packed ? &f->packed[grp] : NULL;
    const float *w = f->weight + (size_t)grp * f->OCg * f->K;
    group_epilogue ge = {.e = &f->ep, .oc0 = grp * f->OCg};
    cz_gemm_epilogue ep = {.fn = run_group_epilogue, .ctx = &ge};
    const cz_gemm_epilogue *use = has_work(&f->ep) ? &ep : NULL;
    if (parallel)
        cz_gemm_packed_parallel(pa, w, f->K, f->OCg, n, f->K, b, ldb, 0.0f, c, f->P, f->pro, use);
    else
        cz_gemm_packed(pa, w, f->K, f->OCg, n, f->K, b, ldb, 0.0f, c, f->P, f->pro, use);
}

/* Group grp's weights times all its columns into y. */
static void group_gemm(const fwd_ctx *f, int grp, const float *cols, float *y, bool parallel)
{
    columns_gemm(f, grp, cols + (size_t)grp * f->K * f->P, f->P, f->P,
                 y + (size_t)grp * f->OCg * f->P, parallel);
}

/* The weights packed for the GEMM, per group, kept in the node's cache
 * while they do not change: W (OCg x K) for forward and, when backward
 * follows, W^T (K x OCg) for the input gradient, after the G packs of W.
 * Training changes the weights every step, but each step's forward and
 * backward use one pack for all the batch's samples. NULL when the path
 * packs nothing or memory is short (cz_gemm then packs per call). */
static const cz_packed_a *packed_weights(cz_net *net, cz_node *node, const fwd_ctx *f)
{
    bool train = cz_net_wants_backward(net);
    size_t per = cz_gemm_pack_size(f->OCg, f->K);
    size_t per_t = train ? cz_gemm_pack_size(f->K, f->OCg) : 0;
    if (per == 0)
        return NULL;
    size_t head = ((sizeof(cz_packed_a) * 2 * (size_t)f->G + 63) / 64) * 64;
    char *cache = cz_node_cache(node, head + sizeof(float) * (per + per_t) * (size_t)f->G);
    if (!cache)
        return NULL;
    cz_packed_a *pa = (cz_packed_a *)cache;
    uint64_t key = cache_key(net, train ? CACHE_PACKED_BOTH : CACHE_PACKED);
    if (node->cache_key != key) {
        float *data = (float *)(cache + head), *data_t = data + per * (size_t)f->G;
        /* In training every step packs again: W and W^T side by side on
         * the threads (serial, the packs were 2-3% of a resnet50 step with
         * the other thread idle). */
#pragma omp parallel for schedule(dynamic, 1)
        for (int job = 0; job < (train ? 2 : 1) * f->G; job++) {
            int grp = job % f->G;
            const float *w = f->weight + (size_t)grp * f->OCg * f->K;
            if (job < f->G)
                cz_gemm_pack_a(false, f->OCg, f->K, w, f->K, data + per * (size_t)grp, &pa[grp]);
            else
                cz_gemm_pack_a(true, f->K, f->OCg, w, f->K, data_t + per_t * (size_t)grp,
                               &pa[f->G + grp]);
        }
        node->cache_key = key;
    }
    return pa;
}

/* Backward's packs of W^T per group, made by the forward before it; NULL
 * when there are none (the path packs nothing, a depthwise conv). */
static const cz_packed_a *packed_transposed(const cz_net *net, const cz_node *node)
{
    if (!node->cache || node->cache_key != cache_key(net, CACHE_PACKED_BOTH))
        return NULL;
    return (const cz_packed_a *)node->cache + node->attr.conv.groups;
}

/* One sample on the calling thread; col: its im2col buffer. */
static void forward_sample(const fwd_ctx *f, const float *x, float *y, float *col)
{
    const float *cols = x;
    if (!f->pointwise) {
        cz_im2col(f->g, x, col);
        cols = col;
    }
    for (int grp = 0; grp < f->G; grp++)
        group_gemm(f, grp, cols, y, false);
}

/* Output rows [oh0, oh1) of g as a conv of their own: the padding above
 * moved up by the rows skipped (negative past the first rows), so that
 * each output row's window reads the rows it read in g. */
static cz_conv_geom rows_of(const cz_conv_geom *g, int oh0, int oh1)
{
    cz_conv_geom part = *g;
    part.pad_h = g->pad_h - oh0 * g->stride_h;
    part.out_h = oh1 - oh0;
    return part;
}

/* One sample on all threads, a stem's way (few input channels, one
 * group): each thread unfolds its own output rows and multiplies them,
 * so no thread reads columns the other wrote. By channels, a 3-channel
 * stem's im2col split 1 against 2, and each thread's GEMM columns came
 * from both. The same arithmetic as forward_sample. */
static void forward_rows_split(const fwd_ctx *f, int threads, const float *x, float *y,
                               float *col)
{
    const cz_conv_geom *g = f->g;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int oh0 = (int)((long)g->out_h * t / nt), oh1 = (int)((long)g->out_h * (t + 1) / nt);
        if (oh1 > oh0) {
            cz_conv_geom part = rows_of(g, oh0, oh1);
            size_t p0 = (size_t)oh0 * g->out_w;
            float *mine = col + (size_t)f->K * p0;
            cz_im2col(&part, x, mine);
            int n = part.out_h * g->out_w;
            columns_gemm(f, 0, mine, n, n, y + p0, false);
        }
    }
}

/* One sample on all threads: the same arithmetic as forward_sample. A
 * stem goes by output rows (forward_rows_split); otherwise im2col splits
 * over input channels, then the groups over threads (or, with fewer
 * groups than threads, each GEMM over tiles of C). */
static void forward_sample_split(const fwd_ctx *f, int threads, const float *x, float *y,
                                 float *col)
{
    if (!f->pointwise && f->G == 1 && f->g->channels < 16 && f->g->out_h >= threads) {
        forward_rows_split(f, threads, x, y, col);
        return;
    }
    const float *cols = x;
    if (!f->pointwise) {
        const cz_conv_geom *g = f->g;
        size_t plane = (size_t)g->height * g->width;
        size_t rows = (size_t)g->kernel_h * g->kernel_w * g->out_h * g->out_w;
        /* One call per thread on its contiguous channels: im2col sets up
         * per call (the small-plane path its permute tables). */
#pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            int C = g->channels, c0 = (int)((long)C * t / nt), c1 = (int)((long)C * (t + 1) / nt);
            cz_conv_geom part = *g;
            part.channels = c1 - c0;
            if (c1 > c0)
                cz_im2col(&part, x + (size_t)c0 * plane, col + (size_t)c0 * rows);
        }
        cols = col;
    }
    if (f->G >= threads) {
        /* Many groups (ResNeXt, ShuffleNet): a whole GEMM per thread. */
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int grp = 0; grp < f->G; grp++)
            group_gemm(f, grp, cols, y, false);
    } else {
        for (int grp = 0; grp < f->G; grp++)
            group_gemm(f, grp, cols, y, true);
    }
}

/* Samples side by side: a sample's (rows, P) matrix m is column block j
 * of cat (rows, W), and back. */
static void put_block(const float *m, size_t rows, int P, float *cat, size_t W, int j)
{
    for (size_t k = 0; k < rows; k++)
        memcpy(cat + k * W + (size_t)j * P, m + k * P, sizeof(float) * (size_t)P);
}

static void take_block(const float *cat, size_t rows, int P, size_t W, int j, float *m)
{
    for (size_t k = 0; k < rows; k++)
        memcpy(m + k * P, cat + k * W + (size_t)j * P, sizeof(float) * (size_t)P);
}

/* A sample's columns: the input itself for a pointwise conv, else its
 * im2col in `own`. */
static const float *sample_columns(const cz_conv_geom *g, const float *x, float *own)
{
    if (is_pointwise(g))
        return x;
    cz_im2col(g, x, own);
    return own;
}

/* Small maps (P <= CAT_COLS / 2: late layers, CIFAR sizes), nb samples at
 * a time side by side: one GEMM per group nb P columns wide instead of a
 * thin one per sample that reads all the weights for a few columns
 * (resnet18's 512-channel 3x3 convs on 1x1 maps at batch 32: 32
 * matrix-vector products). Each element gets the same sums as in its own
 * sample's GEMM, except at P <= 2, where that one is a matrix-vector
 * product with another order: eval mode keeps those (so a sample's bits
 * do not depend on its batch), training mode batches them. The
 * groups are fixed by the batch, and each is split over the threads
 * inside, so the bits do not depend on the thread count either. */
static void forward_batched(const fwd_ctx *f, int N, int nb, const float *x, size_t in_size,
                            float *y, size_t out_size, float *base, size_t stride, float *cat,
                            int threads)
{
    int P = f->P;
    size_t rows = (size_t)f->K * f->G;
    for (int n = 0; n < N; n += nb) {
        int m = N - n < nb ? N - n : nb;
        size_t W = (size_t)m * P;
        float *cols = cat, *ycat = cat + rows * W;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int j = 0; j < m; j++) {
            float *own = base + (size_t)omp_get_thread_num() * stride;
            put_block(sample_columns(f->g, x + (size_t)(n + j) * in_size, own), rows, P, cols,
                      W, j);
        }
        for (int grp = 0; grp < f->G; grp++)
            cz_gemm_packed_parallel(f->packed ? &f->packed[grp] : NULL,
                                    f->weight + (size_t)grp * f->OCg * f->K, f->K, f->OCg, (int)W,
                                    f->K, cols + (size_t)grp * f->K * W, (int)W, 0.0f,
                                    ycat + (size_t)grp * f->OCg * W, (int)W, f->pro, NULL);
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int j = 0; j < m; j++) {
            float *yj = y + (size_t)(n + j) * out_size;
            take_block(ycat, (size_t)f->OC, P, W, j, yj);
            if (has_work(&f->ep))
                apply_epilogue(&f->ep, yj, 0, f->OC, P);
        }
    }
}

/* A depthwise conv's call: what every item reads. */
typedef struct depthwise_run {
    const fwd_ctx *f;
    const float *x;
    float *y, *base;
    size_t stride, in_plane;
    int blocks, per_sample, taps, mult;
    epilogue rest;
    bool in_kernel;
} depthwise_run;

/* Item i: a block of 16 planes or one plane of one sample. */
static void depthwise_item(void *ctx, long i, int thread)
{
    const depthwise_run *d = ctx;
    const fwd_ctx *f = d->f;
    const cz_conv_geom *g = f->g;
    int n = (int)(i / d->per_sample), count;
    int oc0 = cz_planes16_item((int)(i % d->per_sample), d->blocks, &count);
    float *scratch = d->base + (size_t)thread * d->stride;
    float *yn = d->y + (size_t)n * f->OC * f->P;
    const float *bias = f->ep.bias ? f->ep.bias + oc0 : NULL;
    float *mean = f->mean ? f->mean + (size_t)n * f->OC + oc0 : NULL;
    cz_dw_after after = {d->rest.scale ? d->rest.scale + oc0 : NULL,
                         d->rest.scale ? d->rest.shift + oc0 : NULL, d->rest.act,
                         d->in_kernel ? mean : NULL};
    bool done = count > 1 &&
                cz_depthwise_planes16(g, d->x + ((size_t)n * g->channels + oc0) * d->in_plane,
                                      f->weight + (size_t)oc0 * d->taps, bias,
                                      d->in_kernel ? &after : NULL, yn + (size_t)oc0 * f->P,
                                      scratch);
    for (int oc = oc0; !done && oc < oc0 + count; oc++) {
        size_t c = (size_t)n * g->channels + (size_t)(oc / d->mult);
        const float *plane = d->x + c * d->in_plane;
        cz_depthwise_plane(g, plane, f->weight + (size_t)oc * d->taps,
                           f->ep.bias ? f->ep.bias[oc] : 0.0f, yn + (size_t)oc * f->P, scratch);
    }
    if (done && d->in_kernel)
        return; /* the kernel took the epilogue and the means */
    apply_epilogue(&d->rest, yn, oc0, oc0 + count, f->P);
    for (int oc = oc0; mean && oc < oc0 + count; oc++)
        mean[oc - oc0] = cz_plane_mean(yn + (size_t)oc * f->P, (size_t)f->P);
}

/* Depthwise: every (sample, output channel) plane is independent. The
 * planes split in two halves, as the GEMM before it splits a small
 * map's channels (and a batch's samples): each thread then reads the
 * planes it wrote itself, and the SE multiply after it reads its own
 * too. Taken dynamically, 4 at a time (e624e71), most small planes came
 * from the other core, a few cache lines each, too few to prefetch:
 * efficientnet_b0 b1 t2 10.50 -> 9.47 ms, mobilenet_v3_large 5.49 ->
 * 4.81, mobilenet_v2 b8 t2 50.3 -> 44.0 back with fixed halves. A thread
 * done with its half takes what the other has not reached (steal.h):
 * paired, b1 t2, mobilenet_v3_large 0.95x, shufflenet_v2 0.96,
 * efficientnet_b0 0.98, mobilenet_v2 0.99. */
static void forward_depthwise(const fwd_ctx *f, int N, const float *x, float *y, float *base,
                              size_t stride, int threads)
{
    const cz_conv_geom *g = f->g;
    depthwise_run d = {.f = f, .x = x, .y = y, .base = base, .stride = stride,
                       .in_plane = (size_t)g->height * g->width,
                       .taps = g->kernel_h * g->kernel_w, .mult = f->OC / g->channels};
    /* Each sample's channels in blocks of 16 where cz_depthwise_planes16
     * takes them, then the rest one by one; larger planes one by one (a
     * block of mobilenet_v3's 16 planes of 112x112 was one item for one
     * thread). */
    d.blocks = d.mult == 1 && cz_depthwise_planes16_takes(g) ? f->OC / 16 : 0;
    d.rest = after_bias(f->ep);
    /* The rest in the 16-plane kernel's registers, before its transposes
     * and stores (mobilenet_v3_large's depthwise layers up to 14 wide
     * 0.50 -> 0.47 ms on one thread, efficientnet_b0's 1.11 -> 1.05);
     * done in the plane kernel's stores, its larger planes went 15-40%
     * slower. Not with a residual, nor an activation with no vector form. */
    d.in_kernel = d.blocks > 0 && !d.rest.residual && (d.rest.scale || d.rest.act >= 0);
#ifdef CZ_HAVE_X86
    d.in_kernel = d.in_kernel && (d.rest.act < 0 || cz_act16_has(d.rest.act));
#endif
    d.per_sample = d.blocks + f->OC - 16 * d.blocks;
    cz_steal_for((long)N * d.per_sample, threads, depthwise_item, &d);
}

/* The blocked direct conv, in inference (training keeps the GEMM's
 * rounding, as for Winograd). Against im2col + GEMM it saves the column
 * matrix (KH x KW times the input) and packing it on every call, and
 * splits batch 1 over both threads in one region; but it copies the
 * input into blocks and the output back. Not for 1x1 convs, whose im2col
 * is the input itself (or a subsample): in resnet50 the copies made
 * them no faster even on 7x7 maps (0.50-0.54 ms against the GEMM's
 * 0.49-0.59), and slower on larger ones. Under 16 input channels only
 * for large kernels: the 7x7 and 11x11 stems run 1.4-1.8x faster, but a
 * 3x3 on 3 channels (27 MACs per output) spends more on copying its large
 * output back than it saves (vgg16's first conv: 2.4 -> 4.1 ms). */
static bool use_direct(const cz_net *net, const cz_conv_geom *g, int groups)
{
    int taps = g->kernel_h * g->kernel_w;
    return !cz_net_wants_backward(net) && taps > 1 && (g->channels >= 16 || taps >= 25) &&
           cz_direct_fits(groups);
}

/* Below this many multiply-adds (9 C OC OH OW) the direct conv beats
 * Winograd: the transforms, the 36 (16) products' fixed costs and the
 * barriers between the three steps outweigh the 4x (2.25x) fewer
 * products, on two threads most, where Winograd's small layers run slower
 * than on one. googlenet's 5x5-branch convs and densenet121's on 7x7 maps
 * (one layer alone, BatchNorm and ReLU after, ms on one / two threads,
 * Winograd -> direct): 16 -> 32 on 28x28 0.037 / 0.053 -> 0.043 / 0.030,
 * 32 -> 64 on 14x14 0.036 / 0.052 -> 0.042 / 0.030, 48 -> 128 on 7x7
 * 0.032 / 0.043 -> 0.032 / 0.025, 128 -> 32 on 7x7 0.025 / 0.037 ->
 * 0.025 / 0.024. At 7.2 M (32 -> 128, 128 -> 32 or 64 -> 64 on 14x14)
 * Winograd takes 16-31% less time than the direct conv on one thread and
 * 24-62% more on two; there it stays. */
#define SMALL_WINOGRAD 7000000L

/* Winograd's tile size m for this conv (4 or 2), or 0 where it does not
 * pay. Before a backward, F(2x2) only (for the input gradient too, see
 * dx_geometry): F(4x4) rounds further from direct convolution (its G's
 * 1/6 and 1/24, its A^T's 8), and two SGD steps of resnet18 in
 * test_cli_arrays ended 4e-4 from PyTorch's weights with it (a ReLU's
 * input on the other side of 0), 1.3e-6 with F(2x2) as with the GEMM;
 * F(2x2) saved as much time there (a resnet50 step at batch 8 on two
 * threads, paired: 0.93 of the GEMM's, F(4x4) 0.98 of F(2x2)'s).
 * Below 16 channels in or out,
 * or under 16 output tiles, its thin GEMMs run slower than one direct
 * GEMM. F(4x4) from 16 tiles (a 14x14 map), since the GEMM prefetches its
 * A (the transformed weights, read once per call) and runs a 16-column
 * sliver on half its tile: resnet50's layer3 3x3 convs 2.35 -> 1.66 ms on
 * one thread, 1.23 -> 0.84 on two (direct against Winograd, before the
 * half tile), where without the prefetch Winograd had been the slower;
 * and from 16 outputs, where the blocked direct conv had been faster:
 * densenet121's 128 -> 32 convs on 56x56 13.9 -> 9.0 ms in all, on 28x28
 * 6.9 -> 4.9, on 14x14 3.6 -> 2.7 (one thread). F(2x2) where F(4x4) makes
 * too few tiles but it makes 16 (a 7x7 map): 16 products of 16 columns
 * against the direct conv's 9 of 49. Not where the blocked direct conv
 * runs and the conv is small (SMALL_WINOGRAD). */
static int winograd_tile(const cz_net *net, const cz_conv_geom *g, int groups, int OC)
{
    if (cz_kernels_current() == CZ_KPATH_REF || !cz_winograd_fits(g, groups) ||
        g->channels < 16 || OC < 16)
        return 0;
    long macs = 9L * g->channels * OC * g->out_h * g->out_w;
    if (macs < SMALL_WINOGRAD && use_direct(net, g, groups))
        return 0;
    if (cz_winograd_tiles(g, 4) >= 16 && !cz_net_wants_backward(net))
        return 4;
    return cz_winograd_tiles(g, 2) >= 16 ? 2 : 0;
}

/* Whether a 1 x r, r x 1 or 5 x 5 conv runs Winograd F(m, r) along one
 * axis (kernels/winograd1d.c): in inference, from 16 channels in and out.
 * Inception-v3's 192 -> 192 1x7 conv on 17x17 0.77 -> 0.40 ms on one
 * thread, its 384 -> 384 1x3 on 8x8 0.35 -> 0.24, AlexNet's 5x5 conv
 * 2.2 -> 1.2 (the blocked direct conv before). */
static bool use_winograd1d(const cz_net *net, const cz_conv_geom *g, int groups, int OC)
{
    return cz_kernels_current() != CZ_KPATH_REF && !cz_net_wants_backward(net) &&
           cz_winograd1d_fits(g, groups) && g->channels >= 16 && OC >= 16;
}

/* The input gradient of a 3x3, stride-1 conv with padding 1 (a same-size
 * one) is a conv of the same kind: the output gradient (OC channels)
 * through each filter turned 180 degrees, input and output channels
 * swapped. Its geometry in *t; false where g is not such a conv. */
static bool dx_geometry(const cz_conv_geom *g, int OC, cz_conv_geom *t)
{
    if (!cz_winograd_fits(g, 1) || g->pad_h != 1 || g->pad_w != 1)
        return false;
    *t = *g;
    t->channels = OC;
    t->height = g->out_h, t->width = g->out_w;
    t->out_h = g->height, t->out_w = g->width;
    return t->out_h == t->height && t->out_w == t->width;
}

/* Floats of a Winograd conv's cache: U, and before a backward where the
 * input gradient can run as a Winograd conv too (same m: the same tiles;
 * *dx, its geometry in *t), that conv's U after it. */
static size_t winograd_cache(const cz_net *net, const cz_conv_geom *g, int m, int OC, bool *dx,
                             cz_conv_geom *t)
{
    *dx = cz_net_wants_backward(net) && dx_geometry(g, OC, t) &&
          winograd_tile(net, t, 1, g->channels) == m;
    return cz_winograd_weights_size(m, OC, g->channels) +
           (*dx ? cz_winograd_weights_size(m, g->channels, OC) : 0);
}

static cz_status forward_winograd(cz_net *net, cz_node *node, const cz_conv_geom *g, int m,
                                  const epilogue *ep, float *y, int threads)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int OC = node->shape[0], C = g->channels;
    const float *weight = cz_node_param(net, node, 0)->value.data;
    bool dx;
    cz_conv_geom t;
    float *U = cz_node_cache(node, sizeof(float) * winograd_cache(net, g, m, OC, &dx, &t));
    size_t need = cz_winograd_scratch(g, m, OC, threads);
    if (cz_net_wants_backward(net)) { /* backward's, so that it cannot fail */
        size_t grads = full_stride(scratch_sizes(node, g)) * (size_t)threads;
        size_t dx_scratch = dx ? cz_winograd_scratch(&t, m, C, threads) : 0;
        need = need > grads ? need : grads;
        need = need > dx_scratch ? need : dx_scratch;
    }
    float *scratch = cz_net_scratch(net, sizeof(float) * need);
    if (!U || !scratch)
        return CZ_ERR_NOMEM;
    uint64_t key = cache_key(net, winograd_cached(m, dx));
    if (node->cache_key != key) {
        cz_winograd_weights(m, OC, C, weight, false, U, threads);
        if (dx)
            cz_winograd_weights(m, C, OC, weight, true, U + cz_winograd_weights_size(m, OC, C),
                                threads);
        node->cache_key = key;
    }
    node->kernel = cz_winograd_name(m);
    /* The rest of the epilogue on each output plane as it is made, not in
     * a pass over the whole output after (vgg16's first maps are 12.8 MB). */
    epilogue rest = after_bias(*ep);
    group_epilogue ge = {.e = &rest, .oc0 = 0};
    cz_gemm_epilogue run = {.fn = run_group_epilogue, .ctx = &ge};
    cz_winograd_conv(g, m, OC, U, ep->bias, net->batch, in->out.data, y, scratch, threads,
                     has_work(&rest) ? &run : NULL);
    return CZ_OK;
}

/* Backward's input gradient as a Winograd conv, into a fresh dx, where
 * the forward before made its weights (winograd_cache); false where it
 * did not. */
static bool dx_winograd(const cz_net *net, const cz_node *node, const cz_conv_geom *g,
                        const float *dy, float *dx, int threads)
{
    cz_conv_geom t;
    int C = g->channels, OC = node->shape[0];
    if (!node->cache || !dx_geometry(g, OC, &t))
        return false;
    int m = winograd_tile(net, &t, 1, C);
    if (!m || node->cache_key != cache_key(net, winograd_cached(m, true)))
        return false;
    const float *U = (const float *)node->cache + cz_winograd_weights_size(m, OC, C);
    cz_winograd_conv(&t, m, C, U, NULL, net->batch, dy, dx, net->scratch, threads, NULL);
    return true;
}

/* The node's weights in a kernel's packed form (`floats` of them, made by
 * pack), kept in the node's cache and packed again only when a parameter
 * or the path changed (cache_key, `what`); NULL when out of memory. */
static float *packed_once(cz_net *net, cz_node *node, const cz_conv_geom *g, size_t floats,
                          int what, void (*pack)(const cz_conv_geom *, int, const float *, float *))
{
    float *packed = cz_node_cache(node, sizeof(float) * floats);
    uint64_t key = cache_key(net, what);
    if (packed && node->cache_key != key) {
        pack(g, node->shape[0], cz_node_param(net, node, 0)->value.data, packed);
        node->cache_key = key;
    }
    return packed;
}

static cz_status forward_direct(cz_net *net, cz_node *node, const cz_conv_geom *g,
                                const epilogue *ep, float *y, int threads)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int OC = node->shape[0];
    float *packed = packed_once(net, node, g, cz_direct_weights_size(g, OC), CACHE_DIRECT,
                                cz_direct_weights);
    float *scratch = cz_net_scratch(net, sizeof(float) * cz_direct_scratch(g, net->batch, threads));
    if (!packed || !scratch)
        return CZ_ERR_NOMEM;
    node->kernel = cz_direct_name();
    group_epilogue ge = {.e = ep, .oc0 = 0};
    cz_gemm_epilogue run = {.fn = run_group_epilogue, .ctx = &ge};
    cz_direct_conv(g, OC, packed, net->batch, in->out.data, y, scratch, threads,
                   has_work(ep) ? &run : NULL);
    return CZ_OK;
}

static cz_status forward_winograd1d(cz_net *net, cz_node *node, const cz_conv_geom *g,
                                    const epilogue *ep, float *y, int threads)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int OC = node->shape[0];
    float *U = cz_node_cache(node, sizeof(float) * cz_winograd1d_weights_size(g, OC));
    float *scratch = cz_net_scratch(net, sizeof(float) * cz_winograd1d_scratch(g, OC, threads));
    if (!U || !scratch)
        return CZ_ERR_NOMEM;
    uint64_t key = cache_key(net, CACHE_WINOGRAD1D);
    if (node->cache_key != key) {
        cz_winograd1d_weights(g, OC, cz_node_param(net, node, 0)->value.data, U);
        node->cache_key = key;
    }
    node->kernel = cz_winograd1d_name(g);
    epilogue rest = after_bias(*ep);
    group_epilogue ge = {.e = &rest, .oc0 = 0};
    cz_gemm_epilogue run = {.fn = run_group_epilogue, .ctx = &ge};
    cz_winograd1d_conv(g, OC, U, ep->bias, net->batch, in->out.data, y, scratch, threads,
                       has_work(&rest) ? &run : NULL);
    return CZ_OK;
}

/* The stem's direct conv (kernels/stem.c) on stems of 2 to 4 channels
 * with kernels of under 25 taps (3x3: MobileNet, EfficientNet, VGG) in
 * inference; the same bits as the GEMM it replaces, whose K of 27 was too
 * short to pay for packing the columns: mobilenet_v2's stem 0.41 -> 0.32
 * ms on one thread, mobilenet_v3_large's 0.31 -> 0.17, vgg16's first conv
 * 3.2 -> 2.3. Larger stems (7x7, 11x11) go to the blocked direct conv. */
static cz_status forward_stem(cz_net *net, cz_node *node, const cz_conv_geom *g,
                              const epilogue *ep, float *y, int threads)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int OC = node->shape[0];
    float *packed = packed_once(net, node, g, cz_stem_weights_size(g, OC), CACHE_STEM,
                                cz_stem_weights);
    if (!packed)
        return CZ_ERR_NOMEM;
    node->kernel = cz_stem_name();
    group_epilogue ge = {.e = ep, .oc0 = 0};
    cz_gemm_epilogue run = {.fn = run_group_epilogue, .ctx = &ge};
    cz_stem_conv(g, OC, packed, net->batch, in->out.data, y, threads,
                 has_work(ep) ? &run : NULL);
    return CZ_OK;
}

/* x (N, C, H, W), weight (OC, C/G, KH, KW), bias (OC) -> y (N, OC, OH, OW);
 * *means: whether the kernel took the planes' means (fuse_mean) too. */
static cz_status conv2d_compute(cz_net *net, cz_node *node, bool *means)
{
    const cz_node *in = cz_node_in(net, node, 0);
    cz_conv_geom g = geometry(node, in);
    int G = node->attr.conv.groups, OC = node->shape[0];
    size_t in_size = cz_node_numel(in), out_size = cz_node_numel(node);
    int threads = omp_get_max_threads();
    saved_block *saved = cz_node_saved(
        node, sizeof *saved + sizeof(float) * 2 * ((size_t)OC + (size_t)g.channels));
    if (!saved)
        return CZ_ERR_NOMEM;
    const float *x = in->out.data;
    prologue pre = {.act = -1};
    cz_gemm_prologue pro = {.fn = prologue_rows, .ctx = &pre};
    if (node->fuse_pre >= 0)
        pre = prologue_of(net, node, saved, &x);
    saved->threads = threads;
    /* The inference plan may send the result to the last fused node. */
    float *y = node->fuse_dst >= 0 ? net->nodes[node->fuse_dst].out.data : node->out.data;
    epilogue ep = epilogue_of(net, node, saved, y);
    int wino = winograd_tile(net, &g, G, OC);
    if (wino)
        return forward_winograd(net, node, &g, wino, &ep, y, threads);
    if (use_winograd1d(net, &g, G, OC))
        return forward_winograd1d(net, node, &g, &ep, y, threads);
    if (!cz_net_wants_backward(net) && cz_stem_fits(&g, G))
        return forward_stem(net, node, &g, &ep, y, threads);
    if (use_direct(net, &g, G))
        return forward_direct(net, node, &g, &ep, y, threads);
    sizes z = scratch_sizes(node, &g);
    /* Inference needs only the column buffers; a forward that backward
     * will follow sizes the scratch for backward too, so backward cannot
     * fail for lack of memory. The layout is the same either way. */
    size_t stride = cz_net_wants_backward(net) ? full_stride(z) : col_stride(z);
    /* A GEMM that does not pack its input (the reference path, a map of
     * one or two positions) would not keep a prologue's bits, and one over
     * several samples (forward_batched) cannot take a gate's per-sample
     * scale: the fused node's output is made here then, after the rest of
     * the scratch. */
    int nb = cat_samples(&g);
    bool batched = nb > 1 && net->batch > 1 && (g.out_h * g.out_w > 2 || net->training);
    bool pre_apart = node->fuse_pre >= 0 && (!cz_gemm_packs_b(OC, g.out_h * g.out_w) ||
                                             (batched && pre.sample_stride));
    size_t pre_floats = pre_apart ? in_size * (size_t)net->batch : 0;
    /* After the threads' parts: forward_batched's columns, one set. */
    float *base =
        cz_net_scratch(net, sizeof(float) * (stride * (size_t)threads + z.cat + pre_floats + 1));
    if (!base)
        return CZ_ERR_NOMEM;
    if (pre_apart) {
        float *made = base + stride * (size_t)threads + z.cat;
        memcpy(made, x, sizeof(float) * pre_floats);
        for (int n = 0; n < net->batch; n++) { /* a sample is C rows of H W */
            prologue mine = of_sample(pre, n);
            prologue_rows(&mine, made + (size_t)n * in_size, 0, g.channels,
                          (int)(in_size / (size_t)g.channels));
        }
        x = made;
    }
    fwd_ctx f = {
        .g = &g,
        .G = G,
        .OC = OC,
        .OCg = OC / G,
        .K = g.channels / G * g.kernel_h * g.kernel_w,
        .P = g.out_h * g.out_w,
        .pointwise = is_pointwise(&g),
        .weight = cz_node_param(net, node, 0)->value.data,
        .ep = ep,
        .pro = node->fuse_pre >= 0 && !pre_apart ? &pro : NULL,
    };
    cz_kpath path = cz_kernels_current();
    if (is_depthwise(node, &g) && path != CZ_KPATH_REF) {
        node->kernel = cz_depthwise_name();
        if (node->fuse_mean >= 0)
            f.mean = net->nodes[node->fuse_mean].out.data;
        *means = f.mean != NULL;
        forward_depthwise(&f, net->batch, x, y, base, stride, threads);
        return CZ_OK;
    }
    node->kernel = G > 1 ? grouped_names[path] : f.pointwise ? pointwise_names[path]
                                                             : gemm_names[path];
    f.packed = packed_weights(net, node, &f);
    if (batched) {
        forward_batched(&f, net->batch, nb, x, in_size, y, out_size, base, stride,
                        base + stride * (size_t)threads, threads);
        return CZ_OK;
    }
    /* Whole samples per thread while they last; the rest split inside.
     * No region when there are none: at batch 1 an empty fork and join
     * cost 4-5 us per conv on two threads. */
    int whole = threads > 1 ? net->batch / threads * threads : net->batch;
#pragma omp parallel for schedule(static) num_threads(threads) if (whole > 0)
    for (int n = 0; n < whole; n++) {
        prologue mine;
        cz_gemm_prologue mine_pro;
        fwd_ctx fn = for_sample(&f, n, &mine, &mine_pro);
        forward_sample(&fn, x + n * in_size, y + n * out_size,
                       thread_scratch(base, omp_get_thread_num(), stride, z).col);
    }
    for (int n = whole; n < net->batch; n++) {
        prologue mine;
        cz_gemm_prologue mine_pro;
        fwd_ctx fn = for_sample(&f, n, &mine, &mine_pro);
        forward_sample_split(&fn, threads, x + n * in_size, y + n * out_size, base);
    }
    return CZ_OK;
}

static cz_status conv2d_forward(cz_net *net, cz_node *node)
{
    bool means = false;
    cz_status st = conv2d_compute(net, node, &means);
    if (st != CZ_OK || node->fuse_mean < 0 || means)
        return st;
    /* The kernel left the means to a pass of their own, as the pool would. */
    const float *y = node->fuse_dst >= 0 ? net->nodes[node->fuse_dst].out.data : node->out.data;
    cz_planes_mean(y, (size_t)node->shape[1] * node->shape[2], net->batch * node->shape[0],
                   net->nodes[node->fuse_mean].out.data);
    return CZ_OK;
}

/* One sample's dbias partial: the sums of its output gradient's planes. */
static void bias_grad(const cz_node *node, const cz_conv_geom *g, const float *dy, scratch s)
{
    if (!node->attr.conv.bias)
        return;
    const cz_conv_attr *c = &node->attr.conv;
    int OC = c->out_channels, P = g->out_h * g->out_w;
    float *dbias = s.dweight + (size_t)OC * (g->channels / c->groups) * c->kernel_h * c->kernel_w;
    for (int oc = 0; oc < OC; oc++)
        for (int p = 0; p < P; p++)
            dbias[oc] += dy[(size_t)oc * P + p];
}

/* One sample's weight gradient: its dweight/dbias partials (stored by the
 * thread's first sample, added by the others). */
static void weight_grad_sample(const cz_node *node, const cz_conv_geom *g, const float *x,
                               const float *dy, bool first, scratch s)
{
    int G = node->attr.conv.groups, OC = node->shape[0], OCg = OC / G;
    int K = g->channels / G * g->kernel_h * g->kernel_w, P = g->out_h * g->out_w;
    const float *col = sample_columns(g, x, s.col);
    for (int grp = 0; grp < G; grp++)
        /* dweight[g] (OCg, K) += dy[g] (OCg, P) * col[g]^T (P, K) */
        cz_gemm(false, true, OCg, K, P, 1.0f, dy + (size_t)grp * OCg * P, P,
                col + (size_t)grp * K * P, P, first ? 0.0f : 1.0f,
                s.dweight + (size_t)grp * OCg * K, K);
    bias_grad(node, g, dy, s);
}

/* One sample's input gradient dx (stored when fresh, else added). */
static void input_grad_sample(const cz_node *node, const cz_conv_geom *g, const float *weight,
                              const cz_packed_a *wt, const float *dy, float *dx, bool fresh,
                              scratch s)
{
    int G = node->attr.conv.groups, OC = node->shape[0], OCg = OC / G;
    int K = g->channels / G * g->kernel_h * g->kernel_w, P = g->out_h * g->out_w;
    bool pointwise = is_pointwise(g);
    for (int grp = 0; grp < G; grp++) {
        const float *dyg = dy + (size_t)grp * OCg * P;
        /* dcol[g] (K, P) = weight[g]^T (K, OCg) * dy[g] (OCg, P); a
         * pointwise conv's dcol is dx itself, so accumulate there (store,
         * when dx is fresh). */
        float *dst = pointwise ? dx : s.dcol;
        const float *wg = weight + (size_t)grp * OCg * K;
        float beta = pointwise && !fresh ? 1.0f : 0.0f;
        if (wt)
            cz_gemm_packed(&wt[grp], wg, K, K, P, OCg, dyg, P, beta, dst + (size_t)grp * K * P, P,
                           NULL, NULL);
        else
            cz_gemm(true, false, K, P, OCg, 1.0f, wg, K, dyg, P, beta, dst + (size_t)grp * K * P,
                    P);
    }
    if (!pointwise)
        cz_col2im(g, s.dcol, dx, !fresh);
}

/* The gradients of nb samples (x, dy, dx: the first one's, samples
 * in_size and out_size floats apart; dx NULL when not wanted) in one GEMM
 * per group for each: their columns and output gradients copied side by
 * side, nb P columns wide, and the input gradient's columns taken apart
 * again. On small maps a sample's own GEMMs are thin or matrix-vector
 * products that read all the weights for a few columns each. */
static void grads_batched(const cz_node *node, const cz_conv_geom *g, const float *weight,
                          const cz_packed_a *wt, const float *x, const float *dy, float *dx,
                          bool fresh, bool first, int nb, size_t in_size, size_t out_size,
                          scratch s)
{
    int G = node->attr.conv.groups, OC = node->shape[0], OCg = OC / G;
    int K = g->channels / G * g->kernel_h * g->kernel_w, P = g->out_h * g->out_w;
    size_t W = (size_t)nb * P, rows = (size_t)K * G;
    float *cols = s.cat, *dys = s.cat + rows * W;
    for (int j = 0; j < nb; j++) {
        put_block(sample_columns(g, x + j * in_size, s.col), rows, P, cols, W, j);
        put_block(dy + j * out_size, (size_t)OC, P, dys, W, j);
        bias_grad(node, g, dy + j * out_size, s);
    }
    for (int grp = 0; grp < G; grp++)
        cz_gemm(false, true, OCg, K, (int)W, 1.0f, dys + (size_t)grp * OCg * W, (int)W,
                cols + (size_t)grp * K * W, (int)W, first ? 0.0f : 1.0f,
                s.dweight + (size_t)grp * OCg * K, K);
    if (!dx)
        return;
    /* dcols[g] (K, W) = weight[g]^T dys[g], over the columns, now free. */
    float *dcols = cols;
    for (int grp = 0; grp < G; grp++) {
        const float *wg = weight + (size_t)grp * OCg * K, *dyg = dys + (size_t)grp * OCg * W;
        float *dst = dcols + (size_t)grp * K * W;
        if (wt)
            cz_gemm_packed(&wt[grp], wg, K, K, (int)W, OCg, dyg, (int)W, 0.0f, dst, (int)W, NULL,
                           NULL);
        else
            cz_gemm(true, false, K, (int)W, OCg, 1.0f, wg, K, dyg, (int)W, 0.0f, dst, (int)W);
    }
    for (int j = 0; j < nb; j++) {
        float *dxj = dx + j * in_size;
        /* A pointwise conv's columns are dx's planes; others go through
         * one sample's dcol and col2im. */
        if (!is_pointwise(g)) {
            take_block(dcols, rows, P, W, j, s.dcol);
            cz_col2im(g, s.dcol, dxj, !fresh);
            continue;
        }
        if (fresh) {
            take_block(dcols, rows, P, W, j, dxj);
            continue;
        }
        for (size_t k = 0; k < rows; k++) {
            const float *src = dcols + k * W + (size_t)j * P;
            for (int p = 0; p < P; p++)
                dxj[k * P + p] += src[p];
        }
    }
}

/* dst[i] += the T threads' partials of element i (part[i], part[i +
 * stride], ...) summed from zero in thread order, for i < n: in blocks
 * across all partials, so that the sums vectorise (a scalar loop over the
 * threads per element took 10% of a resnet18 training step). */
CZ_ELEMENTWISE static void add_partials(float *dst, const float *part, size_t stride, int T,
                                        size_t n)
{
    enum { BLOCK = 256 };
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t len = n - b < BLOCK ? n - b : BLOCK;
        float sum[BLOCK] = {0};
        for (int u = 0; u < T; u++) {
            const float *p = part + (size_t)u * stride + b;
            for (size_t j = 0; j < len; j++)
                sum[j] += p[j];
        }
        for (size_t j = 0; j < len; j++)
            dst[b + j] += sum[j];
    }
}

static void conv2d_backward(cz_net *net, cz_node *node)
{
    cz_node *in = cz_node_in(net, node, 0);
    cz_conv_geom g = geometry(node, in);
    size_t in_size = cz_node_numel(in), out_size = cz_node_numel(node);
    bool want_dx = cz_wants_grad(net, in);
    cz_param *weight = cz_node_param(net, node, 0);
    float *dbias = node->attr.conv.bias ? cz_node_param(net, node, 1)->grad.data : NULL;
    sizes z = scratch_sizes(node, &g); /* sized by forward */
    const saved_block *saved = node->saved;
    float *base = net->scratch;
    int N = net->batch, threads = saved->threads;
    bool fresh = want_dx && cz_grad_take_fresh(in);
    /* Then the threads below take the weight gradient alone. */
    if (fresh && dx_winograd(net, node, &g, node->dout.data, in->dout.data, threads))
        want_dx = false;
    const cz_packed_a *wt = want_dx ? packed_transposed(net, node) : NULL;

#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        scratch s = thread_scratch(base, t, full_stride(z), z);
        /* The weights' partial is stored by the thread's first product
         * (a 100 MB memset per resnet50 step otherwise), the bias's added. */
        memset(s.dweight + z.w, 0, sizeof(float) * z.b);
        /* A fixed contiguous share of samples per thread. */
        int n0 = (int)((long)N * t / T), n1 = (int)((long)N * (t + 1) / T);
        int nb = z.cat ? cat_samples(&g) : 1;
        if (n0 == n1)
            memset(s.dweight, 0, sizeof(float) * z.w);
        if (nb > 1) {
            for (int n = n0; n < n1; n += nb) {
                int m = n1 - n < nb ? n1 - n : nb;
                const float *x = in->out.data + n * in_size, *dy = node->dout.data + n * out_size;
                float *dx = want_dx ? in->dout.data + n * in_size : NULL;
                if (m > 1) {
                    grads_batched(node, &g, weight->value.data, wt, x, dy, dx, fresh, n == n0, m,
                                  in_size, out_size, s);
                    continue;
                }
                weight_grad_sample(node, &g, x, dy, n == n0, s);
                if (dx)
                    input_grad_sample(node, &g, weight->value.data, wt, dy, dx, fresh, s);
            }
        } else {
            for (int n = n0; n < n1; n++)
                weight_grad_sample(node, &g, in->out.data + n * in_size,
                                   node->dout.data + n * out_size, n == n0, s);
            /* Each sample's dx is its own, the same whichever thread
             * computes it: taken as threads come free, they absorb the
             * weight gradients' uneven finish (each thread waited 8% of
             * resnet50's conv backward at the barrier below). */
            if (want_dx) {
#pragma omp for schedule(dynamic, 1) nowait
                for (int n = 0; n < N; n++)
                    input_grad_sample(node, &g, weight->value.data, wt,
                                      node->dout.data + n * out_size,
                                      in->dout.data + n * in_size, fresh, s);
            }
        }
#pragma omp barrier
        /* Sum the partials in thread order; each thread owns a slice of
         * the gradient, so the sum is parallel and deterministic. */
        size_t total = z.w + z.b;
        size_t i0 = total * (size_t)t / (size_t)T, i1 = total * (size_t)(t + 1) / (size_t)T;
        const float *part = thread_scratch(base, 0, full_stride(z), z).dweight;
        size_t w1 = i1 < z.w ? i1 : z.w, b0 = i0 > z.w ? i0 : z.w;
        if (i0 < w1)
            add_partials(weight->grad.data + i0, part + i0, full_stride(z), T, w1 - i0);
        if (b0 < i1)
            add_partials(dbias + (b0 - z.w), part + b0, full_stride(z), T, i1 - b0);
    }
}

static int64_t conv2d_cost(const cz_net *net, const cz_node *node)
{
    const cz_conv_attr *c = &node->attr.conv;
    int in_per_group = net->nodes[node->inputs[0]].shape[0] / c->groups;
    return (int64_t)cz_node_numel(node) * in_per_group * c->kernel_h * c->kernel_w;
}

const cz_op cz_op_conv2d = {
    .name = "conv2d",
    .infer = conv2d_infer,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .clears_grads = true,
    .cost = conv2d_cost,
};
