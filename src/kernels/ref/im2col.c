/*
 * im2col.c - unfold convolution windows into columns and fold them back.
 *
 * Row r = (c, kh, kw) of col holds, for every output position, the input
 * pixel that tap sees: the convolution becomes one GEMM with the OIHW
 * weights viewed as (OC, C*KH*KW).
 */
#include <string.h>

#include "kernels/kernels.h"

/* For tap offset `off` along one axis: the output range [lo, hi) whose
 * input coordinate o*stride - pad + off lies inside [0, size). */
static void valid_range(int size, int out, int stride, int pad, int off, int *lo, int *hi)
{
    int first = pad - off; /* o*stride >= pad - off */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = size - 1 + pad - off; /* o*stride <= size - 1 + pad - off */
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out)
        *hi = out;
    if (*lo > *hi)
        *lo = *hi;
}

void cz_im2col(const cz_conv_geom *g, const float *x, float *col)
{
#ifdef CZ_HAVE_X86
    if (cz_kernels_current() == CZ_KPATH_AVX512 && cz_im2col_avx512(g, x, col))
        return;
#endif
    int OH = g->out_h, OW = g->out_w;
    for (int c = 0; c < g->channels; c++) {
        const float *plane = x + (size_t)c * g->height * g->width;
        for (int kh = 0; kh < g->kernel_h; kh++) {
            int oh_lo, oh_hi;
            valid_range(g->height, OH, g->stride_h, g->pad_h, kh * g->dilation, &oh_lo, &oh_hi);
            for (int kw = 0; kw < g->kernel_w; kw++) {
                int ow_lo, ow_hi;
                valid_range(g->width, OW, g->stride_w, g->pad_w, kw * g->dilation, &ow_lo,
                            &ow_hi);
                float *row = col + ((size_t)(c * g->kernel_h + kh) * g->kernel_w + kw) * OH * OW;
                memset(row, 0, sizeof(float) * (size_t)oh_lo * OW);
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *out = row + (size_t)oh * OW;
                    const float *in = plane + (size_t)(oh * g->stride_h - g->pad_h +
                                                       kh * g->dilation) * g->width;
                    int iw0 = -g->pad_w + kw * g->dilation;
                    for (int ow = 0; ow < ow_lo; ow++)
                        out[ow] = 0.0f;
                    for (int ow = ow_lo; ow < ow_hi; ow++)
                        out[ow] = in[ow * g->stride_w + iw0];
                    for (int ow = ow_hi; ow < OW; ow++)
                        out[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * OW, 0, sizeof(float) * (size_t)(OH - oh_hi) * OW);
            }
        }
    }
}

void cz_col2im(const cz_conv_geom *g, const float *dcol, float *dx, bool add)
{
    int OH = g->out_h, OW = g->out_w;
    for (int c = 0; c < g->channels; c++) {
        float *plane = dx + (size_t)c * g->height * g->width;
        if (!add) /* cleared plane by plane, while it stays in cache for the sums */
            memset(plane, 0, sizeof(float) * g->height * g->width);
        for (int kh = 0; kh < g->kernel_h; kh++) {
            int oh_lo, oh_hi;
            valid_range(g->height, OH, g->stride_h, g->pad_h, kh * g->dilation, &oh_lo, &oh_hi);
            for (int kw = 0; kw < g->kernel_w; kw++) {
                int ow_lo, ow_hi;
                valid_range(g->width, OW, g->stride_w, g->pad_w, kw * g->dilation, &ow_lo,
                            &ow_hi);
                const float *row =
                    dcol + ((size_t)(c * g->kernel_h + kh) * g->kernel_w + kw) * OH * OW;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *d = row + (size_t)oh * OW;
                    float *in = plane + (size_t)(oh * g->stride_h - g->pad_h +
                                                 kh * g->dilation) * g->width;
                    int iw0 = -g->pad_w + kw * g->dilation;
                    for (int ow = ow_lo; ow < ow_hi; ow++)
                        in[ow * g->stride_w + iw0] += d[ow];
                }
            }
        }
    }
}
