/*
 * kernels.h - the hot loops shared by ops: GEMM, im2col/col2im and the
 * direct depthwise convolution.
 *
 * Every kernel has a plain-C reference (ref/, the oracle the tests trust)
 * and fast paths chosen once at run time by cpuid: "avx512" (AVX-512F),
 * "avx2" (AVX2 + FMA) and "portable" (blocked C the compiler vectorises,
 * runs anywhere). The environment variable CZ_KERNELS=ref|portable|avx2|
 * avx512 or cz_kernels_force() overrides the choice, so tests can run each
 * path on one machine.
 *
 * Determinism: a fast GEMM sums K in a fixed order (its kc blocking depends
 * on K alone), so an element of C comes out the same however the caller
 * splits M and N across threads, and cz_gemm_parallel equals cz_gemm bit
 * for bit. Only the path changes the rounding.
 */
#ifndef CZ_KERNELS_H
#define CZ_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

/* The AVX2 and AVX-512 paths exist in x86 builds only. */
#if defined(__x86_64__) || defined(__i386__)
#define CZ_HAVE_X86 1
#endif

/* n floats rounded up to whole 64-byte cache lines. Threads' parts of a
 * scratch buffer (64-byte aligned, as cz_net_scratch's is) placed this
 * many floats apart never share a line: two threads writing one line
 * (false sharing) made the maxpools of a batch-1 googlenet three times
 * slower on two threads than on one. */
static inline size_t cz_line_floats(size_t n) { return (n + 15) & ~(size_t)15; }

/* n floats (whole lines) rounded up to an odd number of lines: the stride
 * between matrices that a pass reads or writes all at once (Winograd's
 * transformed tiles). A stride that is a multiple of 4 KB puts all their
 * streams on one L1 set (12 ways): measured here, 36 such streams of
 * stores ran at 5.3 ns a line against 0.43 with an odd number of lines
 * (64 mod 4096 bytes), which spreads them over all 64 sets. */
static inline size_t cz_odd_lines(size_t n) { return (n / 16) % 2 ? n : n + 16; }

/* Where part i of n of [0, len) starts, the parts as even as possible
 * (the first len % n one longer): a thread's share of some work. */
static inline int cz_part(int len, int n, int i)
{
    return i * (len / n) + (i < len % n ? i : len % n);
}

/* Asks for the n floats at p, a request per cache line, for kernels that
 * read a large input in more streams than the hardware prefetcher
 * follows. An asm statement on x86: GCC deletes a loop that does nothing
 * but __builtin_prefetch as dead code (even at -O1). */
static inline void cz_prefetch_floats(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
#ifdef CZ_HAVE_X86
        __asm__ volatile("prefetcht0 %0" : : "m"(p[i]));
#else
        __builtin_prefetch(p + i);
#endif
    }
}

/* ---------------------------------------------------------------- paths */

typedef enum cz_kpath {
    CZ_KPATH_REF,
    CZ_KPATH_PORTABLE,
    CZ_KPATH_AVX2,
    CZ_KPATH_AVX512,
} cz_kpath;

/* The path in use: the one forced, else CZ_KERNELS, else the best the CPU
 * runs. Decided at the first call; cheap afterwards. */
cz_kpath cz_kernels_current(void);
/* Its name: "ref", "portable", "avx2" or "avx512". */
const char *cz_kernels_path(void);
const char *cz_kpath_name(cz_kpath path);
/* Whether this CPU can run `path` (ref and portable: always). */
bool cz_kernels_supported(cz_kpath path);
/* Makes every later call use the path named `name`; NULL goes back to the
 * automatic choice. Returns false (changing nothing) for an unknown name
 * or a path this CPU cannot run. Not thread-safe: call it between runs. */
bool cz_kernels_force(const char *name);

/* ----------------------------------------------------------------- gemm */

/* C (M x N) = alpha * op(A) * op(B) + beta * C, row-major, where op(A) is
 * M x K (A stored K x M when trans_a) and op(B) is K x N (B stored N x K
 * when trans_b). beta == 0 overwrites C without reading it (it may hold
 * NaN). cz_gemm runs on the calling thread through the current path;
 * callers parallelise over disjoint blocks of C. */
