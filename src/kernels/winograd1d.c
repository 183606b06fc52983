/*
 * winograd1d.c - 1 x r, r x 1 and 5 x 5 convolutions (stride 1) by
 * Winograd's minimal filtering in one dimension, F(m, r) (Lavin & Gray
 * 2015, along one axis of the filter): m outputs along that axis cost
 * a = m + r - 1 multiplies per (input, output) channel pair instead of
 * m r. Inception's 1x7 and 7x1 convs run F(4, 7), 10 products for 28,
 * its 1x3 and 3x1 convs F(4, 3), 6 for 12. A 5 x 5 conv runs F(4, 5) down
 * its columns and its 5 taps along the rows directly: 5 x 8 products for
 * 4 outputs against 100 (AlexNet's second conv 2.2 -> 1.2 ms on one
 * thread at batch 1, 16.8 -> 9.0 at batch 8).
 *
 * Per sample, with the filter's axis as rows (a 1 x r conv transposes
 * each input plane as it copies it, and its output planes back):
 *   U[xi] (OC x C)  = G w           the weights, a matrices (cz_winograd1d_weights,
 *                                   in double, once per set of weights)
 *   V[xi] (C x T)   = B^T d         each column of a rows, tile rows m apart:
 *                                   T = tile rows x columns
 *   M[xi] (OC x T)  = U[xi] V[xi]   a GEMMs through cz_gemm_packed (a 5 x 5 conv:
 *                                   the sum over its 5 taps j along the rows of
 *                                   U[j][xi] times V[xi] shifted by j tiles)
 *   y (m rows)      = A^T M         back to the output, plus bias
 * The transforms work on whole rows of the plane, its columns in the
 * vector lanes, so they need no gathers. Their matrices come from
 * tools/winograd1d_tables.py: B^T and A^T exact in float, G's fractions
 * applied in double.
 *
 * Each thread transforms the whole input into a V of its own, then takes
 * whole 16s of output channels through the a products (their rows of M)
 * and the output transform: no barrier, and no line that one core writes
 * and the other reads. Splitting the input transform over channels, the
 * products and the output as well made the GEMMs read half of V from the
 * other core, and the transform rewrite lines the other core had read:
 * 192 -> 192 1x7 on 17x17 alone, two threads, 0.28 -> 0.22 ms (one
 * thread 0.37), inception_v3 b1 t2 0.98 paired. (For the 3x3 Winograd,
 * whose input transform costs more, the same split lost; docs/nchwc-plan.md.)
 * Every value is one thread's, in a fixed order, so the bits depend
 * neither on the thread count nor on the batch.
 *
 * Rounding: F(4, 7) needs nine finite points (0, +-1, +-2, +-1/2, +-3/2),
 * and its transforms round more than F(4x4, 3x3)'s: in numpy, 192
 * channels, a median error of 4e-6 of the output's largest value against
 * 8e-7 for one axis of F(4, 3). F(2, 7) (8 points, 1e-6) made 1.5x the
 * products on 17x17 maps (8 x 9 tile rows against 10 x 5): inception_v3's
 * 192 -> 192 1x7 conv took 0.54-0.60 ms on one thread, 0.38-0.42 with
 * F(4, 7), 0.77 by the direct conv. inception_v3 stays within 7.3e-6 of
 * PyTorch (1.8e-6 with direct convs).
 */
#include <omp.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef CZ_HAVE_X86
#include "kernels/x86/transpose_avx512.h"
#endif

#define LANES 16
#define MAX_A 10 /* the largest a = m + r - 1 below */

