/*
 * winograd.c - 3x3, stride-1 convolution by Winograd's minimal filtering
 * F(m x m, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015), m = 4 or 2: each m x m output tile costs (m + 2)^2
 * multiplies per (input, output) channel pair instead of 9 m^2 (36
 * against 144 for F(4x4), 16 against 36 for F(2x2)).
 *
 * Per sample, with a = m + 2 and XI = a^2:
 *   U[xi] (OC x C)  = G g G^T        the weights, XI matrices (cz_winograd_weights,
 *                                    once per set of weights: the caller keeps U)
 *   V[xi] (C x T)   = B^T d B        every a x a input tile (stride m), T tiles
 *   M[xi] (OC x T)  = U[xi] V[xi]    XI GEMMs through cz_gemm
 *   y tile (m x m)  = A^T m A        back to the output, plus bias
 * with the interpolation points 0, +-1, +-2 and infinity (F(4x4)) or 0,
 * +-1 and infinity (F(2x2)). F(4x4) does less work per output; F(2x2)
 * makes four times the tiles, so a 7x7 map (4 tiles of 4x4) still fills
 * the GEMMs' columns with 16. The transforms run on LANES tiles at once
 * (the compiler vectorises the lane loops), reading and writing tiles
 * through per-tile offsets; a tile's arithmetic is the same in every lane,
 * so results do not depend on the threading: input tiles are split over
 * channels, the GEMMs over xi (each GEMM whole on one thread), output
 * tiles over output channels. (Each thread taking a range of tiles through
 * all three steps instead, so that V and M never cross between the cores,
 * was slower: each thread then reads all of U, and its GEMMs are thinner.)
 *
 * Rounding: the transforms add a few ulps per layer relative to direct
 * convolution (F(4x4)'s G has 1/6 and 1/24, which are inexact, and its A^T
 * an 8, which amplifies; F(2x2)'s only a 1/2); inference only, where the
 * models stay within 1e-4 of PyTorch.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef CZ_HAVE_X86
#include "kernels/x86/transpose_avx512.h"
#endif

#define LANES 16

/* Tiles and padded buffer sizes for geometry g and tile size m. */
typedef struct wino_shape {
    int m, xis;        /* output tile size, transformed tile points (m + 2)^2 */
    int th, tw, T, Tp; /* tile rows and columns, tiles, T rounded up to LANES */
    int PH, PW;        /* zero-padded input plane: m th + 2 by m tw + 2 */
    int OHe, OWe;      /* extended output plane: m th by m tw */
    size_t ext;        /* floats of that plane plus a junk tile for idle lanes */
} wino_shape;

static wino_shape shape_of(const cz_conv_geom *g, int m)
{
    wino_shape s;
    s.m = m;
    s.xis = (m + 2) * (m + 2);
    s.th = (g->out_h + m - 1) / m;
    s.tw = (g->out_w + m - 1) / m;
    s.T = s.th * s.tw;
    s.Tp = (s.T + LANES - 1) / LANES * LANES;
    s.PH = m * s.th + 2;
    s.PW = m * s.tw + 2;
    s.OHe = m * s.th;
    s.OWe = m * s.tw;
    s.ext = (size_t)(s.OHe + m) * s.OWe + m;
    return s;
}

int cz_winograd_tiles(const cz_conv_geom *g, int m)
{
    wino_shape s = shape_of(g, m);
    return s.T;
}

bool cz_winograd_fits(const cz_conv_geom *g, int groups)
{
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride_h == 1 && g->stride_w == 1 &&
           g->dilation == 1 && groups == 1;
}

/* Floats from one transformed matrix V[xi] or M[xi] (rows x Tp) to the
 * next: a transform pass reads or writes all XI of them at once, so a
 * stride that is a multiple of 4 KB puts its 16-36 streams on one L1 set
 * (12 ways): measured here, 36 such streams of stores ran at 5.3 ns a line
 * against 0.43 with the stride an odd number of lines (64 mod 4096 bytes),
 * which spreads the streams over all 64 sets. */
static size_t xi_stride(size_t rows, int Tp)
{
    size_t xs = rows * (size_t)Tp; /* Tp is whole lines */
    return (xs / 16) % 2 ? xs : xs + 16;
}

