/*
 * depthwise.c - reference depthwise convolution of one plane: the
 * definition, output by output and tap by tap, skipping taps in the
 * padding. The oracle for the fast kernel in ../depthwise.c.
 */
#include "kernels/kernels.h"

void cz_depthwise_plane_ref(const cz_conv_geom *g, const float *x, const float *w, float bias,
                            float *y)
{
    for (int oh = 0; oh < g->out_h; oh++)
        for (int ow = 0; ow < g->out_w; ow++) {
            float acc = 0.0f;
            for (int i = 0; i < g->kernel_h; i++) {
                int h = oh * g->stride_h - g->pad_h + i * g->dilation;
                if (h < 0 || h >= g->height)
                    continue;
                for (int j = 0; j < g->kernel_w; j++) {
                    int v = ow * g->stride_w - g->pad_w + j * g->dilation;
                    if (v >= 0 && v < g->width)
                        acc += w[i * g->kernel_w + j] * x[(size_t)h * g->width + v];
                }
            }
            y[(size_t)oh * g->out_w + ow] = acc + bias;
        }
}