/* Made by tools/winograd1d_tables.py. */
/* F(4, 7), points 0, 1, -1, 2, -2, 1/2, -1/2, 3/2, -3/2 and infinity */
static const float bt_4_7[10][10] =
    {{2.25f, 0.0f, -12.8125f, 0.0f, 17.0625f, 0.0f, -7.5f, 0.0f, 1.0f, 0.0f},
     {0.0f, -2.25f, -2.25f, 10.5625f, 10.5625f, -6.5f, -6.5f, 1.0f, 1.0f, 0.0f},
     {0.0f, 2.25f, -2.25f, -10.5625f, 10.5625f, 6.5f, -6.5f, -1.0f, 1.0f, 0.0f},
     {0.0f, -1.125f, -0.5625f, 6.125f, 3.0625f, -7.0f, -3.5f, 2.0f, 1.0f, 0.0f},
     {0.0f, 1.125f, -0.5625f, -6.125f, 3.0625f, 7.0f, -3.5f, -2.0f, 1.0f, 0.0f},
     {0.0f, -4.5f, -9.0f, 7.625f, 15.25f, -3.625f, -7.25f, 0.5f, 1.0f, 0.0f},
     {0.0f, 4.5f, -9.0f, -7.625f, 15.25f, 3.625f, -7.25f, -0.5f, 1.0f, 0.0f},
     {0.0f, -1.5f, -1.0f, 7.875f, 5.25f, -7.875f, -5.25f, 1.5f, 1.0f, 0.0f},
     {0.0f, 1.5f, -1.0f, -7.875f, 5.25f, 7.875f, -5.25f, -1.5f, 1.0f, 0.0f},
     {0.0f, 2.25f, 0.0f, -12.8125f, 0.0f, 17.0625f, 0.0f, -7.5f, 0.0f, 1.0f}};
static const float at_4_7[4][10] =
    {{1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f},
     {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 1.5f, -1.5f, 0.0f},
     {0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.25f, 0.25f, 2.25f, 2.25f, 0.0f},
     {0.0f, 1.0f, -1.0f, 8.0f, -8.0f, 0.125f, -0.125f, 3.375f, -3.375f, 1.0f}};
static const double g_4_7[10][7] =
    {{4.0 / 9, 0, 0, 0, 0, 0, 0},
     {8.0 / 45, 8.0 / 45, 8.0 / 45, 8.0 / 45, 8.0 / 45, 8.0 / 45, 8.0 / 45},
     {8.0 / 45, -8.0 / 45, 8.0 / 45, -8.0 / 45, 8.0 / 45, -8.0 / 45, 8.0 / 45},
     {2.0 / 315, 4.0 / 315, 8.0 / 315, 16.0 / 315, 32.0 / 315, 64.0 / 315, 128.0 / 315},
     {2.0 / 315, -4.0 / 315, 8.0 / 315, -16.0 / 315, 32.0 / 315, -64.0 / 315, 128.0 / 315},
     {-16.0 / 45, -8.0 / 45, -4.0 / 45, -2.0 / 45, -1.0 / 45, -1.0 / 90, -1.0 / 180},
     {-16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45, -1.0 / 45, 1.0 / 90, -1.0 / 180},
     {-16.0 / 315, -8.0 / 105, -4.0 / 35, -6.0 / 35, -9.0 / 35, -27.0 / 70, -81.0 / 140},
     {-16.0 / 315, 8.0 / 105, -4.0 / 35, 6.0 / 35, -9.0 / 35, 27.0 / 70, -81.0 / 140},
     {0, 0, 0, 0, 0, 0, 1}};
/* F(4, 5), points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity */
static const float bt_4_5[8][8] =
    {{-1.0f, 0.0f, 5.25f, 0.0f, -5.25f, 0.0f, 1.0f, 0.0f},
     {0.0f, 1.0f, 1.0f, -4.25f, -4.25f, 1.0f, 1.0f, 0.0f},
     {0.0f, -1.0f, 1.0f, 4.25f, -4.25f, -1.0f, 1.0f, 0.0f},
     {0.0f, 0.5f, 0.25f, -2.5f, -1.25f, 2.0f, 1.0f, 0.0f},
     {0.0f, -0.5f, 0.25f, 2.5f, -1.25f, -2.0f, 1.0f, 0.0f},
     {0.0f, 2.0f, 4.0f, -2.5f, -5.0f, 0.5f, 1.0f, 0.0f},
     {0.0f, -2.0f, 4.0f, 2.5f, -5.0f, -0.5f, 1.0f, 0.0f},
     {0.0f, -1.0f, 0.0f, 5.25f, 0.0f, -5.25f, 0.0f, 1.0f}};
static const float at_4_5[4][8] =
    {{1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f},
     {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 0.0f},
     {0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.25f, 0.25f, 0.0f},
     {0.0f, 1.0f, -1.0f, 8.0f, -8.0f, 0.125f, -0.125f, 1.0f}};