/* Scratch layout (floats): V, M, the tile offsets (2 Tp ints), then per
 * thread a padded input plane and an extended output plane. */
typedef struct wino_scratch {
    float *V, *M;
    int *in_off, *out_off;
    float *per_thread;
    size_t thread_floats;
} wino_scratch;

static wino_scratch carve(const cz_conv_geom *g, int m, int OC, float *base)
{
    wino_shape s = shape_of(g, m);
    int C = g->channels;
    wino_scratch w;
    w.V = base;
    w.M = w.V + (size_t)s.xis * xi_stride(C, s.Tp);
    w.in_off = (int *)(w.M + (size_t)s.xis * xi_stride(OC, s.Tp));
    w.out_off = w.in_off + s.Tp;
    w.per_thread = (float *)(w.out_off + s.Tp);
    w.thread_floats = cz_line_floats((size_t)s.PH * s.PW + s.ext);
    return w;
}

size_t cz_winograd_scratch(const cz_conv_geom *g, int m, int out_channels, int threads)
{
    wino_shape s = shape_of(g, m);
    size_t xis = (size_t)s.xis;
    return xis * xi_stride(g->channels, s.Tp) + xis * xi_stride(out_channels, s.Tp) +
           2 * (size_t)s.Tp +
           (size_t)threads * cz_line_floats((size_t)s.PH * s.PW + s.ext);
}

/* --------------------------------------------------------- transforms */

/* F(4x4): U = G g G^T for one 3x3 filter g; U[xi] at u[xi * stride]. */
static void weight_tile4(const float *g, float *u, size_t stride)
{
    float t[6][3];
    for (int j = 0; j < 3; j++) {
        float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        t[0][j] = g0 / 4.0f;
        t[1][j] = -(g0 + g1 + g2) / 6.0f;
        t[2][j] = -(g0 - g1 + g2) / 6.0f;
        t[3][j] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
        t[4][j] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
        t[5][j] = g2;
    }
    for (int i = 0; i < 6; i++) {
        float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        float *row = u + (size_t)(i * 6) * stride;
        row[0 * stride] = g0 / 4.0f;
        row[1 * stride] = -(g0 + g1 + g2) / 6.0f;
        row[2 * stride] = -(g0 - g1 + g2) / 6.0f;
        row[3 * stride] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
        row[4 * stride] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
        row[5 * stride] = g2;
    }
}

/* out[0..5] = B^T in[0..5] for LANES columns; in[k] and out[i] are lane
 * vectors. */
