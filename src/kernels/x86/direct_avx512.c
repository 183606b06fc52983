/*
 * direct_avx512.c - the blocked direct convolution's tile kernel: F
 * filter blocks (16 output channels each) by J output positions (running
 * across rows) in F x J zmm accumulators. Per input lane and tap it loads
 * F filter vectors and broadcasts J input values, for F x J independent
 * FMAs: with F = 4 and J = 6, 24 accumulators cover the FMA latency on
 * both pipes and the loads stay well under the FMA count. Also the 16 x
 * 16 transposes that copy maps into blocks and back.
 *
 * Compiled for any x86-64 with a target attribute; only called when cpuid
 * says AVX-512F is there.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/direct_impl.h"
#include "kernels/x86/transpose_avx512.h"

#define TARGET __attribute__((target("avx512f,fma")))

enum { MAX_F = 4, MAX_J = 12 };

/* The tile: F and J are constants in each instance below, so the loops
 * over them unroll and the accumulators live in registers. */
TARGET static inline __attribute__((always_inline)) void
tile(const cz_direct_shape *s, const float *x, const size_t *at, const float *w, int cbn,
     bool first, float *y, const int F, const int J)
{
    __m512 acc[MAX_F][MAX_J];
    for (int f = 0; f < F; f++)
        for (int j = 0; j < J; j++)
            acc[f][j] = first ? _mm512_setzero_ps()
                              : _mm512_load_ps(y + f * s->y_block + (size_t)j * CZ_BLOCK);
    const int taps = s->kh * s->kw;
    size_t off[MAX_J];
    for (int j = 0; j < J; j++)
        off[j] = at[j];
    for (int c = 0; c < cbn; c++) {
        const float *xc = x + c * s->x_block;
        const float *wc = w + (size_t)c * taps * s->cs * CZ_BLOCK;
        for (int i = 0; i < s->kh; i++)
            for (int k = 0; k < s->kw; k++) {
                const float *xp = xc + ((size_t)i * s->dil * s->wp + (size_t)k * s->dil) * s->cs;
                const float *wt = wc + (size_t)(i * s->kw + k) * s->cs * CZ_BLOCK;
                for (int l = 0; l < s->cs; l++) {
                    __m512 wv[MAX_F];
                    for (int f = 0; f < F; f++)
                        wv[f] = _mm512_loadu_ps(wt + f * s->w_block + l * CZ_BLOCK);
                    for (int j = 0; j < J; j++) {
                        __m512 b = _mm512_set1_ps(xp[off[j] + l]);
                        for (int f = 0; f < F; f++)
                            acc[f][j] = _mm512_fmadd_ps(wv[f], b, acc[f][j]);
                    }
                }
            }
    }
    for (int f = 0; f < F; f++)
        for (int j = 0; j < J; j++)
            _mm512_store_ps(y + f * s->y_block + (size_t)j * CZ_BLOCK, acc[f][j]);
}

typedef void (*tile_fn)(const cz_direct_shape *, const float *, const size_t *, const float *, int,
                        bool, float *);

#define TILE(F, J)                                                                         \
    TARGET static void tile_##F##_##J(const cz_direct_shape *s, const float *x,            \
                                      const size_t *at, const float *w, int cbn, bool first, \
                                      float *y)                                            \
    {                                                                                      \
        tile(s, x, at, w, cbn, first, y, F, J);                                            \
    }
#define TILES(F) TILE(F, 1) TILE(F, 2) TILE(F, 3) TILE(F, 4) TILE(F, 5) TILE(F, 6)
#define WIDE(F) TILE(F, 7) TILE(F, 8) TILE(F, 9) TILE(F, 10) TILE(F, 11) TILE(F, 12)
TILES(1) TILES(2) TILES(3) TILES(4)
WIDE(1) WIDE(2) TILE(3, 7) TILE(3, 8)
#undef WIDE
#undef TILES
#undef TILE

#define ROW(F) tile_##F##_1, tile_##F##_2, tile_##F##_3, tile_##F##_4, tile_##F##_5, tile_##F##_6
#define WIDE(F) tile_##F##_7, tile_##F##_8, tile_##F##_9, tile_##F##_10, tile_##F##_11, \
                tile_##F##_12