static const double g_4_5[8][5] =
    {{-1, 0, 0, 0, 0},
     {-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
     {-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
     {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45},
     {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45},
     {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45},
     {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45},
     {0, 0, 0, 0, 1}};
/* F(4, 3), points 0, 1, -1, 2, -2 and infinity (one axis of winograd.c's F(4x4)) */
static const float bt_4_3[6][6] = {{4.0f, 0.0f, -5.0f, 0.0f, 1.0f, 0.0f},
                                   {0.0f, -4.0f, -4.0f, 1.0f, 1.0f, 0.0f},
                                   {0.0f, 4.0f, -4.0f, -1.0f, 1.0f, 0.0f},
                                   {0.0f, -2.0f, -1.0f, 2.0f, 1.0f, 0.0f},
                                   {0.0f, 2.0f, -1.0f, -2.0f, 1.0f, 0.0f},
                                   {0.0f, 4.0f, 0.0f, -5.0f, 0.0f, 1.0f}};
static const float at_4_3[4][6] = {{1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f},
                                   {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.0f},
                                   {0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.0f},
                                   {0.0f, 1.0f, -1.0f, 8.0f, -8.0f, 1.0f}};
static const double g_4_3[6][3] = {{1.0 / 4, 0, 0},         {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

/* One F(m, r): B^T (a x a), A^T (m x a), G (a x r), row-major. */
typedef struct w1_table {
    int m, r, a;
    const float *bt, *at;
    const double *g;
} w1_table;

static const w1_table tables[] = {
    {4, 7, 10, &bt_4_7[0][0], &at_4_7[0][0], &g_4_7[0][0]},
    {4, 5, 8, &bt_4_5[0][0], &at_4_5[0][0], &g_4_5[0][0]},
    {4, 3, 6, &bt_4_3[0][0], &at_4_3[0][0], &g_4_3[0][0]},
};

/* The filter's taps along the axis Winograd runs on, or 0: a 1 x r conv
 * runs it along the rows, an r x 1 or 5 x 5 conv along the columns (a
 * 5 x 5 conv's 5 taps along the rows then sum 5 products with their
 * input shifted by one tile each). */
static int taps_of(const cz_conv_geom *g)
{
    if (g->kernel_h == 1 && g->kernel_w > 1)
        return g->kernel_w;
    if (g->kernel_h > 1 && (g->kernel_w == 1 || (g->kernel_h == 5 && g->kernel_w == 5)))
        return g->kernel_h;
    return 0;
}

static const w1_table *table_of(const cz_conv_geom *g)
{
    int r = taps_of(g);
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        if (tables[i].r == r)
            return &tables[i];
    return NULL;
}

bool cz_winograd1d_fits(const cz_conv_geom *g, int groups)
{
    return groups == 1 && table_of(g) && g->stride_h == 1 && g->stride_w == 1 &&
           g->dilation == 1 && g->pad_h >= 0 && g->pad_w >= 0;
}

/* The direct taps along the other axis: a 1 x r or r x 1 conv's 1, a
 * 5 x 5 conv's 5. */
static int other_taps(const cz_conv_geom *g)
{
    return g->kernel_h == 1 ? 1 : g->kernel_w;
}

/* The sizes of one conv, the filter's axis as rows ("along"): */
typedef struct w1_shape {
    const w1_table *t;
    bool across; /* 1 x r: the filter runs along the input's rows */
    int L, lo;   /* input length along the filter, padding before it */
    int Qin, qo; /* the other axis: input length, padding before it */
    int taps;    /* the filter's taps along the other axis (1, or 5 for 5 x 5) */
    int Q, Qo;   /* columns of the padded input (the other axis) and of the output */
    int OL;      /* output rows (along) */
    int th, T;   /* tile rows (m output rows each), tiles th Q */
    int Tp;      /* T rounded up to whole lines: V's and M's row stride */
    int PL;      /* rows of the padded plane: m th + r - 1 */
    size_t vs, ms; /* floats from V[xi] to V[xi + 1], M[xi] to M[xi + 1] */
} w1_shape;

static w1_shape shape_of(const cz_conv_geom *g, int C, int OC)
{
    w1_shape s;
    s.t = table_of(g);
    s.across = g->kernel_h == 1;
    s.L = s.across ? g->width : g->height;
    s.lo = s.across ? g->pad_w : g->pad_h;
    s.Qin = s.across ? g->height : g->width;
    s.qo = s.across ? g->pad_h : g->pad_w;
    s.taps = other_taps(g);
    s.Q = s.Qin + 2 * s.qo;
    s.Qo = s.across ? g->out_h : g->out_w;
    s.OL = s.across ? g->out_w : g->out_h;
    s.th = (s.OL + s.t->m - 1) / s.t->m;
    s.T = s.th * s.Q;
    s.Tp = (int)cz_line_floats((size_t)s.T);
    s.PL = s.t->m * s.th + s.t->r - 1;
    s.vs = cz_odd_lines((size_t)C * s.Tp);
    s.ms = cz_odd_lines((size_t)OC * s.Tp);
    return s;
}

/* Floats per thread: its V, the padded input plane, then the output rows
 * of a 1 x r conv before they are turned. */
static size_t thread_floats(const w1_shape *s)
{
    return (size_t)s->t->a * s->vs + cz_line_floats((size_t)s->PL * s->Q) +
           cz_line_floats((size_t)s->OL * s->Qo);
}

size_t cz_winograd1d_scratch(const cz_conv_geom *g, int out_channels, int threads)
{
    w1_shape s = shape_of(g, g->channels, out_channels);
    return (size_t)s.t->a * s.ms + (size_t)threads * thread_floats(&s);
}

/* ---------------------------------------------------------- transforms */

/* dst row j (j < rows, dst + j ds) = add + sum over k < a of mat[j][k]
 * times src row k (src + k ss), for n columns. rows and a are constants
 * after inlining. */
static inline __attribute__((always_inline)) void
rows_apply(const float *mat, const int rows, const int a, const float *src, size_t ss, int n,
           float *dst, size_t ds, float add)
{
    for (int q0 = 0; q0 < n; q0 += LANES) {
        int w = n - q0 < LANES ? n - q0 : LANES;
        float d[MAX_A][LANES];
        for (int k = 0; k < a; k++)
            for (int v = 0; v < LANES; v++)
                d[k][v] = v < w ? src[k * ss + q0 + v] : 0.0f;
        for (int j = 0; j < rows; j++) {
            float acc[LANES];
            for (int v = 0; v < LANES; v++)
                acc[v] = add;
            for (int k = 0; k < a; k++)
                for (int v = 0; v < LANES; v++)
                    acc[v] += mat[j * a + k] * d[k][v];
            for (int v = 0; v < w; v++)
                dst[j * ds + q0 + v] = acc[v];
        }
    }
}

#ifdef CZ_HAVE_X86
/* rows_apply in zmm registers: the a source rows of 16 columns loaded
 * once, each output row a chain of a FMAs. */
static inline __attribute__((always_inline, target("avx512f,fma"))) void
rows_apply_avx512(const float *mat, const int rows, const int a, const float *src, size_t ss,
                  int n, float *dst, size_t ds, float add)
{
    for (int q0 = 0; q0 < n; q0 += LANES) {
        __mmask16 live = cz_first_lanes(n - q0);
        __m512 d[MAX_A];
        for (int k = 0; k < a; k++)
            d[k] = _mm512_maskz_loadu_ps(live, src + k * ss + q0);
        for (int j = 0; j < rows; j++) {
            __m512 acc = _mm512_set1_ps(add);
            for (int k = 0; k < a; k++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(mat[j * a + k]), d[k], acc);
            _mm512_mask_storeu_ps(dst + j * ds + q0, live, acc);
        }
    }
}
#endif

/* dst[j][i] = src[i][j] for i < rows, j < cols (row strides ss, ds): a
 * 1 x r conv's planes turned in and out. */
static inline __attribute__((always_inline)) void
turn(const float *src, int rows, int cols, size_t ss, float *dst, size_t ds)
{
    for (int j = 0; j < cols; j++)
        for (int i = 0; i < rows; i++)
            dst[(size_t)j * ds + i] = src[(size_t)i * ss + j];
}

#ifdef CZ_HAVE_X86
/* turn by 16 x 16 blocks in zmm registers. */
static inline __attribute__((always_inline, target("avx512f"))) void
turn_avx512(const float *src, int rows, int cols, size_t ss, float *dst, size_t ds)
{
    for (int i0 = 0; i0 < rows; i0 += 16)
        for (int j0 = 0; j0 < cols; j0 += 16) {
            int h = rows - i0 < 16 ? rows - i0 : 16, w = cols - j0 < 16 ? cols - j0 : 16;
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < h ? _mm512_maskz_loadu_ps(cz_first_lanes(w), src + (i0 + i) * ss + j0)
                             : _mm512_setzero_ps();
            cz_transpose16(r);
            for (int j = 0; j < w; j++)
                _mm512_mask_storeu_ps(dst + (j0 + j) * ds + i0, cz_first_lanes(h), r[j]);
        }
}
#endif

/* rows_apply or its zmm form, turn or its zmm form: constants after
 * inlining. */
typedef void (*rows_fn)(const float *, int, int, const float *, size_t, int, float *, size_t,
                        float);
typedef void (*turn_fn)(const float *, int, int, size_t, float *, size_t);

/* Channel c of one sample's x -> V[xi][c][0 .. T). pad is this thread's
 * padded plane (PL x Q), its border zero already: only the input's own
 * rows and columns are written, the same ones for every channel. */
static inline __attribute__((always_inline)) void
input_plane_body(const int m, const int a, const rows_fn apply, const turn_fn turn_plane,
                 const w1_shape *s, const float *x, float *pad, float *V)
{
    if (s->across) /* x is Qin rows of L: pad[lo + l][qo + q] = x[q][l] */
        turn_plane(x, s->Qin, s->L, (size_t)s->L, pad + (size_t)s->lo * s->Q + s->qo,
                   (size_t)s->Q);
    else
        for (int l = 0; l < s->L; l++)
            memcpy(pad + (size_t)(s->lo + l) * s->Q + s->qo, x + (size_t)l * s->Qin,
                   sizeof(float) * (size_t)s->Qin);
    for (int i = 0; i < s->th; i++)
        apply(s->t->bt, a, a, pad + (size_t)i * m * s->Q, s->Q, s->Q, V + (size_t)i * s->Q,
              s->vs, 0.0f);
}

/* Output channel oc: M[xi][oc][0 .. T) -> its output plane y, plus bias.
 * A 1 x r conv's rows go to ext first, then turned into y. */
static inline __attribute__((always_inline)) void
output_plane_body(const int m, const int a, const rows_fn apply, const turn_fn turn_plane,
                  const w1_shape *s, const float *M, float *ext, float bias, float *y)
{
    float *rows = s->across ? ext : y;
    for (int i = 0; i < s->th; i++) {
        int n = s->OL - i * m < m ? s->OL - i * m : m;
        const float *src = M + (size_t)i * s->Q;
        float *dst = rows + (size_t)i * m * s->Qo;
        if (n == m) /* a constant row count for all but a ragged last tile row */
            apply(s->t->at, m, a, src, s->ms, s->Qo, dst, s->Qo, bias);
        else
            apply(s->t->at, n, a, src, s->ms, s->Qo, dst, s->Qo, bias);
    }
    if (s->across) /* ext is OL rows of Qo: y[q][l] = ext[l][q] */
        turn_plane(ext, s->OL, s->Qo, (size_t)s->Qo, y, (size_t)s->OL);
}

/* The plane passes of F(M, R) on one path, M and R constants the bodies
 * specialise on. */
#define CZ_W1_PASSES(M, R, suffix, attr, apply, turn_plane)                                   \
    attr static void input_plane_##M##_##R##_##suffix(const w1_shape *s, const float *x,       \
                                                      float *pad, float *V)                    \
    {                                                                                          \
        input_plane_body(M, M + R - 1, apply, turn_plane, s, x, pad, V);                      \
    }                                                                                          \
    attr static void output_plane_##M##_##R##_##suffix(const w1_shape *s, const float *Mx,     \
                                                       float *ext, float bias, float *y)       \
    {                                                                                          \
        output_plane_body(M, M + R - 1, apply, turn_plane, s, Mx, ext, bias, y);              \
    }

CZ_W1_PASSES(4, 7, portable, , rows_apply, turn)
CZ_W1_PASSES(4, 5, portable, , rows_apply, turn)
CZ_W1_PASSES(4, 3, portable, , rows_apply, turn)
#ifdef CZ_HAVE_X86
CZ_W1_PASSES(4, 7, avx2, __attribute__((target("avx2,fma"))), rows_apply, turn)
CZ_W1_PASSES(4, 5, avx2, __attribute__((target("avx2,fma"))), rows_apply, turn)
CZ_W1_PASSES(4, 3, avx2, __attribute__((target("avx2,fma"))), rows_apply, turn)
CZ_W1_PASSES(4, 7, avx512, __attribute__((target("avx512f,fma"))), rows_apply_avx512, turn_avx512)
CZ_W1_PASSES(4, 5, avx512, __attribute__((target("avx512f,fma"))), rows_apply_avx512, turn_avx512)
CZ_W1_PASSES(4, 3, avx512, __attribute__((target("avx512f,fma"))), rows_apply_avx512, turn_avx512)
#endif

typedef void (*input_plane_fn)(const w1_shape *, const float *, float *, float *);
typedef void (*output_plane_fn)(const w1_shape *, const float *, float *, float, float *);

/* The passes of each table (in tables[]'s order) on each fast path:
 * portable, AVX2, AVX-512. */
typedef struct w1_passes {
    input_plane_fn in;
    output_plane_fn out;
} w1_passes;
#define CZ_W1_ENTRY(M, R, suffix) {input_plane_##M##_##R##_##suffix, output_plane_##M##_##R##_##suffix}
#ifdef CZ_HAVE_X86
#define CZ_W1_PATHS(M, R)                                                                      \
    {CZ_W1_ENTRY(M, R, portable), CZ_W1_ENTRY(M, R, avx2), CZ_W1_ENTRY(M, R, avx512)}
#else
#define CZ_W1_PATHS(M, R)                                                                      \
    {CZ_W1_ENTRY(M, R, portable), CZ_W1_ENTRY(M, R, portable), CZ_W1_ENTRY(M, R, portable)}
#endif
static const w1_passes passes[][3] = {CZ_W1_PATHS(4, 7), CZ_W1_PATHS(4, 5), CZ_W1_PATHS(4, 3)};

/* Which of tables[] g runs, and its passes on the current path. */
static w1_passes pick_passes(const w1_shape *s)
{
    cz_kpath path = cz_kernels_current();
    return passes[s->t - tables][path == CZ_KPATH_AVX512 ? 2 : path == CZ_KPATH_AVX2 ? 1 : 0];
}

const char *cz_winograd1d_name(const cz_conv_geom *g)
{
    static const char *const names[][4] = {
        {"winograd1d-f4x7-ref", "winograd1d-f4x7-portable", "winograd1d-f4x7-avx2",
         "winograd1d-f4x7-avx512"},
        {"winograd1d-f4x5-ref", "winograd1d-f4x5-portable", "winograd1d-f4x5-avx2",
         "winograd1d-f4x5-avx512"},
        {"winograd1d-f4x3-ref", "winograd1d-f4x3-portable", "winograd1d-f4x3-avx2",
         "winograd1d-f4x3-avx512"}};
    return names[table_of(g) - tables][cz_kernels_current()];
}

/* ------------------------------------------------------------ weights */

size_t cz_winograd1d_weights_size(const cz_conv_geom *g, int out_channels)
{
    return (size_t)other_taps(g) * table_of(g)->a * cz_gemm_a_floats(out_channels, g->channels);
}

/* U[j][xi][oc][c] = sum over the taps k along Winograd's axis of
 * G[xi][k] w[oc][c] at (k, j), j the tap along the other axis; in double,
 * written where the GEMM's pack puts (oc, c) (rows past OC zero). */
void cz_winograd1d_weights(const cz_conv_geom *g, int OC, const float *weight, float *U)
{
    const w1_table *t = table_of(g);
    int C = g->channels, r = t->r, taps = other_taps(g);
    size_t stride = cz_gemm_a_floats(OC, C);
    bool packed = cz_gemm_pack_size(OC, C) > 0;
    memset(U, 0, sizeof(float) * stride * (size_t)(t->a * taps));
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++) {
            const float *w = weight + ((size_t)oc * C + c) * r * taps;
            int rows;
            size_t at = packed ? cz_gemm_packed_index(OC, C, oc, c, &rows) : (size_t)oc * C + c;
            for (int j = 0; j < taps; j++)
                for (int xi = 0; xi < t->a; xi++) {
                    double u = 0.0;
                    for (int k = 0; k < r; k++) /* a 1 x r filter's taps: k; r x s: k s + j */
                        u += t->g[xi * r + k] * w[k * taps + j];
                    U[(size_t)(j * t->a + xi) * stride + at] = (float)u;
                }
        }
}

/* --------------------------------------------------------------- conv */

void cz_winograd1d_conv(const cz_conv_geom *g, int OC, const float *U, const float *bias, int N,
                        const float *x, float *y, float *scratch, int threads,
                        const cz_gemm_epilogue *ep)
{
    int C = g->channels;
    w1_shape s = shape_of(g, C, OC);
    const int a = s.t->a;
    w1_passes pass = pick_passes(&s);
    size_t us = cz_gemm_a_floats(OC, C), in_plane = (size_t)g->height * g->width,
           out_plane = (size_t)g->out_h * g->out_w;
    bool packed = cz_gemm_pack_size(OC, C) > 0;
    int mr = 1; /* the GEMM's tile height: a thread's rows start on a sliver */
    if (packed)
        cz_gemm_packed_index(OC, C, 0, 0, &mr);
    float *M = scratch, *per_thread = M + (size_t)a * s.ms;
#pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num(), team = omp_get_num_threads();
        float *V = per_thread + (size_t)me * thread_floats(&s);
        float *pad = V + (size_t)a * s.vs;
        float *ext = pad + cz_line_floats((size_t)s.PL * s.Q);
        memset(pad, 0, sizeof(float) * (size_t)s.PL * s.Q);
        /* This thread's output channels, in whole slivers of U's rows. */
        int slivers = (OC + mr - 1) / mr;
        int o0 = mr * cz_part(slivers, team, me), o1 = mr * cz_part(slivers, team, me + 1);
        o0 = o0 < OC ? o0 : OC, o1 = o1 < OC ? o1 : OC;
        for (int n = 0; n < N; n++) {
            const float *xn = x + (size_t)n * C * in_plane;
            float *yn = y + (size_t)n * OC * out_plane;
            for (int c = 0; c < C && o1 > o0; c++)
                pass.in(&s, xn + c * in_plane, pad, V + (size_t)c * s.Tp);
            /* M[xi] = sum over the taps j along the other axis of U[j][xi]
             * times V[xi] shifted by j tiles: output tile t reads input tile
             * t + j (the columns past Qo of each tile row are not used). */
            for (int xi = 0; xi < a && o1 > o0; xi++)
                for (int j = 0; j < s.taps; j++) {
                    const float *Vx = V + xi * s.vs + j, *Uj = U + (size_t)(j * a + xi) * us;
                    float *Mx = M + xi * s.ms + (size_t)o0 * s.Tp;
                    float beta = j ? 1.0f : 0.0f;
                    int cols = s.T - s.taps + 1;
                    if (!packed) {
                        cz_gemm(false, false, o1 - o0, cols, C, 1.0f, Uj + (size_t)o0 * C, C, Vx,
                                s.Tp, beta, Mx, s.Tp);
                        continue;
                    }
                    cz_packed_a pa = cz_gemm_packed_view(OC, C, Uj);
                    cz_gemm_packed_rows(&pa, o0, o1 - o0, cols, C, Vx, s.Tp, beta, Mx, s.Tp);
                }
            for (int oc = o0; oc < o1; oc++) {
                float *yp = yn + (size_t)oc * out_plane;
                pass.out(&s, M + (size_t)oc * s.Tp, ext, bias ? bias[oc] : 0.0f, yp);
                if (ep)
                    ep->fn(ep->ctx, yp, (int)out_plane, oc, 1, (int)out_plane);
            }
        }
    }
}
