/*
 * depthwise.c - direct depthwise convolution, one (H, W) plane at a time
 * (MobileNet, EfficientNet, ShuffleNet: 3x3 and 5x5, stride 1 and 2).
 * Through im2col + GEMM each channel would be a 1-row GEMM that wastes
 * most of a register tile, and the column matrix would be KH x KW times
 * the plane.
 *
 * The plane is first copied into a zero-padded buffer, so no tap needs a
 * bounds test. Then each vector of VL outputs along a row is a sum of
 * KH x KW taps, each one unaligned load (stride 1) or a shuffle that
 * keeps the even lanes (stride 2), times a broadcast weight.
 * Four output rows are summed side by side: four independent FMA chains
 * hide the FMA latency even on 7-wide planes, where a row is one vector.
 * The buffer has 3 x stride_h spare zero rows and a tail of slack so the
 * fourth row and the last vector of a row may read past the plane; those
 * lanes are computed and never stored.
 *
 * One body (depthwise_body.h) is compiled per path with its vector
 * operations: AVX-512 (16 lanes), AVX2 + FMA (8), and plain C (8 lanes of
 * a struct the compiler vectorises where it can). Column strides above 2
 * (none in the zoo) run on the reference kernel. On AVX-512 the 3x3 and
 * 5x5 kernels skip the copy: masked loads give the padding's zeros
 * (dw_plane_nocopy_avx512, the same bits).
 */
#include <string.h>

#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "kernels/x86/transpose_avx512.h"
#endif

/* Output rows summed together, and the widest vector of any path. */
#define ROWS 4
#define MAX_VL 16

typedef struct dw_layout {
    int PH, PW;  /* padded plane: rows (with ROWS - 1 spare) and width */
    size_t size; /* floats of the padded plane with its slack */
} dw_layout;

static dw_layout layout(const cz_conv_geom *g)
{
    dw_layout l;
    l.PW = g->width + 2 * g->pad_w;
    l.PH = g->height + 2 * g->pad_h + (ROWS - 1) * g->stride_h;
    /* A row's last vector starts at most s (OW - 1) + d (KW - 1) <= PW - 1
     * floats into its row and reads VL floats (stride 1) or 2 VL (stride
     * 2; AVX512_EVEN_NEXT reads 3 VL from tap 0's start, s (OW - 1) <=
     * PW - KW): under 3 VL past the row's end, which the slack covers. */
    l.size = (size_t)l.PH * l.PW + (size_t)(g->stride_w + 2) * MAX_VL;
    return l;
}

size_t cz_depthwise_scratch(const cz_conv_geom *g)
{
    /* Room for cz_depthwise_planes16's buffer too. */
    size_t size = layout(g).size, blocked = cz_planes16_scratch(g);
    return blocked > size ? blocked : size;
}

/* ------------------------------------------------------------- portable */

#define PORT_VL 8
typedef struct {
    float v[PORT_VL];
} port_vec;

static inline port_vec port_zero(void)
{
    return (port_vec){{0}};
}
static inline port_vec port_set1(float x)
{
    port_vec r;
    for (int i = 0; i < PORT_VL; i++)
        r.v[i] = x;
    return r;
}
static inline port_vec port_load(const float *p)
{
    port_vec r;
    memcpy(r.v, p, sizeof r.v);
    return r;
}
static inline port_vec port_even(const float *p)
{
    port_vec r;
    for (int i = 0; i < PORT_VL; i++)
        r.v[i] = p[2 * i];
    return r;
}
static inline port_vec port_fma(port_vec a, port_vec b, port_vec c)
{
    for (int i = 0; i < PORT_VL; i++)
        c.v[i] += a.v[i] * b.v[i];
    return c;
}
static inline port_vec port_add(port_vec a, port_vec b)
{
    for (int i = 0; i < PORT_VL; i++)
        a.v[i] += b.v[i];
    return a;
}
static inline port_vec port_load_n(const float *p, int n)
{
    port_vec r = port_zero();
    memcpy(r.v, p, sizeof(float) * (size_t)n);
    return r;
}
static inline void port_store(float *p, port_vec a)
{
    memcpy(p, a.v, sizeof a.v);
}
static inline void port_store_n(float *p, port_vec a, int n)
{
    memcpy(p, a.v, sizeof(float) * (size_t)n);
}