void cz_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The plain-C reference with the same contract. */
void cz_gemm_ref(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* cz_gemm on all OpenMP threads (split over column, or row, tiles) when
 * called outside a parallel region; inside one, the same as cz_gemm. The
 * result is bit-identical to cz_gemm's. */
void cz_gemm_parallel(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);

/* An A matrix (M x K, alpha 1; stored K x M when trans) packed once for
 * the current path, to be reused by many products: a layer's weights, or
 * their transpose for the input gradient. */
typedef struct cz_packed_a {
    float *data;
    int M, K, rows; /* rows: M rounded up to the path's tile height */
    bool trans;     /* A was stored K x M */
    cz_kpath path;  /* the path it was packed for */
} cz_packed_a;
/* Floats cz_gemm_pack_a needs for M x K on the current path (0: the path
 * packs nothing, as the reference). */
size_t cz_gemm_pack_size(int M, int K);
/* Floats of an M x K matrix kept as the current path's GEMM takes its A:
 * packed (cz_gemm_pack_size), or plain where the path packs nothing. */
static inline size_t cz_gemm_a_floats(int M, int K)
{
    size_t packed = cz_gemm_pack_size(M, K);
    return packed ? packed : (size_t)M * K;
}
/* The handle of M x K data that cz_gemm_pack_a (not transposed) packed on
 * the current path, for a caller that kept the data but not the handle. */
cz_packed_a cz_gemm_packed_view(int M, int K, const float *data);
/* Where element (i, k) of an M x K matrix lies in what cz_gemm_pack_a
 * (not transposed) makes of it on the current path, which must pack; in
 * *rows, how many rows from i on (to the end of i's sliver, padding rows
 * included) lie next to it, 1 float apart. For a producer that writes
 * the packed form directly (the Winograd weights). */
size_t cz_gemm_packed_index(int M, int K, int i, int k, int *rows);
/* Packs op(A) (row stride lda; A stored K x M when trans_a) into data;
 * false (pa untouched) on the reference path. */
bool cz_gemm_pack_a(bool trans_a, int M, int K, const float *A, int lda, float *data,
                    cz_packed_a *pa);
/* Work on finished rows of C while they are still in cache: fn gets a
 * block of C (rows x cols at c, row stride ldc) whose first row is row
 * `row` of the whole product. */
typedef struct cz_gemm_epilogue {
    void (*fn)(void *ctx, float *c, int ldc, int row, int rows, int cols);
    void *ctx;
} cz_gemm_epilogue;
/* Work on B's rows as the GEMM packs them, in place of a pass over B of
 * its own (a BatchNorm and activation before a 1x1 conv, which then
 * reads their input): fn gets a packed sliver of B, b[k * nr + c] for k <
 * rows being row `row` + k of B, c < nr (the columns past B's last are
 * zeros before fn, and unused after). Where cz_gemm_packs_b is false the
 * product is the reference one, on B's rows through fn 64 at a time: the
 * right sums, not the bits of that shape without a prologue. */
typedef struct cz_gemm_prologue {
    void (*fn)(void *ctx, float *b, int row, int rows, int nr);
    void *ctx;
} cz_gemm_prologue;
/* Whether the GEMM of M x N (any K) on the current path packs B (not the
 * reference path, not thin shapes), so that a prologue keeps its bits. */
bool cz_gemm_packs_b(int M, int N);
/* C (M x N) = op(A) B + beta C with op(A) from pa, the same bits as
 * cz_gemm on A (the pack is the one cz_gemm makes per call); when pa does
 * not fit (NULL, another path, a shape cz_gemm sends to the reference) it
 * runs cz_gemm on A, transposed as pa says (not, when pa is NULL). A may
 * be NULL when pa was packed on the current path: a thin shape then runs
 * on pa as well. B's rows go through pro (NULL: none) as they are packed;
 * then ep (NULL: none) runs on every block of C, each once, as soon as
 * the block is final. The _parallel form is cz_gemm_parallel's split. */
void cz_gemm_packed(const cz_packed_a *pa, const float *A, int lda, int M, int N, int K,
                    const float *B, int ldb, float beta, float *C, int ldc,
                    const cz_gemm_prologue *pro, const cz_gemm_epilogue *ep);
void cz_gemm_packed_parallel(const cz_packed_a *pa, const float *A, int lda, int M, int N, int K,
                             const float *B, int ldb, float beta, float *C, int ldc,
                             const cz_gemm_prologue *pro, const cz_gemm_epilogue *ep);
/* Rows [row0, row0 + M) of C = A B (C points at row row0's first
 * element) for A packed in pa on the current path, which must pack; row0
 * on a sliver (a multiple of the rows cz_gemm_packed_index gives for row
 * 0). Each element gets the bits it has in the whole product, so a
 * caller's own team can split the rows. */
void cz_gemm_packed_rows(const cz_packed_a *pa, int row0, int M, int N, int K, const float *B,
                         int ldb, float beta, float *C, int ldc);

/* --------------------------------------------------------- convolution */

/* Geometry of one 2-D convolution window sweep. */
typedef struct cz_conv_geom {
    int channels, height, width;       /* input plane count and size */
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_h, pad_w; /* im2col takes a negative pad_h: output rows from further down */
    int dilation;
    int out_h, out_w;
} cz_conv_geom;

/* x (C, H, W) -> col (C*KH*KW, OH*OW); taps outside the input are 0. On
 * the AVX-512 path, for column strides 1 and 2 at dilation 1, by
 * cz_im2col_avx512 (the same values). */
void cz_im2col(const cz_conv_geom *g, const float *x, float *col);
#ifdef CZ_HAVE_X86
/* cz_im2col in masked vector loads; false (col untouched) for a geometry
 * it does not take. Call only where cpuid says AVX-512F is there. */
bool cz_im2col_avx512(const cz_conv_geom *g, const float *x, float *col);
#endif
/* The adjoint of im2col: dx (C, H, W) = every tap of dcol summed, plus dx
 * itself when add (else dx's old contents are never read). */
void cz_col2im(const cz_conv_geom *g, const float *dcol, float *dx, bool add);

/* Floats of scratch cz_depthwise_plane needs for geometry g. */
size_t cz_depthwise_scratch(const cz_conv_geom *g);
/* One plane of a depthwise conv: y (OH, OW) = the cross-correlation of x
 * (H, W) with w (KH, KW), plus bias; g->channels is ignored. `scratch`
 * holds cz_depthwise_scratch(g) floats (a zero-padded copy of x). */
void cz_depthwise_plane(const cz_conv_geom *g, const float *x, const float *w, float bias,
                        float *y, float *scratch);
/* What a depthwise conv's epilogue does after the bias, per channel c:
 * y = act(y scale[c] + shift[c]), BatchNorm's product and sum only when
 * scale is not NULL, act a cz_act or -1 for none; scale and shift start
 * at the call's first channel. cz_depthwise_planes16 applies it to each
 * vector before it transposes and stores it, with the epilogue pass's
 * operations in its order (ops/conv2d.c), so the same bits. mean, where
 * not NULL, gets each of the 16 output planes' mean (an SE block's
 * squeeze, taken by the conv), summed as cz_plane_mean sums a plane, so
 * its bits too. */
typedef struct cz_dw_after {
    const float *scale, *shift;
    int act;
    float *mean;
} cz_dw_after;
/* Window ops on 16 planes at once, the channels in the vector lanes
 * (planes16.c): for small planes (28x28 down to 7x7), where one plane is
 * too little work for a plane-wide vector. x holds 16 input planes one
 * after another (g->channels is ignored), y the 16 output planes;
 * `scratch` holds cz_planes16_scratch(g) floats. False (nothing done)
 * where the path or the geometry does not take them. */
size_t cz_planes16_scratch(const cz_conv_geom *g);
/* Work item j of C channels taken as C / 16 blocks of 16 (`blocks`), then
 * one by one: its first channel, and in *count how many. Callers cut each
 * sample's channels this way, so that which way a channel goes does not
 * depend on the batch. */
static inline int cz_planes16_item(int j, int blocks, int *count)
{
    *count = j < blocks ? 16 : 1;
    return j < blocks ? 16 * j : 16 * blocks + (j - blocks);
}
/* Depthwise: w holds the 16 filters (KH x KW each), bias 16 values or
 * NULL, after NULL or what follows the bias; the bits are
 * cz_depthwise_plane's, then the epilogue pass's. _takes: whether it
 * would (without after, or with one whose activation has a vector form:
 * with tanh it declines). */
bool cz_depthwise_planes16_takes(const cz_conv_geom *g);
bool cz_depthwise_planes16(const cz_conv_geom *g, const float *x, const float *w,
                           const float *bias, const cz_dw_after *after, float *y,
                           float *scratch);
/* Max pool (the geometry's kernel, stride and padding; padding never
 * wins, a NaN in a window gives NaN). */
bool cz_maxpool_planes16_takes(const cz_conv_geom *g);
bool cz_maxpool_planes16(const cz_conv_geom *g, const float *x, float *y, float *scratch);
/* Average pool: each output's window summed row by row (padding adds
 * nothing), divided by divisors[p] for output position p: the window
 * search's bits. */
bool cz_avgpool_planes16(const cz_conv_geom *g, const float *divisors, const float *x, float *y,
                         float *scratch);
/* The reference: the same sum, tap by tap, in plain C. */
void cz_depthwise_plane_ref(const cz_conv_geom *g, const float *x, const float *w, float bias,
                            float *y);
/* The name of the depthwise kernel the current path runs ("depthwise-avx512"...). */
const char *cz_depthwise_name(void);

/* Winograd F(m x m, 3x3), m = 4 or 2 (output tiles of m x m): whether it
 * computes geometry g (3x3, stride 1, dilation 1, one group; any
 * padding). Its rounding differs from direct convolution by a few ulps per
 * layer. */
bool cz_winograd_fits(const cz_conv_geom *g, int groups);
/* How many m x m output tiles g's output makes. */
int cz_winograd_tiles(const cz_conv_geom *g, int m);
/* Floats of scratch cz_winograd_conv needs for `threads` threads. */
size_t cz_winograd_scratch(const cz_conv_geom *g, int m, int out_channels, int threads);
/* The transformed weights U = G w G^T: (m + 2)^2 matrices (OC x C) from
 * weight (OC, C, 3, 3), packed for the current path's GEMM. They depend on
 * m, the weights and the path alone, so a caller running the same layer
 * again on the same path keeps them (cz_winograd_weights_size floats).
 * With flip, weight is (C, OC, 3, 3) and filter (oc, c) is weight's (c,
 * oc) turned 180 degrees: the conv that gives a padding-1 conv's input
 * gradient from its output gradient. */
size_t cz_winograd_weights_size(int m, int out_channels, int channels);
void cz_winograd_weights(int m, int out_channels, int channels, const float *weight, bool flip,
                         float *U, int threads);
/* y (N, OC, OH, OW) = the conv of x (N, C, H, W) with the weights
 * transformed into U (for the same m), plus bias (NULL: none), on
 * `threads` OpenMP threads; the result does not depend on the thread
 * count. Then ep (NULL: none) on each output plane as it is made, while in
 * cache: fn gets the plane as one row of OH x OW, its `row` the output
 * channel. Call outside a parallel region. */
void cz_winograd_conv(const cz_conv_geom *g, int m, int out_channels, const float *U,
                      const float *bias, int N, const float *x, float *y, float *scratch,
                      int threads, const cz_gemm_epilogue *ep);
/* "winograd-f4x3-avx512", "winograd-f2x3-avx2"... for m on the current path. */
const char *cz_winograd_name(int m);

/* Winograd F(m, r) in one dimension for 1 x r, r x 1 and 5 x 5 convs,
 * F(4, 7), F(4, 5) and F(4, 3) (winograd1d.c): whether it computes g (1 x
 * 7, 7 x 1, 1 x 3, 3 x 1 or 5 x 5, stride 1, dilation 1, padding >= 0, one
 * group). Its rounding differs from direct convolution by a few ulps per
 * layer. The transformed weights U = G w ((m + r - 1) x taps along the
 * other axis matrices, OC x C, packed for the current path's GEMM;
 * cz_winograd1d_weights_size floats) depend on the weights and the path
 * alone. y (N, OC, OH, OW) = the conv of x (N, C,
 * H, W) with them, plus bias (NULL: none), on `threads` OpenMP threads,
 * the bits independent of their count and of N; then ep (NULL: none) on
 * each output plane as one row, its `row` the output channel. Call
 * outside a parallel region. */
bool cz_winograd1d_fits(const cz_conv_geom *g, int groups);
size_t cz_winograd1d_weights_size(const cz_conv_geom *g, int out_channels);
void cz_winograd1d_weights(const cz_conv_geom *g, int out_channels, const float *weight,
                           float *U);
size_t cz_winograd1d_scratch(const cz_conv_geom *g, int out_channels, int threads);
void cz_winograd1d_conv(const cz_conv_geom *g, int out_channels, const float *U,
                        const float *bias, int N, const float *x, float *y, float *scratch,
                        int threads, const cz_gemm_epilogue *ep);
/* "winograd1d-f4x7-avx512", "winograd1d-f4x5-portable"... for g on the current path. */
const char *cz_winograd1d_name(const cz_conv_geom *g);

/* Direct convolution on blocks of 16 channels (inference, AVX-512 only):
 * whether it computes a conv of `groups` groups on the current path (one
 * group; any channel count, kernel, stride, padding and dilation). */
bool cz_direct_fits(int groups);
/* The filters (OC, C, KH, KW) reordered for it: cz_direct_weights_size
 * floats, kept by a caller that runs the layer again. */
size_t cz_direct_weights_size(const cz_conv_geom *g, int out_channels);
void cz_direct_weights(const cz_conv_geom *g, int out_channels, const float *weight,
                       float *packed);
/* Floats of scratch cz_direct_conv needs for N samples on `threads`; the
 * scratch must start on a 64-byte boundary (aligned vector loads). */
size_t cz_direct_scratch(const cz_conv_geom *g, int N, int threads);
/* y (N, OC, OH, OW) = the conv of x (N, C, H, W) with the packed filters,
 * no bias, then ep (NULL: none) on each sample's blocks of 16 channels
 * (rows of the sample's (OC, OH * OW) matrix) once they are final; on
 * `threads` OpenMP threads, the bits independent of their count and of
 * N. Call outside a parallel region. */
void cz_direct_conv(const cz_conv_geom *g, int out_channels, const float *packed, int N,
                    const float *x, float *y, float *scratch, int threads,
                    const cz_gemm_epilogue *ep);
/* "conv-direct-avx512". */
const char *cz_direct_name(void);

/* The stem's direct convolution (inference, AVX-512 only): whether it
 * computes g (one group, 2 to 4 input channels, a kernel of 2 to 24
 * taps, stride 1 or 2, no dilation) on the current path. Its filters in
 * blocks of 16 output channels: cz_stem_weights_size floats. y (N, OC,
 * OH, OW) = the conv of x with them, no bias, the bits of im2col and the
 * GEMM; then ep (NULL: none) on each output row of all channels once it
 * is final. Call outside a parallel region. */
bool cz_stem_fits(const cz_conv_geom *g, int groups);
size_t cz_stem_weights_size(const cz_conv_geom *g, int out_channels);
void cz_stem_weights(const cz_conv_geom *g, int out_channels, const float *weight,
                     float *packed);
void cz_stem_conv(const cz_conv_geom *g, int out_channels, const float *packed, int N,
                  const float *x, float *y, int threads, const cz_gemm_epilogue *ep);
/* One output row of one sample for channels [oc0, oc0 + 16) (x86/stem_avx512.c). */
void cz_stem_row_avx512(const cz_conv_geom *g, const float *x, const float *w, int oh, int oc0,
                        int out_channels, float *y);
/* "conv-stem-avx512". */
const char *cz_stem_name(void);

#endif
