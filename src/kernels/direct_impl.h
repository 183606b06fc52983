/*
 * direct_impl.h - what the blocked direct convolution's driver (direct.c)
 * and its AVX-512 row kernel share. Not part of the kernels' interface.
 *
 * Layouts, per sample, in blocks of 16 channels (the zmm width):
 *   input   (CB, HP, WP, CS): zero-padded on every side and in the lanes
 *           past C, so the kernel never tests a bound; CS is 16, or C
 *           itself below 16 (a stem's 3 channels, not 3 of 16 lanes);
 *   filters (OCB, CB, KH, KW, CS in, 16 out), zero past C and OC;
 *   output  a chunk of positions at a time: (F, CHUNK, 16) per thread.
 */
#ifndef CZ_DIRECT_IMPL_H
#define CZ_DIRECT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"

enum { CZ_BLOCK = 16 };

typedef struct cz_direct_shape {
    int kh, kw, sh, sw, dil;
    int cs;         /* channels per stored input block: 16, or C below 16 */
    int wp;         /* padded input row, pixels */
    int ow;         /* output row, pixels */
    size_t x_block; /* floats per input channel block: HP * WP * CS, whole lines */
    size_t w_block; /* floats per filter block: CB * KH * KW * CS * 16 */
    size_t y_block; /* floats per output block of a chunk: CHUNK * 16 */
} cz_direct_shape;

/* Outputs [p0, p1) (row-major over OH x OW) of F (1..4) consecutive
 * filter blocks, summed over cbn input blocks: x is the first input
 * block, w the first filter block's part for it, y output p0 of the
 * first output block. first: start from 0, else add to what y holds (the sums of
 * earlier input blocks). Each output is summed over (block, kh, kw, lane)
 * in that order however the caller splits blocks, outputs and filter
 * sets, so the bits do not depend on the split. */
void cz_direct_tiles_avx512(const cz_direct_shape *s, const float *x, const float *w, int F,
                            int cbn, bool first, int p0, int p1, float *y);

/* Input row h of block cb of one sample x (C, H, W) into dst (HP, WP,
 * CS), with the padding around it (above the first row, below the last);
 * and `len` outputs (len, 16) into `rows` channel rows of y, ldy floats
 * apart: 16 x 16 transposes in registers. */
void cz_direct_to_blocks_avx512(const cz_conv_geom *g, int cs, const float *x, int cb, int h,
                                float *dst);
void cz_direct_from_blocks_avx512(const float *src, int rows, int len, float *y, int ldy);

#endif
