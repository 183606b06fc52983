/*
 * kernels.h - the hot loops shared by ops: GEMM and im2col/col2im.
 *
 * These are the plain-C reference kernels (the oracle the tests trust).
 * Each call is single-threaded; callers parallelise over independent
 * outputs so results do not depend on scheduling.
 */
#ifndef CZ_KERNELS_H
#define CZ_KERNELS_H

#include <stdbool.h>

/* C (M x N) = alpha * op(A) * op(B) + beta * C, row-major, where op(A) is
 * M x K (A stored K x M when trans_a) and op(B) is K x N (B stored N x K
 * when trans_b). beta == 0 overwrites C without reading it. */
void cz_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Geometry of one 2-D convolution window sweep. */
typedef struct cz_conv_geom {
    int channels, height, width;       /* input plane count and size */
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int dilation;
    int out_h, out_w;
} cz_conv_geom;

/* x (C, H, W) -> col (C*KH*KW, OH*OW); taps outside the input are 0. */
void cz_im2col(const cz_conv_geom *g, const float *x, float *col);
/* The adjoint of im2col: dx (C, H, W) += every tap of dcol. */
void cz_col2im_add(const cz_conv_geom *g, const float *dcol, float *dx);

#endif