static inline __attribute__((always_inline)) void bt_apply(float in[6][LANES],
                                                           float out[6][LANES])
{
    for (int v = 0; v < LANES; v++) {
        float d0 = in[0][v], d1 = in[1][v], d2 = in[2][v], d3 = in[3][v], d4 = in[4][v],
              d5 = in[5][v];
        out[0][v] = 4.0f * d0 - 5.0f * d2 + d4;
        out[1][v] = -4.0f * d1 - 4.0f * d2 + d3 + d4;
        out[2][v] = 4.0f * d1 - 4.0f * d2 - d3 + d4;
        out[3][v] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
        out[4][v] = 2.0f * d1 - d2 - 2.0f * d3 + d4;
        out[5][v] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* out[0..3] = A^T in[0..5] for LANES columns. */
static inline __attribute__((always_inline)) void at_apply(float in[6][LANES],
                                                           float out[4][LANES])
{
    for (int v = 0; v < LANES; v++) {
        float m0 = in[0][v], m1 = in[1][v], m2 = in[2][v], m3 = in[3][v], m4 = in[4][v],
              m5 = in[5][v];
        out[0][v] = m0 + m1 + m2 + m3 + m4;
        out[1][v] = m1 - m2 + 2.0f * m3 - 2.0f * m4;
        out[2][v] = m1 + m2 + 4.0f * m3 + 4.0f * m4;
        out[3][v] = m1 - m2 + 8.0f * m3 - 8.0f * m4 + m5;
    }
}

/* F(2x2): U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void weight_tile2(const float *g, float *u, size_t stride)
{
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        t[0][j] = g0;
        t[1][j] = (g0 + g1 + g2) * 0.5f;
        t[2][j] = (g0 - g1 + g2) * 0.5f;
        t[3][j] = g2;
    }
    for (int i = 0; i < 4; i++) {
        float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        float *row = u + (size_t)(i * 4) * stride;
        row[0 * stride] = g0;
        row[1 * stride] = (g0 + g1 + g2) * 0.5f;
        row[2 * stride] = (g0 - g1 + g2) * 0.5f;
        row[3 * stride] = g2;
    }
}

/* F(2x2): out[0..3] = B^T in[0..3], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
 * 0 1 0 -1], for LANES columns (rows past 3 unused: the arrays are F(4x4)'s
 * size, so one tile loop serves both). */
static inline __attribute__((always_inline)) void bt2_apply(float in[6][LANES],
                                                            float out[6][LANES])
{
    for (int v = 0; v < LANES; v++) {
        float d0 = in[0][v], d1 = in[1][v], d2 = in[2][v], d3 = in[3][v];
        out[0][v] = d0 - d2;
        out[1][v] = d1 + d2;
        out[2][v] = d2 - d1;
        out[3][v] = d1 - d3;
    }
}

/* F(2x2): out[0..1] = A^T in[0..3], A^T = [1 1 1 0; 0 1 -1 -1]. */
static inline __attribute__((always_inline)) void at2_apply(float in[6][LANES],
                                                            float out[4][LANES])
{
    for (int v = 0; v < LANES; v++) {
        out[0][v] = in[0][v] + in[1][v] + in[2][v];
        out[1][v] = in[1][v] - in[2][v] - in[3][v];
    }
}

/* B^T and A^T of F(m x m) on LANES columns (m a constant after inlining). */
static inline __attribute__((always_inline)) void bt_of(const int m, float in[6][LANES],
                                                        float out[6][LANES])
{
    if (m == 4)
        bt_apply(in, out);
    else
        bt2_apply(in, out);
}

static inline __attribute__((always_inline)) void at_of(const int m, float in[6][LANES],
                                                        float out[4][LANES])
{
    if (m == 4)
        at_apply(in, out);
    else
        at2_apply(in, out);
}

#ifdef CZ_HAVE_X86
/* d[l][k][v] = pad[off[v] + k PW + l] for the a x a tiles at off[0 ..
 * 15]: row k of the 16 tiles as 16 vectors, transposed, is columns l with
 * the tiles in the lanes. The lane loop below made a scalar load and an
 * insert per value, half of the input pass's time in densenet121. */
__attribute__((target("avx512f"))) static void
gather_tiles_avx512(int a, const float *pad, int PW, const int *off, float d[6][6][LANES])
{
    __mmask16 row = cz_first_lanes(a);
    for (int k = 0; k < a; k++) {
        __m512 r[16];
        for (int v = 0; v < 16; v++)
            r[v] = _mm512_maskz_loadu_ps(row, pad + off[v] + k * PW);
        cz_transpose16(r);
        for (int l = 0; l < a; l++)
            _mm512_storeu_ps(d[l][k], r[l]);
    }
}
#endif

/* V for LANES tiles of one channel, F(m x m) with a = m + 2: tile v's a x
 * a input starts at pad[off[v]] (row stride PW); V[xi] of lane v goes to
 * v_out[xi * xs + v]. m and avx512 are constants after inlining. */
static inline __attribute__((always_inline)) void
input_tiles(const int m, const bool avx512, const float *pad, int PW, const int *off,
            float *v_out, size_t xs)
{
    const int a = m + 2;
    float d[6][6][LANES], t[6][6][LANES]; /* [column][row] then [row i][column] */
#ifdef CZ_HAVE_X86
    if (avx512)
        gather_tiles_avx512(a, pad, PW, off, d);
    else
#endif
        for (int l = 0; l < a; l++)
            for (int k = 0; k < a; k++)
                for (int v = 0; v < LANES; v++)
                    d[l][k][v] = pad[off[v] + k * PW + l];
    float col[6][LANES];
    for (int l = 0; l < a; l++) {
        bt_of(m, d[l], col); /* column l of B^T d */
        for (int i = 0; i < a; i++)
            for (int v = 0; v < LANES; v++)
                t[i][l][v] = col[i][v];
    }
    for (int i = 0; i < a; i++) {
        bt_of(m, t[i], col); /* row i of (B^T d) B */
        for (int j = 0; j < a; j++)
            for (int v = 0; v < LANES; v++)
                v_out[(size_t)(i * a + j) * xs + v] = col[j][v];
    }
}

#ifdef CZ_HAVE_X86
/* ext[off[v] + i OWe + j] = rows[i][j][v] for the 16 m x m tiles: row i's
 * m vectors, transposed, give each tile's row in its first m lanes, one
 * masked store per tile and row where the lane loop stored a value at a
 * time. */
__attribute__((target("avx512f"))) static void
scatter_tiles_avx512(int m, const float rows[4][4][LANES], float *ext, int OWe, const int *off)
{
    __mmask16 row = cz_first_lanes(m);
    for (int i = 0; i < m; i++) {
        __m512 r[16];
        for (int j = 0; j < 16; j++)
            r[j] = j < m ? _mm512_loadu_ps(rows[i][j]) : _mm512_setzero_ps();
        cz_transpose16(r);
        for (int v = 0; v < 16; v++)
            _mm512_mask_storeu_ps(ext + off[v] + i * OWe, row, r[v]);
    }
}
#endif

/* y tiles (m x m) for LANES tiles of one output channel: m[xi] of lane v
 * at m_in[xi * xs + v]; tile v goes to ext[off[v]] (row stride OWe). */
static inline __attribute__((always_inline)) void
output_tiles(const int m, const bool avx512, const float *m_in, size_t xs, float *ext, int OWe,
             const int *off)
{
    const int a = m + 2;
    float p[6][6][LANES], s[4][6][LANES]; /* [column l][row k], then [row i][column l] */
    for (int k = 0; k < a; k++)
        for (int l = 0; l < a; l++)
            for (int v = 0; v < LANES; v++)
                p[l][k][v] = m_in[(size_t)(k * a + l) * xs + v];
    float col[4][LANES];
    for (int l = 0; l < a; l++) {
        at_of(m, p[l], col);
        for (int i = 0; i < m; i++)
            for (int v = 0; v < LANES; v++)
                s[i][l][v] = col[i][v];
    }
    float rows[4][4][LANES]; /* [row i][column j] */
    for (int i = 0; i < m; i++) {
        at_of(m, s[i], col);
        for (int j = 0; j < m; j++)
            for (int v = 0; v < LANES; v++)
                rows[i][j][v] = col[j][v];
    }
#ifdef CZ_HAVE_X86
    if (avx512) {
        scatter_tiles_avx512(m, rows, ext, OWe, off);
        return;
    }
#endif
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            for (int v = 0; v < LANES; v++)
                ext[off[v] + i * OWe + j] = rows[i][j][v];
}

/* ------------------------------------------------------ plane passes */

/* Channel c of x (H, W) -> V[xi][c][0..Tp), V[xi] at V + xi xs. pad's
 * padding is zero already (cz_winograd_conv clears it once; the planes
 * only write the same inner rows). */
static inline __attribute__((always_inline)) void
input_plane_body(const int m, const bool avx512, const cz_conv_geom *g, const wino_shape *s,
                 const float *x, float *pad, const int *in_off, float *V, size_t xs)
{
    for (int h = 0; h < g->height && h + g->pad_h < s->PH; h++) {
        int w0 = g->pad_w, n = g->width < s->PW - w0 ? g->width : s->PW - w0;
        memcpy(pad + (size_t)(h + g->pad_h) * s->PW + w0, x + (size_t)h * g->width,
               sizeof(float) * (size_t)n);
    }
    for (int t = 0; t < s->Tp; t += LANES)
        input_tiles(m, avx512, pad, s->PW, in_off + t, V + t, xs);
}

/* Output channel oc: M[xi][oc][0..Tp) -> y (OH, OW) + bias. */
static inline __attribute__((always_inline)) void
output_plane_body(const int m, const bool avx512, const cz_conv_geom *g, const wino_shape *s,
                  const float *M, size_t xs, float *ext, const int *out_off, float bias,
                  float *y)
{
    for (int t = 0; t < s->Tp; t += LANES)
        output_tiles(m, avx512, M + t, xs, ext, s->OWe, out_off + t);
    for (int oh = 0; oh < g->out_h; oh++) {
        const float *e = ext + (size_t)oh * s->OWe;
        float *out = y + (size_t)oh * g->out_w;
        for (int ow = 0; ow < g->out_w; ow++)
            out[ow] = e[ow] + bias;
    }
}

/* The plane passes for tile size M on one path, M a constant the bodies
 * specialise on. */
#define CZ_WINO_PASSES(M, suffix, attr, avx512)                                                       \
    attr static void input_plane##M##_##suffix(const cz_conv_geom *g, const wino_shape *s,     \
                                               const float *x, float *pad, const int *in_off,  \
                                               float *V, size_t xs)                            \
    {                                                                                          \
        input_plane_body(M, avx512, g, s, x, pad, in_off, V, xs);                              \
    }                                                                                          \
    attr static void output_plane##M##_##suffix(const cz_conv_geom *g, const wino_shape *s,    \
                                                const float *Mx, size_t xs, float *ext,        \
                                                const int *out_off, float bias, float *y)      \
    {                                                                                          \
        output_plane_body(M, avx512, g, s, Mx, xs, ext, out_off, bias, y);                     \
    }