#define DW_SUFFIX portable
#define DW_TARGET
#define DW_VL PORT_VL
#define DW_VEC port_vec
#define DW_ZERO() port_zero()
#define DW_SET1(x) port_set1(x)
#define DW_LOAD(p) port_load(p)
#define DW_LOAD_N(p, n) port_load_n(p, n)
#define DW_LOAD_EVEN(p) port_even(p)
#define DW_EVEN_NEXT(row, j, older) ((void)(older), port_even((row) + (j)))
#define DW_FMA(a, b, c) port_fma(a, b, c)
#define DW_ADD(a, b) port_add(a, b)
#define DW_STORE(p, a) port_store(p, a)
#define DW_STORE_N(p, a, n) port_store_n(p, a, n)
#include "kernels/depthwise_body.h"

#if defined(__x86_64__) || defined(__i386__)
/* --------------------------------------------------------------- AVX2 */

/* Lanes 0, 2, .., 14 of the 16 floats at p. */
#define AVX2_EVEN(p)                                                                          \
    _mm256_castpd_ps(_mm256_permute4x64_pd(                                                   \
        _mm256_castps_pd(_mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps((p) + 8),      \
                                           _MM_SHUFFLE(2, 0, 2, 0))),                         \
        _MM_SHUFFLE(3, 1, 2, 0)))
#define AVX2_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))

#define DW_SUFFIX avx2
#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_VL 8
#define DW_VEC __m256
#define DW_ZERO() _mm256_setzero_ps()
#define DW_SET1(x) _mm256_set1_ps(x)
#define DW_LOAD(p) _mm256_loadu_ps(p)
#define DW_LOAD_N(p, n) _mm256_maskload_ps(p, AVX2_MASK(n))
#define DW_LOAD_EVEN(p) AVX2_EVEN(p)
#define DW_EVEN_NEXT(row, j, older) ((void)(older), AVX2_EVEN((row) + (j)))
#define DW_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define DW_ADD(a, b) _mm256_add_ps(a, b)
#define DW_STORE(p, a) _mm256_storeu_ps(p, a)
#define DW_STORE_N(p, a, n) _mm256_maskstore_ps(p, AVX2_MASK(n), a)
#include "kernels/depthwise_body.h"

/* ------------------------------------------------------------- AVX-512 */

#define AVX512_EVEN(p)                                                                        \
    _mm512_permutex2var_ps(_mm512_loadu_ps(p),                                                \
                           _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,   \
                                             26, 28, 30),                                     \
                           _mm512_loadu_ps((p) + 16))

#define AVX512_MASK(n) ((__mmask16)((1u << (n)) - 1u))

/* Stride 2: the even lanes from row + j. Taps 0 and 1 are the even and
 * odd lanes of row's 32 floats; tap j >= 2 is tap j - 2 moved down one
 * lane, with lane 15 from the next 16 floats. Three loads a row for any
 * KW, where one AVX512_EVEN per tap made two (3x3: 6 loads and 3
 * permutes a row, now 3 and 3). */
#define AVX512_EVEN_NEXT(row, j, older)                                                       \
    ((j) < 2 ? _mm512_permutex2var_ps(_mm512_loadu_ps(row),                                   \
                                      _mm512_add_epi32(_mm512_setr_epi32(0, 2, 4, 6, 8, 10,   \
                                                                         12, 14, 16, 18, 20,  \
                                                                         22, 24, 26, 28, 30), \
                                                       _mm512_set1_epi32(j)),                 \
                                      _mm512_loadu_ps((row) + 16))                            \
             : _mm512_permutex2var_ps(older,                                                  \
                                      _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,    \
                                                        12, 13, 14, 15, 16 + (j) - 2),        \
                                      _mm512_loadu_ps((row) + 32)))

