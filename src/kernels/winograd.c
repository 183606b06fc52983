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
 * tiles over output channels. At batch 1, where U is small, each thread
 * instead takes a band of tile rows through all three steps, so that V
 * and M never cross between the cores (bands_of); with a large U that was
 * slower, each thread then reading all of it.
 *
 * Rounding: the transforms add a few ulps per layer relative to direct
 * convolution (F(4x4)'s G has 1/6 and 1/24, which are inexact, and its A^T
 * an 8, which amplifies; F(2x2)'s only a 1/2): models stay within 1e-4 of
 * PyTorch, in inference and over training steps (test_train_step_torch).
 */
#include <omp.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/steal.h"

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
 * next: a transform pass reads or writes all XI of them at once
 * (cz_odd_lines). */
static size_t xi_stride(size_t rows, int Tp)
{
    return cz_odd_lines(rows * (size_t)Tp); /* Tp is whole lines */
}

/* A band: tile rows [r0, r1) of a sample, T of its tiles (Tp rounded up
 * to LANES), their transforms V and M, and where each tile lies in the
 * band's padded input and extended output. One band is the whole map; at
 * batch 1 on several threads each thread may take a band of its own
 * (bands_of). */
typedef struct wino_band {
    int r0, r1, T, Tp;
    float *V, *M;
    size_t vs, ms; /* floats from V[xi] to V[xi + 1], M[xi] to M[xi + 1] */
    int *in_off, *out_off;
} wino_band;

static size_t band_floats(int xis, int C, int OC, int Tp)
{
    return (size_t)xis * (xi_stride(C, Tp) + xi_stride(OC, Tp)) + cz_line_floats(2 * (size_t)Tp);
}

/* Band b of n: its tile rows and the share of scratch at *at. */
static wino_band carve_band(const wino_shape *s, int C, int OC, int b, int n, float **at)
{
    wino_band band;
    band.r0 = cz_part(s->th, n, b);
    band.r1 = cz_part(s->th, n, b + 1);
    band.T = (band.r1 - band.r0) * s->tw;
    band.Tp = (band.T + LANES - 1) / LANES * LANES;
    band.vs = xi_stride(C, band.Tp);
    band.ms = xi_stride(OC, band.Tp);
    band.V = *at;
    band.M = band.V + (size_t)s->xis * band.vs;
    band.in_off = (int *)(band.M + (size_t)s->xis * band.ms);
    band.out_off = band.in_off + band.Tp;
    *at += band_floats(s->xis, C, OC, band.Tp);
    return band;
}

/* Floats per thread: a padded input plane and an extended output plane. */
static size_t thread_floats(const wino_shape *s)
{
    return cz_line_floats((size_t)s->PH * s->PW + s->ext);
}

/* Scratch for n bands, then `threads` threads' planes. */
static size_t scratch_floats(const wino_shape *s, int C, int OC, int n, int threads)
{
    size_t sum = 0;
    for (int b = 0; b < n; b++) {
        int rows = cz_part(s->th, n, b + 1) - cz_part(s->th, n, b);
        sum += band_floats(s->xis, C, OC, (rows * s->tw + LANES - 1) / LANES * LANES);
    }
    return sum + (size_t)threads * thread_floats(s);
}

/* Bands at batch 1 on several threads. Splitting one map's work over
 * channels, xi and output channels (one band) sends V and M across the
 * cores between the steps, at about 230 ns a line on this VM: resnet's
 * 64 x 56 x 56 3x3 conv took 0.54 ms on one thread and 0.52 on two. A
 * band per thread keeps V and M in its core (that conv 0.47 -> 0.43 ms on
 * two threads), but each thread reads all of U: worth it while U is
 * smaller than V and M and a few MB at most (inception_v3's 192 -> 384
 * on 71 x 71, 10.6 MB of U, went 6.5 -> 7.3 ms), and while the bands
 * are even: whole tile rows, so 7 rows (28 x 28) make bands of 4 and 3,
 * and googlenet's 96 -> 128 conv there went 0.34 -> 0.44 ms. */
static int bands_of(const wino_shape *s, int C, int OC, int N, int threads)
{
    if (N != 1 || threads < 2 || (s->th % threads != 0 && s->th < 4 * threads))
        return 1;
    size_t U = (size_t)s->xis * OC * C, VM = (size_t)s->xis * (C + OC) * s->Tp;
    return U <= VM && U <= ((size_t)1 << 20) ? threads : 1;
}

size_t cz_winograd_scratch(const cz_conv_geom *g, int m, int out_channels, int threads)
{
    wino_shape s = shape_of(g, m);
    size_t one = scratch_floats(&s, g->channels, out_channels, 1, threads);
    size_t many = scratch_floats(&s, g->channels, out_channels, threads, threads);
    return one > many ? one : many;
}

/* --------------------------------------------------------- transforms */

/* F(4x4): U = G g G^T for LANES 3x3 filters at once, g[tap][lane] ->
 * u[xi][lane], G's 1/4, 1/6, 1/12 and 1/24 as divisions. */
static void weight_lanes4(float g[9][LANES], float u[36][LANES])
{
    float t[6][3][LANES];
    for (int j = 0; j < 3; j++)
        for (int v = 0; v < LANES; v++) {
            float g0 = g[j][v], g1 = g[3 + j][v], g2 = g[6 + j][v];
            t[0][j][v] = g0 / 4.0f;
            t[1][j][v] = -(g0 + g1 + g2) / 6.0f;
            t[2][j][v] = -(g0 - g1 + g2) / 6.0f;
            t[3][j][v] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
            t[4][j][v] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
            t[5][j][v] = g2;
        }
    for (int i = 0; i < 6; i++)
        for (int v = 0; v < LANES; v++) {
            float g0 = t[i][0][v], g1 = t[i][1][v], g2 = t[i][2][v];
            float *row = &u[i * 6][v];
            row[0 * LANES] = g0 / 4.0f;
            row[1 * LANES] = -(g0 + g1 + g2) / 6.0f;
            row[2 * LANES] = -(g0 - g1 + g2) / 6.0f;
            row[3 * LANES] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
            row[4 * LANES] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
            row[5 * LANES] = g2;
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

/* F(2x2): U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], for
 * LANES filters as weight_lanes4 (u[0 .. 15] used). */
static void weight_lanes2(float g[9][LANES], float u[36][LANES])
{
    float t[4][3][LANES];
    for (int j = 0; j < 3; j++)
        for (int v = 0; v < LANES; v++) {
            float g0 = g[j][v], g1 = g[3 + j][v], g2 = g[6 + j][v];
            t[0][j][v] = g0;
            t[1][j][v] = (g0 + g1 + g2) * 0.5f;
            t[2][j][v] = (g0 - g1 + g2) * 0.5f;
            t[3][j][v] = g2;
        }
    for (int i = 0; i < 4; i++)
        for (int v = 0; v < LANES; v++) {
            float g0 = t[i][0][v], g1 = t[i][1][v], g2 = t[i][2][v];
            float *row = &u[i * 4][v];
            row[0 * LANES] = g0;
            row[1 * LANES] = (g0 + g1 + g2) * 0.5f;
            row[2 * LANES] = (g0 - g1 + g2) * 0.5f;
            row[3 * LANES] = g2;
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
 * store of m floats per tile and row where the lane loop stored a value
 * at a time. Not a masked 16-lane store: this CPU charges such a store
 * whose 64 bytes cross a page as if all were written (6-10 ns against
 * 0.3), and with some placements of ext every one of them ran at about
 * 12 ns (a 32 -> 96 conv on 28x28 0.36 -> 0.13 ms on one thread). */
__attribute__((target("avx512f"))) static void
scatter_tiles_avx512(int m, const float rows[4][4][LANES], float *ext, int OWe, const int *off)
{
    for (int i = 0; i < m; i++) {
        __m512 r[16];
        for (int j = 0; j < 16; j++)
            r[j] = j < m ? _mm512_loadu_ps(rows[i][j]) : _mm512_setzero_ps();
        cz_transpose16(r);
        for (int v = 0; v < 16; v++) {
            __m128 t = _mm512_castps512_ps128(r[v]);
            if (m == 4)
                _mm_storeu_ps(ext + off[v] + i * OWe, t);
            else
                _mm_storel_pi((__m64 *)(ext + off[v] + i * OWe), t);
        }
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

/* Channel c of x (H, W) -> V[xi][c][0..Tp) for the band's tiles, V[xi]
 * at V + xi xs. pad holds the band's padded input rows, m r0 to m r1 + 2;
 * its padding is zero already (cz_winograd_conv clears it once; the
 * planes only write the same inner rows). */
static inline __attribute__((always_inline)) void
input_plane_body(const int m, const bool avx512, const cz_conv_geom *g, const wino_shape *s,
                 const wino_band *b, const float *x, float *pad, float *V, size_t xs)
{
    int first = m * b->r0 - g->pad_h, last = m * b->r1 + 2 - g->pad_h; /* input rows */
    int w0 = g->pad_w, n = g->width < s->PW - w0 ? g->width : s->PW - w0;
    for (int h = first < 0 ? 0 : first; h < g->height && h < last; h++)
        memcpy(pad + (size_t)(h - first) * s->PW + w0, x + (size_t)h * g->width,
               sizeof(float) * (size_t)n);
    for (int t = 0; t < b->Tp; t += LANES)
        input_tiles(m, avx512, pad, s->PW, b->in_off + t, V + t, xs);
}

/* Output channel oc: M[xi][oc][0..Tp) -> the band's rows of y (OH, OW),
 * plus bias. */
static inline __attribute__((always_inline)) void
output_plane_body(const int m, const bool avx512, const cz_conv_geom *g, const wino_shape *s,
                  const wino_band *b, const float *M, size_t xs, float *ext, float bias, float *y)
{
    for (int t = 0; t < b->Tp; t += LANES)
        output_tiles(m, avx512, M + t, xs, ext, s->OWe, b->out_off + t);
    int oh1 = m * b->r1 < g->out_h ? m * b->r1 : g->out_h;
    for (int oh = m * b->r0; oh < oh1; oh++) {
        const float *e = ext + (size_t)(oh - m * b->r0) * s->OWe;
        float *out = y + (size_t)oh * g->out_w;
        for (int ow = 0; ow < g->out_w; ow++)
            out[ow] = e[ow] + bias;
    }
}

/* The plane passes for tile size M on one path, M a constant the bodies
 * specialise on. */
#define CZ_WINO_PASSES(M, suffix, attr, avx512)                                                \
    attr static void input_plane##M##_##suffix(const cz_conv_geom *g, const wino_shape *s,     \
                                               const wino_band *b, const float *x, float *pad, \
                                               float *V, size_t xs)                            \
    {                                                                                          \
        input_plane_body(M, avx512, g, s, b, x, pad, V, xs);                                   \
    }                                                                                          \
    attr static void output_plane##M##_##suffix(const cz_conv_geom *g, const wino_shape *s,    \
                                                const wino_band *b, const float *Mx,           \
                                                size_t xs, float *ext, float bias, float *y)   \
    {                                                                                          \
        output_plane_body(M, avx512, g, s, b, Mx, xs, ext, bias, y);                           \
    }

CZ_WINO_PASSES(4, portable, , false)
CZ_WINO_PASSES(2, portable, , false)
#if defined(__x86_64__) || defined(__i386__)
CZ_WINO_PASSES(4, avx2, __attribute__((target("avx2,fma"))), false)
CZ_WINO_PASSES(2, avx2, __attribute__((target("avx2,fma"))), false)
CZ_WINO_PASSES(4, avx512, __attribute__((target("avx512f,fma"))), true)
CZ_WINO_PASSES(2, avx512, __attribute__((target("avx512f,fma"))), true)
#endif

typedef void (*input_plane_fn)(const cz_conv_geom *, const wino_shape *, const wino_band *,
                               const float *, float *, float *, size_t);
typedef void (*output_plane_fn)(const cz_conv_geom *, const wino_shape *, const wino_band *,
                                const float *, size_t, float *, float, float *);

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

/* The band's tile offsets: tile t's top-left corner in the band's padded
 * input and extended output (idle lanes past T read tile 0 and write the
 * junk tile after the band's rows); and M's columns past T zeroed. */
static void prepare_band(const wino_shape *s, int OC, wino_band *b)
{
    for (int t = 0; t < b->Tp; t++) {
        if (t < b->T) {
            int ty = t / s->tw, tx = t % s->tw;
            b->in_off[t] = s->m * (ty * s->PW + tx);
            b->out_off[t] = s->m * (ty * s->OWe + tx);
        } else {
            b->in_off[t] = 0;
            b->out_off[t] = s->m * (b->r1 - b->r0) * s->OWe;
        }
    }
    /* M's columns past T are never written by the GEMMs; the idle lanes
     * of the output pass read them, so keep them finite. */
    for (int i = 0; i < s->xis; i++)
        for (int oc = 0; oc < OC; oc++)
            memset(b->M + i * b->ms + (size_t)oc * b->Tp + b->T, 0,
                   sizeof(float) * (size_t)(b->Tp - b->T));
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
 * path packs nothing. (Padded to an odd number of lines, as xi_stride,
 * cz_winograd_weights took 3.3 ms for 256 x 256 on one thread, not 2.1.) */
static size_t u_stride(int OC, int C)
{
    return cz_gemm_a_floats(OC, C);
}

size_t cz_winograd_weights_size(int m, int out_channels, int channels)
{
    return (size_t)(m + 2) * (m + 2) * u_stride(out_channels, channels);
}

/* Rows i .. i + n - 1 of every U[xi] (n <= LANES; rows from OC on, a
 * sliver's padding, zero), from the filters of output channels i .. (with
 * flip, of weight's input channels i .., turned; see kernels.h):
 * written where the GEMM's pack puts them (packed), else plain (OC x C).
 * One input channel k at a time, so that each U[xi] is written in order
 * and the filters read in order. */
static void weight_rows(int m, int OC, int C, const float *weight, bool flip, float *U,
                        size_t stride, bool packed, int i, int n)
{
    int xis = (m + 2) * (m + 2);
    float g[9][LANES], u[36][LANES];
    for (int k = 0; k < C; k++) {
        for (int r = 0; r < LANES; r++)
            for (int t = 0; t < 9; t++)
                g[t][r] = r >= n || i + r >= OC ? 0.0f
                          : flip ? weight[((size_t)k * OC + i + r) * 9 + 8 - t]
                                 : weight[((size_t)(i + r) * C + k) * 9 + t];
        if (m == 4)
            weight_lanes4(g, u);
        else
            weight_lanes2(g, u);
        int rows;
        size_t at = packed ? cz_gemm_packed_index(OC, C, i, k, &rows) : (size_t)i * C + k;
        size_t step = packed ? 1 : (size_t)C;
        for (int xi = 0; xi < xis; xi++)
            for (int r = 0; r < n; r++)
                U[xi * stride + at + r * step] = i + r < OC ? u[xi][r] : 0.0f;
    }
}

/* Each thread whole slivers of rows. The transform of one filter at a
 * time into plain matrices, then cz_gemm_pack_a over each, took 10.7 ms
 * for a 256 x 256 layer on two threads, 1.0 ms this way (a training step
 * transforms them all anew); the same bits. */
void cz_winograd_weights(int m, int OC, int C, const float *weight, bool flip, float *U,
                         int threads)
{
    size_t stride = u_stride(OC, C);
    bool packed = cz_gemm_pack_size(OC, C) > 0;
    int n = LANES;
    if (packed)
        cz_gemm_packed_index(OC, C, 0, 0, &n);
    int runs = (OC + n - 1) / n;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int j = 0; j < runs; j++) /* plain: no rows past OC */
        weight_rows(m, OC, C, weight, flip, U, stride, packed, j * n,
                    packed || OC - j * n > n ? n : OC - j * n);
}

/* What every band of one call shares. */
typedef struct wino_run {
    const cz_conv_geom *g;
    wino_shape s;
    int C, OC;
    const float *U, *bias, *x;
    size_t us;
    bool packed;
    float *y;
    const cz_gemm_epilogue *ep;
    input_plane_fn input_plane;
    output_plane_fn output_plane;
    cz_steal *steal; /* one band on the team: each step's ranges, `slots` apiece */
    int slots;
} wino_run;

/* Band b of sample n: its input tiles, the xi GEMMs and its output rows
 * (then the epilogue on them), each step split over the `team` threads
 * that share the band (this one is `me`), with a barrier between the
 * steps where they share it. pad and ext are this thread's own.
 *
 * A team shares each step's items through r->steal (steal.h): a thread
 * takes its static part in order, then what another has left. Every
 * input channel, xi and output channel is one thread's, whichever, so
 * the bits stay. On two threads, paired forwards against static parts:
 * resnet18 b1 0.977 and 0.981, googlenet 0.973 and 1.000, densenet121
 * 0.986, vgg16 0.991, resnet50 0.995, inception_v3 1.004, in a stretch
 * where the two vCPUs ran 0.85-1.19x each other's speed; even where they
 * ran alike. */
static void run_band(const wino_run *r, const wino_band *b, int n, float *pad, float *ext, int me,
                     int team)
{
    const cz_conv_geom *g = r->g;
    size_t in_plane = (size_t)g->height * g->width, out_plane = (size_t)g->out_h * g->out_w;
    const float *x = r->x + (size_t)n * r->C * in_plane;
    float *y = r->y + (size_t)n * r->OC * out_plane;
    cz_steal own[3]; /* without shared ranges: this thread's static parts */
    bool shared = team > 1 && r->steal;
    int slots = shared ? r->slots : 1, mine = shared ? me : 0;
    cz_steal *in_s = shared ? r->steal : &own[0];
    cz_steal *xi_s = shared ? in_s + slots : &own[1], *out_s = shared ? xi_s + slots : &own[2];
    if (!shared) {
        cz_steal_set(in_s, cz_part(r->C, team, me), cz_part(r->C, team, me + 1));
        cz_steal_set(xi_s, cz_part(r->s.xis, team, me), cz_part(r->s.xis, team, me + 1));
        cz_steal_set(out_s, cz_part(r->OC, team, me), cz_part(r->OC, team, me + 1));
    } else if (me == 0) { /* no one takes from these before the barrier below */
        cz_steal_init(xi_s, slots, r->s.xis);
        cz_steal_init(out_s, slots, r->OC);
    }
    for (int c; (c = cz_steal_next(in_s, slots, mine)) >= 0;)
        r->input_plane(g, &r->s, b, x + c * in_plane, pad, b->V + (size_t)c * b->Tp, b->vs);
    if (team > 1) {
#pragma omp barrier
    }
    for (int xi; (xi = cz_steal_next(xi_s, slots, mine)) >= 0;) {
        float *V = b->V + xi * b->vs, *M = b->M + xi * b->ms;
        if (!r->packed) {
            cz_gemm(false, false, r->OC, b->T, r->C, 1.0f, r->U + xi * r->us, r->C, V, b->Tp,
                    0.0f, M, b->Tp);
            continue;
        }
        cz_packed_a pa = cz_gemm_packed_view(r->OC, r->C, r->U + xi * r->us);
        cz_gemm_packed(&pa, NULL, r->C, r->OC, b->T, r->C, V, b->Tp, 0.0f, M, b->Tp, NULL, NULL);
    }
    if (team > 1) {
#pragma omp barrier
    }
    int oh0 = r->s.m * b->r0, oh1 = r->s.m * b->r1 < g->out_h ? r->s.m * b->r1 : g->out_h;
    if (shared && me == 0) /* the next sample's; no one takes input channels now */
        cz_steal_init(in_s, slots, r->C);
    for (int oc; (oc = cz_steal_next(out_s, slots, mine)) >= 0;) {
        float *yp = y + (size_t)oc * out_plane;
        r->output_plane(g, &r->s, b, b->M + (size_t)oc * b->Tp, b->ms, ext,
                        r->bias ? r->bias[oc] : 0.0f, yp);
        if (r->ep)
            r->ep->fn(r->ep->ctx, yp + (size_t)oh0 * g->out_w, (int)out_plane, oc, 1,
                      (oh1 - oh0) * g->out_w);
    }
    if (team > 1) {
#pragma omp barrier
    }
}

void cz_winograd_conv(const cz_conv_geom *g, int m, int OC, const float *U, const float *bias,
                      int N, const float *x, float *y, float *scratch, int threads,
                      const cz_gemm_epilogue *ep)
{
    wino_run r = {.g = g, .s = shape_of(g, m), .C = g->channels, .OC = OC, .U = U,
                  .bias = bias, .x = x, .us = u_stride(OC, g->channels),
                  .packed = cz_gemm_pack_size(OC, g->channels) > 0, .y = y, .ep = ep};
    pick_passes(m, &r.input_plane, &r.output_plane);
    int bands = bands_of(&r.s, r.C, OC, N, threads);
    float *per_thread = scratch + scratch_floats(&r.s, r.C, OC, bands, 0);
    wino_band whole;
    cz_steal steal[3 * CZ_STEAL_MAX];
    if (bands == 1 && threads > 1 && threads <= CZ_STEAL_MAX) {
        r.steal = steal;
        r.slots = threads;
        cz_steal_init(steal, threads, r.C);
    }
    if (bands == 1) {
        float *at = scratch;
        whole = carve_band(&r.s, r.C, OC, 0, 1, &at);
        prepare_band(&r.s, OC, &whole);
    }
#pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num(), team = omp_get_num_threads();
        float *pad = per_thread + (size_t)me * thread_floats(&r.s);
        float *ext = pad + (size_t)r.s.PH * r.s.PW;
        if (bands == 1) {
            memset(pad, 0, sizeof(float) * (size_t)r.s.PH * r.s.PW);
            for (int n = 0; n < N; n++)
                run_band(&r, &whole, n, pad, ext, me, team);
        } else {
            for (int b = me; b < bands; b += team) {
                float *at = scratch;
                wino_band band;
                for (int i = 0; i <= b; i++)
                    band = carve_band(&r.s, r.C, OC, i, bands, &at);
                prepare_band(&r.s, OC, &band);
                memset(pad, 0, sizeof(float) * (size_t)r.s.PH * r.s.PW);
                run_band(&r, &band, 0, pad, ext, 0, 1);
            }
        }
    }
}