CZ_WINO_PASSES(4, portable, , false)
CZ_WINO_PASSES(2, portable, , false)
#if defined(__x86_64__) || defined(__i386__)
CZ_WINO_PASSES(4, avx2, __attribute__((target("avx2,fma"))), false)
CZ_WINO_PASSES(2, avx2, __attribute__((target("avx2,fma"))), false)
CZ_WINO_PASSES(4, avx512, __attribute__((target("avx512f,fma"))), true)
CZ_WINO_PASSES(2, avx512, __attribute__((target("avx512f,fma"))), true)
#endif

typedef void (*input_plane_fn)(const cz_conv_geom *, const wino_shape *, const float *, float *,
                               const int *, float *, size_t);
typedef void (*output_plane_fn)(const cz_conv_geom *, const wino_shape *, const float *, size_t,
                                float *, const int *, float, float *);

/* The passes for tile size m on the current path. */
static void pick_passes(int m, input_plane_fn *in, output_plane_fn *out)
{
#define CZ_PICK(suffix)                                                                        \
    do {                                                                                       \
        *in = m == 4 ? input_plane4_##suffix : input_plane2_##suffix;                          \
        *out = m == 4 ? output_plane4_##suffix : output_plane2_##suffix;                       \
    } while (0)
    CZ_PICK(portable);
#if defined(__x86_64__) || defined(__i386__)
    if (cz_kernels_current() == CZ_KPATH_AVX512)
        CZ_PICK(avx512);
    else if (cz_kernels_current() == CZ_KPATH_AVX2)
        CZ_PICK(avx2);
#endif
#undef CZ_PICK
}