#define DW_SUFFIX avx512
#define DW_TARGET __attribute__((target("avx512f,fma")))
#define DW_VL 16
#define DW_VEC __m512
#define DW_ZERO() _mm512_setzero_ps()
#define DW_SET1(x) _mm512_set1_ps(x)
#define DW_LOAD(p) _mm512_loadu_ps(p)
#define DW_LOAD_N(p, n) _mm512_maskz_loadu_ps(AVX512_MASK(n), p)
#define DW_LOAD_EVEN(p) AVX512_EVEN(p)
#define DW_EVEN_NEXT(row, j, older) AVX512_EVEN_NEXT(row, j, older)
#define DW_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define DW_ADD(a, b) _mm512_add_ps(a, b)
#define DW_STORE(p, a) _mm512_storeu_ps(p, a)
#define DW_STORE_N(p, a, n) _mm512_mask_storeu_ps(p, AVX512_MASK(n), a)
#include "kernels/depthwise_body.h"

/* Without the padded copy (3x3 and 5x5, stride 1 or 2, no dilation),
 * which was about 45% of a stride-2 112x112 plane's time: tap rows are
 * the plane's own rows, or a zero row in the padding, and lanes outside
 * the row are masked to zero. The padded copy held zeros in the same
 * places, and each output sums the same products in the same order as
 * dw_rows_avx512 (at stride 2 taps 0, 1 and j - 2 shifted, as
 * AVX512_EVEN_NEXT makes them), so the same bits. Lanes of outputs past
 * OW read the row's neighbours there and zeros here; they are never
 * stored. */
#define DW_TARGET_AVX512 __attribute__((target("avx512f,fma")))

enum { MAX_K = 5 };

DW_TARGET_AVX512 static inline __attribute__((always_inline)) void
dw_rows_nocopy_avx512(const cz_conv_geom *g, const float *x, const float *zero, const float *w,
                      float bias, float *y, int oh, const int S, const int K)
{
    int OW = g->out_w, W = g->width, span = S * (ROWS - 1) + K;
    int rows = g->out_h - oh < ROWS ? g->out_h - oh : ROWS;
    const float *in[2 * (ROWS - 1) + MAX_K];
    for (int q = 0; q < span; q++) {
        int ih = S * oh - g->pad_h + q;
        in[q] = ih >= 0 && ih < g->height ? x + (size_t)ih * W : zero;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    __m512 b = _mm512_set1_ps(bias);
    for (int ow = 0; ow < OW; ow += 16) {
        int c0 = S * ow - g->pad_w; /* tap 0's first column */
        /* Stride 1: tap j's lanes; stride 2: the 48 columns from c0. */
        __mmask16 m[MAX_K];
        /* Inside the row, every lane: no masks to make (the same loads). */
        bool inner = c0 >= 0 && c0 + (S == 1 ? K - 1 + 16 : 48) <= W;
#pragma GCC unroll 8
        for (int j = 0; j < MAX_K; j++)
            m[j] = inner ? (__mmask16)0xFFFF
                   : S == 1 ? cz_lane_range(-c0 - j, W - c0 - j)
                            : cz_lane_range(-c0 - 16 * j, W - c0 - 16 * j);
        __m512 acc[ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++)
            acc[r] = _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int q = 0; q < span; q++) {
            const float *row = in[q] + c0;
            __m512 lo = _mm512_setzero_ps(), hi = lo, next = lo, older = lo, old = lo;
            if (S == 2) {
                lo = _mm512_maskz_loadu_ps(m[0], row);
                hi = _mm512_maskz_loadu_ps(m[1], row + 16);
                if (K > 2)
                    next = _mm512_maskz_loadu_ps(m[2], row + 32);
            }
#pragma GCC unroll 8
            for (int j = 0; j < K; j++) {
                __m512 v;
                if (S == 1)
                    v = _mm512_maskz_loadu_ps(m[j], row + j);
                else if (j < 2)
                    v = _mm512_permutex2var_ps(lo, _mm512_add_epi32(even, _mm512_set1_epi32(j)),
                                               hi);
                else
                    v = _mm512_permutex2var_ps(older,
                                               _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                                 11, 12, 13, 14, 15, 16 + j - 2),
                                               next);
                older = old, old = v;
#pragma GCC unroll 8
                for (int r = 0; r < ROWS; r++) {
                    int t = q - S * r; /* tap row */
                    if (t >= 0 && t < K)
                        acc[r] = _mm512_fmadd_ps(v, _mm512_set1_ps(w[t * K + j]), acc[r]);
                }
            }
        }
        __mmask16 keep = cz_lane_range(0, OW - ow);
        for (int r = 0; r < rows; r++)
            _mm512_mask_storeu_ps(y + (size_t)(oh + r) * OW + ow, keep,
                                  _mm512_add_ps(acc[r], b));
    }
}

