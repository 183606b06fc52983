/*
 * stem.c - the stem's direct convolution (x86/stem_avx512.c): which
 * layers it takes, its weights in blocks of 16 output channels, and the
 * rows of the output over the threads.
 */
#include <omp.h>
#include <string.h>

#include "kernels/kernels.h"

bool cz_stem_fits(const cz_conv_geom *g, int groups)
{
#if defined(__x86_64__) || defined(__i386__)
    int taps = g->kernel_h * g->kernel_w;
    /* One input channel is a depthwise conv (conv2d.c's is_depthwise). */
    return cz_kernels_current() == CZ_KPATH_AVX512 && groups == 1 && g->channels >= 2 &&
           g->channels <= 4 && taps > 1 && taps < 25 && g->dilation == 1 && g->stride_h <= 2 &&
           g->stride_w <= 2;
#else
    (void)g, (void)groups;
    return false;
#endif
}

size_t cz_stem_weights_size(const cz_conv_geom *g, int out_channels)
{
    return (size_t)(out_channels + 15) / 16 * 16 * g->channels * g->kernel_h * g->kernel_w;
}

/* Block b's taps, 16 weights each (zeros past the last channel). */
void cz_stem_weights(const cz_conv_geom *g, int out_channels, const float *weight,
                     float *packed)
{
    int taps = g->channels * g->kernel_h * g->kernel_w;
    memset(packed, 0, sizeof(float) * cz_stem_weights_size(g, out_channels));
    for (int oc = 0; oc < out_channels; oc++)
        for (int t = 0; t < taps; t++)
            packed[((size_t)(oc / 16) * taps + t) * 16 + oc % 16] = weight[(size_t)oc * taps + t];
}

#if defined(__x86_64__) || defined(__i386__)
/* Asks for the input rows that output row oh reads and row oh - 1 did
 * not. An image is read a few rows at a time on every channel, more
 * streams than the hardware prefetcher follows from memory: at batch 8,
 * where each image comes from memory rather than L3, mobilenet_v3_large's
 * stem took 0.44 ms an image against 0.15 at batch 1; with this 0.16. */
static void prefetch_new_rows(const cz_conv_geom *g, const float *x, int oh)
{
    if (oh >= g->out_h)
        return;
    int top = oh * g->stride_h - g->pad_h, K = g->kernel_h, S = g->stride_h;
    for (int c = 0; c < g->channels; c++)
        for (int ih = top + (K > S ? K - S : 0); ih < top + K; ih++) {
            if (ih < 0 || ih >= g->height)
                continue;
            cz_prefetch_floats(x + ((size_t)c * g->height + ih) * g->width, (size_t)g->width);
        }
}
#endif

void cz_stem_conv(const cz_conv_geom *g, int out_channels, const float *packed, int N,
                  const float *x, float *y, int threads, const cz_gemm_epilogue *ep)
{
#if defined(__x86_64__) || defined(__i386__)
    int OH = g->out_h, blocks = (out_channels + 15) / 16;
    size_t taps = (size_t)g->channels * g->kernel_h * g->kernel_w;
    size_t in = (size_t)g->channels * g->height * g->width;
    size_t out = (size_t)out_channels * OH * g->out_w;
    /* Whole rows, every channel block, so the epilogue runs on a row as
     * soon as it is final; rows in two fixed halves per sample at batch 1
     * (each thread then reads its own band of the input). */
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (long i = 0; i < (long)N * OH; i++) {
        int n = (int)(i / OH), oh = (int)(i % OH);
        float *yn = y + (size_t)n * out;
        prefetch_new_rows(g, x + (size_t)n * in, oh + 1);
        for (int b = 0; b < blocks; b++)
            cz_stem_row_avx512(g, x + (size_t)n * in, packed + (size_t)b * taps * 16, oh, 16 * b,
                               out_channels, yn);
        if (ep)
            ep->fn(ep->ctx, yn + (size_t)oh * g->out_w, OH * g->out_w, 0, out_channels,
                   g->out_w);
    }
#else
    (void)g, (void)out_channels, (void)packed, (void)N, (void)x, (void)y, (void)threads, (void)ep;
#endif
}

const char *cz_stem_name(void) { return "conv-stem-avx512"; }
