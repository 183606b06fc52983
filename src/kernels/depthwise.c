/*
 * depthwise.c - direct depthwise convolution, one (H, W) plane at a time
 * (MobileNet, EfficientNet, ShuffleNet, Xception: 3x3 and 5x5, stride 1
 * and 2). Going through im2col + GEMM would make each channel a 1-row GEMM
 * that wastes most of a register tile.
 *
 * The input plane is copied once into a zero-padded buffer whose width PWe
 * is a multiple of the column stride sw. Output (oh, ow) then reads, for
 * tap (i, j), pad[sw * (oh * Q + ow) + i d PWe + j d] with Q = sh PWe / sw:
 * in the "extended" index o = oh * Q + ow every tap is one sweep over o
 * with a fixed stride, whatever the row length. So the kernel computes all
 * OH x Q extended outputs (the Q - OW extra ones per row are discarded) in
 * chunks of CHUNK consecutive o, summing all taps in registers: small
 * late-stage planes (7x7, 14x14) vectorise as well as large ones. The cost
 * is Q / OW ~ sh extra work, 2x on the few stride-2 layers.
 *
 * One C body, instantiated per path with a target attribute: the compiler
 * vectorises it for SSE2, AVX2 or AVX-512 (strides 1 and 2 are
 * specialised so their loads are contiguous or a fixed shuffle). Every
 * output sums its taps in the same order (row by row, then column), so a
 * plane's result does not depend on where a chunk starts.
 */
#include <string.h>

#include "kernels/kernels.h"

/* Four AVX-512 vectors: four independent add chains hide the latency. */
#define CHUNK 64

typedef struct dw_layout {
    int PH, PWe, Q;  /* padded plane rows and (stride-rounded) width; Q = sh PWe / sw */
    size_t plane;    /* floats of the padded plane, with slack for the last chunk */
    size_t extended; /* floats of the extended output, rounded up to a chunk */
} dw_layout;

static dw_layout layout(const cz_conv_geom *g)
{
    dw_layout l;
    int s = g->stride_w, PW = g->width + 2 * g->pad_w;
    l.PH = g->height + 2 * g->pad_h;
    l.PWe = (PW + s - 1) / s * s;
    l.Q = g->stride_h * l.PWe / s;
    size_t ext = (size_t)g->out_h * l.Q;
    l.extended = (ext + CHUNK - 1) / CHUNK * CHUNK;
    /* The last chunk reads up to s * (extended - 1) + the last tap's offset. */
    size_t reach = (size_t)s * l.extended + (size_t)(g->kernel_h - 1) * g->dilation * l.PWe +
                   (size_t)(g->kernel_w - 1) * g->dilation;
    size_t rows = (size_t)l.PH * l.PWe;
    l.plane = reach > rows ? reach : rows;
    return l;
}

size_t cz_depthwise_scratch(const cz_conv_geom *g)
{
    dw_layout l = layout(g);
    return l.plane + l.extended;
}

/* x (H, W) -> pad (PH, PWe) with zero borders and zero slack after. */
static void pad_plane(const cz_conv_geom *g, const dw_layout *l, const float *x, float *pad)
{
    int W = g->width;
    memset(pad, 0, sizeof(float) * (size_t)g->pad_h * l->PWe);
    for (int h = 0; h < g->height; h++) {
        float *row = pad + (size_t)(h + g->pad_h) * l->PWe;
        memset(row, 0, sizeof(float) * (size_t)g->pad_w);
        memcpy(row + g->pad_w, x + (size_t)h * W, sizeof(float) * (size_t)W);
        memset(row + g->pad_w + W, 0, sizeof(float) * (size_t)(l->PWe - g->pad_w - W));
    }
    size_t done = (size_t)(g->pad_h + g->height) * l->PWe;
    memset(pad + done, 0, sizeof(float) * (l->plane - done));
}

/* Extended outputs ext[o], o in [0, extended); `s` is a constant after
 * inlining (1, 2) or the geometry's stride (any other). */
static inline __attribute__((always_inline)) void
sweep(const cz_conv_geom *g, const dw_layout *l, const float *pad, const float *w, float *ext,
      int s)
{
    int KH = g->kernel_h, KW = g->kernel_w, d = g->dilation;
    for (size_t o = 0; o < l->extended; o += CHUNK) {
        float acc[CHUNK] = {0};
        for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++) {
                float wv = w[i * KW + j];
                const float *in = pad + (size_t)s * o + (size_t)i * d * l->PWe + (size_t)j * d;
                for (int v = 0; v < CHUNK; v++)
                    acc[v] += wv * in[v * s];
            }
        memcpy(ext + o, acc, sizeof acc);
    }
}

static inline __attribute__((always_inline)) void
plane_body(const cz_conv_geom *g, const float *x, const float *w, float bias, float *y,
           float *scratch)
{
    dw_layout l = layout(g);
    float *pad = scratch, *ext = scratch + l.plane;
    pad_plane(g, &l, x, pad);
    if (g->stride_w == 1)
        sweep(g, &l, pad, w, ext, 1);
    else if (g->stride_w == 2)
        sweep(g, &l, pad, w, ext, 2);
    else
        sweep(g, &l, pad, w, ext, g->stride_w);
    for (int oh = 0; oh < g->out_h; oh++) {
        const float *e = ext + (size_t)oh * l.Q;
        float *out = y + (size_t)oh * g->out_w;
        for (int ow = 0; ow < g->out_w; ow++)
            out[ow] = e[ow] + bias;
    }
}

static void plane_portable(const cz_conv_geom *g, const float *x, const float *w, float bias,
                           float *y, float *pad)
{
    plane_body(g, x, w, bias, y, pad);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void plane_avx2(const cz_conv_geom *g, const float *x,
                                                           const float *w, float bias, float *y,
                                                           float *pad)
{
    plane_body(g, x, w, bias, y, pad);
}

__attribute__((target("avx512f,fma"))) static void plane_avx512(const cz_conv_geom *g,
                                                                const float *x, const float *w,
                                                                float bias, float *y, float *pad)
{
    plane_body(g, x, w, bias, y, pad);
}
#endif

void cz_depthwise_plane(const cz_conv_geom *g, const float *x, const float *w, float bias,
                        float *y, float *scratch)
{
    switch (cz_kernels_current()) {
    case CZ_KPATH_REF:
        cz_depthwise_plane_ref(g, x, w, bias, y);
        return;
#if defined(__x86_64__) || defined(__i386__)
    case CZ_KPATH_AVX2:
        plane_avx2(g, x, w, bias, y, scratch);
        return;
    case CZ_KPATH_AVX512:
        plane_avx512(g, x, w, bias, y, scratch);
        return;
#endif
    default:
        plane_portable(g, x, w, bias, y, scratch);
    }
}

const char *cz_depthwise_name(void)
{
    static const char *const names[] = {"depthwise-ref", "depthwise-portable", "depthwise-avx2",
                                        "depthwise-avx512"};
    return names[cz_kernels_current()];
}