/* Whether dw_plane_nocopy_avx512 takes g. */
static bool nocopy_takes(const cz_conv_geom *g)
{
    return g->stride_h == g->stride_w && g->stride_h <= 2 && g->dilation == 1 &&
           g->kernel_h == g->kernel_w && (g->kernel_h == 3 || g->kernel_h == 5);
}

/* Asks for the input rows that output rows oh .. oh + ROWS - 1 read and
 * the rows before do not. At stride 2 a wide plane (mobilenet_v2's 96
 * planes of 112x112 after its first expansion, 4.8 MB, out of L2) is read
 * at two input rows per output row, faster than the hardware prefetcher
 * brings them: with this, that layer 0.29 -> 0.20 ms on one thread. */
DW_TARGET_AVX512 static void prefetch_next_rows(const cz_conv_geom *g, const float *x, int oh)
{
    int s = g->stride_h, k = g->kernel_h;
    int first = s * oh - g->pad_h + (k > s ? k - s : 0);
    int last = s * (oh + ROWS - 1) - g->pad_h + k; /* past the last row read */
    for (int ih = first > 0 ? first : 0; ih < last && ih < g->height; ih++)
        cz_prefetch_floats(x + (size_t)ih * g->width, (size_t)g->width);
}

/* scratch: W floats, made a zero row. */
DW_TARGET_AVX512 static void dw_plane_nocopy_avx512(const cz_conv_geom *g, const float *x,
                                                    const float *w, float bias, float *y,
                                                    float *scratch)
{
    memset(scratch, 0, sizeof(float) * (size_t)g->width);
    int s = g->stride_h, k = g->kernel_h;
    for (int oh = 0; oh < g->out_h; oh += ROWS) {
        if (s == 2 && g->width >= 56)
            prefetch_next_rows(g, x, oh + ROWS);
        if (s == 1 && k == 3)
            dw_rows_nocopy_avx512(g, x, scratch, w, bias, y, oh, 1, 3);
        else if (s == 1)
            dw_rows_nocopy_avx512(g, x, scratch, w, bias, y, oh, 1, 5);
        else if (k == 3)
            dw_rows_nocopy_avx512(g, x, scratch, w, bias, y, oh, 2, 3);
        else
            dw_rows_nocopy_avx512(g, x, scratch, w, bias, y, oh, 2, 5);
    }
}

#endif

void cz_depthwise_plane(const cz_conv_geom *g, const float *x, const float *w, float bias,
                        float *y, float *scratch)
{
    cz_kpath path = cz_kernels_current();
    if (path == CZ_KPATH_REF || g->stride_w > 2) {
        cz_depthwise_plane_ref(g, x, w, bias, y);
        return;
    }
    dw_layout l = layout(g);
    switch (path) {
#if defined(__x86_64__) || defined(__i386__)
    case CZ_KPATH_AVX2:
        dw_plane_avx2(g, &l, x, w, bias, y, scratch);
        return;
    case CZ_KPATH_AVX512:
        if (nocopy_takes(g))
            dw_plane_nocopy_avx512(g, x, w, bias, y, scratch);
        else
            dw_plane_avx512(g, &l, x, w, bias, y, scratch);
        return;
#endif
    default:
        dw_plane_portable(g, &l, x, w, bias, y, scratch);
    }
}

const char *cz_depthwise_name(void)
{
    static const char *const names[] = {"depthwise-ref", "depthwise-portable", "depthwise-avx2",
                                        "depthwise-avx512"};
    return names[cz_kernels_current()];
}