/* Tile t's top-left corner in the padded input and the extended output;
 * idle lanes past T read tile 0 and write the junk tile after the plane. */
static void tile_offsets(const wino_shape *s, int *in_off, int *out_off)
{
    for (int t = 0; t < s->Tp; t++) {
        if (t < s->T) {
            int ty = t / s->tw, tx = t % s->tw;
            in_off[t] = s->m * (ty * s->PW + tx);
            out_off[t] = s->m * (ty * s->OWe + tx);
        } else {
            in_off[t] = 0;
            out_off[t] = s->OHe * s->OWe;
        }
    }
}

const char *cz_winograd_name(int m)
{
    static const char *const names[2][4] = {
        {"winograd-f2x3-ref", "winograd-f2x3-portable", "winograd-f2x3-avx2",
         "winograd-f2x3-avx512"},
        {"winograd-f4x3-ref", "winograd-f4x3-portable", "winograd-f4x3-avx2",
         "winograd-f4x3-avx512"}};
    return names[m == 4][cz_kernels_current()];
}

/* Floats of one U[xi]: packed for the current path's GEMM (so the XI
 * products do not pack them again on every call), or plain where the
 * path packs nothing. */
static size_t u_stride(int OC, int C)
{
    size_t packed = cz_gemm_pack_size(OC, C);
    return packed ? packed : (size_t)OC * C;
}