static const tile_fn tiles[MAX_F][MAX_J] = {
    {ROW(1), WIDE(1)},
    {ROW(2), WIDE(2)},
    {ROW(3), tile_3_7, tile_3_8},
    {ROW(4)},
};
#undef ROW
#undef WIDE

/* The widest tile per F: at most 24 accumulators, so that with F filter
 * vectors and a broadcast they fit the 32 zmm registers; a set of 1 or 2
 * blocks (a DenseNet layer's 32 outputs) gets wider tiles rather than
 * fewer FMAs per filter load. */
static const int max_j[MAX_F] = {12, 12, 8, 6};

void cz_direct_tiles_avx512(const cz_direct_shape *s, const float *x, const float *w, int F,
                            int cbn, bool first, int p0, int p1, float *y)
{
    /* The outputs in tiles as even as possible (49 = 5 x 5 + 4 x 6),
     * running across rows, so a 7x7 map's tiles are as wide as a large
     * map's: each filter vector loaded feeds J FMAs. */
    int len = p1 - p0, n = (len + max_j[F - 1] - 1) / max_j[F - 1];
    for (int t = 0, p = p0; t < n; t++) {
        int J = len / n + (t < len % n);
        size_t at[MAX_J];
        for (int j = 0; j < J; j++) {
            int oh = (p + j) / s->ow, ow = (p + j) % s->ow;
            at[j] = ((size_t)oh * s->sh * s->wp + (size_t)ow * s->sw) * s->cs;
        }
        tiles[F - 1][J - 1](s, x, at, w, cbn, first, y + (size_t)(p - p0) * CZ_BLOCK);
        p += J;
    }
}

TARGET void cz_direct_to_blocks_avx512(const cz_conv_geom *g, int cs, const float *x, int cb,
                                       int h, float *dst)
{
    int wp = g->width + 2 * g->pad_w, hp = g->height + 2 * g->pad_h;
    int right = wp - g->pad_w - g->width, bottom = hp - g->pad_h - g->height;
    size_t plane = (size_t)g->height * g->width, row_floats = (size_t)wp * cs;
    int lanes = g->channels - cb * CZ_BLOCK < CZ_BLOCK ? g->channels - cb * CZ_BLOCK : CZ_BLOCK;
    const float *xh = x + (size_t)cb * CZ_BLOCK * plane + (size_t)h * g->width;
    if (h == 0)
        memset(dst, 0, sizeof(float) * row_floats * g->pad_h);
    if (h == g->height - 1)
        memset(dst + row_floats * (g->pad_h + g->height), 0, sizeof(float) * row_floats * bottom);
    float *row = dst + row_floats * (g->pad_h + h);
    memset(row, 0, sizeof(float) * cs * g->pad_w);
    memset(row + (size_t)(g->pad_w + g->width) * cs, 0, sizeof(float) * cs * right);
    row += (size_t)g->pad_w * cs;
    for (int w0 = 0; w0 < g->width; w0 += CZ_BLOCK) {
        int n = g->width - w0 < CZ_BLOCK ? g->width - w0 : CZ_BLOCK;
        __m512 r[16];
        for (int l = 0; l < CZ_BLOCK; l++)
            r[l] = l < lanes ? _mm512_maskz_loadu_ps(cz_first_lanes(n), xh + l * plane + w0)
                             : _mm512_setzero_ps();
        cz_transpose16(r);
        for (int i = 0; i < n; i++)
            _mm512_mask_storeu_ps(row + (size_t)(w0 + i) * cs, cz_first_lanes(cs), r[i]);
    }
}

TARGET void cz_direct_from_blocks_avx512(const float *src, int rows, int len, float *y, int ldy)
{
    for (int p0 = 0; p0 < len; p0 += CZ_BLOCK) {
        int n = len - p0 < CZ_BLOCK ? len - p0 : CZ_BLOCK;
        __m512 r[16];
        for (int i = 0; i < CZ_BLOCK; i++)
            r[i] = i < n ? _mm512_load_ps(src + (size_t)(p0 + i) * CZ_BLOCK) : _mm512_setzero_ps();
        cz_transpose16(r);
        for (int l = 0; l < rows; l++)
            _mm512_mask_storeu_ps(y + (size_t)l * ldy + p0, cz_first_lanes(n), r[l]);
    }
}