size_t cz_winograd_weights_size(int m, int out_channels, int channels)
{
    return (size_t)(m + 2) * (m + 2) * u_stride(out_channels, channels);
}

bool cz_winograd_weights(int m, int OC, int C, const float *weight, float *U, int threads)
{
    int xis = (m + 2) * (m + 2);
    size_t us = (size_t)OC * C, stride = u_stride(OC, C);
    bool pack = cz_gemm_pack_size(OC, C) > 0;
    float *plain = pack ? malloc(sizeof(float) * xis * us) : U;
    if (!plain)
        return false;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < (long)us; i++) {
        if (m == 4)
            weight_tile4(weight + (size_t)i * 9, plain + i, us);
        else
            weight_tile2(weight + (size_t)i * 9, plain + i, us);
    }
    if (pack) {
        cz_packed_a pa;
#pragma omp parallel for schedule(static) num_threads(threads) private(pa)
        for (int xi = 0; xi < xis; xi++)
            cz_gemm_pack_a(false, OC, C, plain + xi * us, C, U + xi * stride, &pa);
        free(plain);
    }
    return true;
}

void cz_winograd_conv(const cz_conv_geom *g, int m, int OC, const float *U, const float *bias,
                      int N, const float *x, float *y, float *scratch, int threads,
                      const cz_gemm_epilogue *ep)
{
    wino_shape s = shape_of(g, m);
    wino_scratch w = carve(g, m, OC, scratch);
    int C = g->channels;
    size_t in_plane = (size_t)g->height * g->width, out_plane = (size_t)g->out_h * g->out_w;
    size_t vs = xi_stride(C, s.Tp), ms = xi_stride(OC, s.Tp), us = u_stride(OC, C);
    bool packed = cz_gemm_pack_size(OC, C) > 0;
    input_plane_fn input_plane;
    output_plane_fn output_plane;
    pick_passes(m, &input_plane, &output_plane);
    tile_offsets(&s, w.in_off, w.out_off);
    /* M's columns past T are never written by the GEMMs; the idle lanes
     * of the output pass read them, so keep them finite. */
    for (int xi = 0; xi < s.xis; xi++)
        for (int oc = 0; oc < OC; oc++)
            memset(w.M + xi * ms + (size_t)oc * s.Tp + s.T, 0, sizeof(float) * (size_t)(s.Tp - s.T));
#pragma omp parallel num_threads(threads)
    {
        float *mine = w.per_thread + (size_t)omp_get_thread_num() * w.thread_floats;
        float *pad = mine, *ext = mine + (size_t)s.PH * s.PW;
        memset(pad, 0, sizeof(float) * (size_t)s.PH * s.PW);
        for (int n = 0; n < N; n++) {
#pragma omp for schedule(static)
            for (int c = 0; c < C; c++)
                input_plane(g, &s, x + ((size_t)n * C + c) * in_plane, pad, w.in_off,
                            w.V + (size_t)c * s.Tp, vs);
#pragma omp for schedule(static)
            for (int xi = 0; xi < s.xis; xi++) {
                if (!packed) {
                    cz_gemm(false, false, OC, s.T, C, 1.0f, U + xi * us, C, w.V + xi * vs, s.Tp,
                            0.0f, w.M + xi * ms, s.Tp);
                    continue;
                }
                cz_packed_a pa = cz_gemm_packed_view(OC, C, U + xi * us);
                cz_gemm_packed(&pa, NULL, C, OC, s.T, C, w.V + xi * vs, s.Tp, 0.0f,
                               w.M + xi * ms, s.Tp, NULL, NULL);
            }
#pragma omp for schedule(static)
            for (int oc = 0; oc < OC; oc++) {
                float *yp = y + ((size_t)n * OC + oc) * out_plane;
                output_plane(g, &s, w.M + (size_t)oc * s.Tp, ms, ext, w.out_off,
                             bias ? bias[oc] : 0.0f, yp);
                if (ep)
                    ep->fn(ep->ctx, yp, (int)out_plane, oc, 1, (int)out_plane);
            }
        }
    }
}
