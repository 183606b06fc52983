/*
 * gemm.c - the fast GEMM: path dispatch, packing, cache blocking, and the
 * multi-threaded split (cz_gemm_parallel).
 *
 * Blocking (see gemm_impl.h): kc x nc of B is packed once per (jc, pc)
 * (or read in place: b_in_place) and reused by every mc block of A; an
 * mr x kc sliver of A meets an nr x kc sliver of B in the micro-kernel. kc
 * depends on K alone, never on how M and N are split, so each element of C
 * sums K in the same order on any thread count: threading is deterministic
 * for free.
 *
 * Shapes too thin to fill a register tile (M or N of 1 or 2: a batch-1
 * linear layer is a matrix-vector product) go to vectorised dot products
 * or axpys (or the reference), and so do a few rows of A against B stored
 * N x K (a linear layer at batch 2 to 8); the choice depends on the whole
 * call's shape, so cz_gemm_parallel makes it once, before splitting.
 *
 * Packing buffers are per thread, allocated on a thread's first call and
 * kept (freed when the thread exits): nothing is allocated per call.
 */
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_impl.h"
#include "kernels/kernels.h"
#include "kernels/steal.h"

/* Cache blocking for a 32 KB L1 / 1 MB L2 core (Zen 4, and most x86 since
 * Skylake-SP): a kc x nr sliver of B (16 KB at nr = 32) stays in L1 while
 * the mc x kc block of A (72 KB) streams from L2; the kc x nc panel of B
 * (1 MB) lives in L2/L3. MC is a multiple of every path's mr (4, 6, 8). */
enum { KC_MAX = 256, MC = 96, NC = 1024 };

/* --------------------------------------------------------- buffers */

typedef struct pack_buf {
    float *a, *b; /* MC x KC_MAX and (NC + nr) x KC_MAX floats, 64-byte aligned */
} pack_buf;

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_free(void *p)
{
    pack_buf *pb = p;
    free(pb->a);
    free(pb->b);
    free(pb);
}

static void buf_key_make(void) { (void)pthread_key_create(&buf_key, buf_free); }

/* Room for the widest nr any path uses, so one buffer serves them all. */
#define NR_MAX 32

static void *aligned(size_t floats) { return aligned_alloc(64, floats * sizeof(float)); }

/* This thread's buffers, or NULL when out of memory. */
static pack_buf *thread_buf(void)
{
    (void)pthread_once(&buf_once, buf_key_make);
    pack_buf *pb = pthread_getspecific(buf_key);
    if (pb)
        return pb;
    pb = calloc(1, sizeof *pb);
    if (!pb)
        return NULL;
    pb->a = aligned((size_t)MC * KC_MAX);
    pb->b = aligned((size_t)(NC + NR_MAX) * KC_MAX);
    if (!pb->a || !pb->b || pthread_setspecific(buf_key, pb) != 0) {
        buf_free(pb);
        return NULL;
    }
    return pb;
}

/* --------------------------------------------------------- packing */

/* A's block rows [i0, i0 + m) x cols [p0, p0 + kc) of op(A), times alpha,
 * into mr-tall slivers: ap[s * kc * mr + k * mr + r]; rows past m are 0. */
static void pack_a(const cz_gemm_kernel *uk, bool trans_a, const float *A, int lda, int i0,
                   int p0, int m, int kc, float alpha, float *ap)
{
    int mr = uk->mr;
    for (int s = 0; s < m; s += mr) {
        int rows = m - s < mr ? m - s : mr;
        float *dst = ap + (size_t)s * kc;
        if (trans_a) {
            /* A stored K x M: each k gives mr contiguous values. */
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(p0 + k) * lda + i0 + s;
                float *d = dst + (size_t)k * mr;
                for (int r = 0; r < rows; r++)
                    d[r] = alpha * src[r];
                for (int r = rows; r < mr; r++)
                    d[r] = 0.0f;
            }
            continue;
        }
        if (uk->pack_rows) {
            uk->pack_rows(A + (size_t)(i0 + s) * lda + p0, lda, rows, kc, alpha, dst);
            continue;
        }
        for (int r = 0; r < rows; r++) {
            const float *src = A + (size_t)(i0 + s + r) * lda + p0;
            for (int k = 0; k < kc; k++)
                dst[(size_t)k * mr + r] = alpha * src[k];
        }
        for (int r = rows; r < mr; r++)
            for (int k = 0; k < kc; k++)
                dst[(size_t)k * mr + r] = 0.0f;
    }
}

/* One sliver of B's K block [p0, p0 + kc): columns [j0, j0 + cols),
 * cols <= nr, zeros past them. */
static void pack_sliver(const cz_gemm_kernel *uk, bool trans_b, const float *B, int ldb, int p0,
                        int j0, int kc, int cols, float *dst)
{
    int nr = uk->nr;
    if (!trans_b) {
        if (uk->pack_plain) {
            uk->pack_plain(B + (size_t)p0 * ldb + j0, ldb, cols, kc, dst);
            return;
        }
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(p0 + k) * ldb + j0;
            float *d = dst + (size_t)k * nr;
            memcpy(d, src, sizeof(float) * (size_t)cols);
            for (int c = cols; c < nr; c++)
                d[c] = 0.0f;
        }
        return;
    }
    /* B stored N x K: column c of the sliver is a contiguous row of B. */
    if (uk->pack_cols) {
        uk->pack_cols(B + (size_t)j0 * ldb + p0, ldb, cols, kc, dst);
        return;
    }
    for (int c = 0; c < cols; c++) {
        const float *src = B + (size_t)(j0 + c) * ldb + p0;
        for (int k = 0; k < kc; k++)
            dst[(size_t)k * nr + c] = src[k];
    }
    for (int c = cols; c < nr; c++)
        for (int k = 0; k < kc; k++)
            dst[(size_t)k * nr + c] = 0.0f;
}

/* op(B)'s block rows [p0, p0 + kc) x cols [j0 + s0, j0 + n) into nr-wide
 * slivers: bp[s * kc * nr + k * nr + c]; columns past n are 0 (before
 * the prologue, when there is one). */
static void pack_b(const cz_gemm_kernel *uk, bool trans_b, const float *B, int ldb, int p0,
                   int j0, int s0, int kc, int n, float *bp, const cz_gemm_prologue *pro)
{
    int nr = uk->nr;
    for (int s = s0; s < n; s += nr) {
        float *dst = bp + (size_t)s * kc;
        pack_sliver(uk, trans_b, B, ldb, p0, j0 + s, kc, n - s < nr ? n - s : nr, dst);
        if (pro) /* while the sliver is in L1 */
            pro->fn(pro->ctx, dst, p0, kc, nr);
    }
}

/* ---------------------------------------------------------- driver */

/* C = beta * C, for the products that add nothing (K == 0, alpha == 0). */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* The kc blocking: ceil(K / KC_MAX) blocks of near-equal depth, a function
 * of K only (the determinism argument above rests on this). */
static int kc_for(int K)
{
    int blocks = (K + KC_MAX - 1) / KC_MAX;
    return (K + blocks - 1) / blocks;
}

/* A kc x nc block of op(B) as the micro-kernel reads it: its first
 * `in_place` columns (whole slivers) from B's own rows, ldb apart, the
 * rest from the packed slivers. */
typedef struct b_block {
    const float *rows, *packed;
    int ldb, in_place;
} b_block;

static const float *b_sliver(const b_block *bb, int j, int kc, int nr, int *ldb)
{
    if (j < bb->in_place) {
        *ldb = bb->ldb;
        return bb->rows + j;
    }
    *ldb = nr;
    return bb->packed + (size_t)j * kc;
}

/* Columns of a K block the micro-kernel reads from B itself rather than a
 * packed copy. Packing B's rows copies them as they are, so for B stored
 * K x N with no prologue it is a second pass over the block that pays
 * only in locality; per column it costs about what mr rows of C do, so it
 * pays for itself only over many rows. The kernel reads B in place (a 1x1
 * conv's input planes, im2col's columns) where C has at most 32 rows or
 * no more rows than K (at most 512). On one thread, in place against
 * packed (M x N x K): 16 x 12544 x 32 0.062 ms against 0.091, 24 x 3136
 * x 144 0.099 against 0.122, 64 x 3136 x 256 0.45 against 0.50, 128 x
 * 784 x 512 0.46 against 0.48; even or a few % behind for more rows than
 * K (96 x 12544 x 16: the shallow loop rereads the block for every row
 * sliver) and from 512 rows on. In mobilenet_v2 (b1 t1) the projection
 * 1x1 convs gain 5-20% each, the 1x1 convs 3.31 -> 3.22 ms in all. Not
 * where B's rows lie a multiple of 4 KiB apart (32x32 and 64x64 maps):
 * a sliver's rows then share a few L1 sets (64 x 4096 x 64 0.188 ms in
 * place against 0.177 packed; 64 x 1000 x 256 0.158 against 0.176, but
 * 64 x 1024 x 256 0.172 against 0.179). Only whole slivers: the ragged
 * last one is packed, zeros past its end. */
enum {
    IN_PLACE_FEW_M = 32,   /* rows of C read B in place whatever K */
    IN_PLACE_MAX_M = 512,  /* rows of C beyond which B is always packed */
    ROWS_ONE_SET = 1024    /* floats: 4 KiB */
};

static int b_in_place(const cz_gemm_kernel *uk, bool trans_b, const cz_gemm_prologue *pro, int M,
                      int K, int ldb, int nc)
{
    if (trans_b || pro || M > IN_PLACE_MAX_M || (M > K && M > IN_PLACE_FEW_M) ||
        ldb % ROWS_ONE_SET == 0)
        return 0;
    return nc / uk->nr * uk->nr;
}

/* Up to this depth the macro-kernel goes along C's rows (below). */
#define SHALLOW_KC 32

/* The mc x nc macro-kernel: every (mr, nr) tile of this C block. A B
 * sliver stays in L1 while every row sliver of A meets it. A shallow one
 * (kc <= SHALLOW_KC: the MobileNets' and EfficientNet's 1x1 convs on
 * 16 and 32 channels at 112 x 112) is mostly C's stores, into mc row
 * streams: there each row sliver runs along all of the block's columns
 * instead, so that mr rows are written at a time, and asks for the lines
 * of the tile two ahead before writing them (stores that miss wait for
 * the line): mobilenet_v3_large's 16 -> 64 conv 0.21 -> 0.19 ms on one
 * thread (0.29 -> 0.23 with another tenant loading the host),
 * mobilenet_v2's 16 -> 96 0.31 -> 0.28. Each element is the same sum
 * either way. */
static void macro_kernel(const cz_gemm_kernel *uk, int m, int n, int kc, const float *ap,
                         const b_block *bb, float beta, float *C, int ldc)
{
    int mr = uk->mr, nr = uk->nr, ldb;
    if (kc <= SHALLOW_KC) {
        for (int i = 0; i < m; i += mr) {
            int rows = m - i < mr ? m - i : mr;
            float *c = C + (size_t)i * ldc;
            for (int j = 0; j < n; j += nr) {
                for (int r = 0; r < rows && j + 2 * nr < n; r++) {
                    const float *ahead = c + (size_t)r * ldc + j + 2 * nr;
                    __builtin_prefetch(ahead, 1);
                    __builtin_prefetch(ahead + 16, 1);
                }
                const float *b = b_sliver(bb, j, kc, nr, &ldb);
                uk->ukernel(kc, ap + (size_t)i * kc, b, ldb, c + j, ldc, rows,
                            n - j < nr ? n - j : nr, beta);
            }
        }
        return;
    }
    for (int j = 0; j < n; j += nr) {
        const float *b = b_sliver(bb, j, kc, nr, &ldb);
        for (int i = 0; i < m; i += mr)
            uk->ukernel(kc, ap + (size_t)i * kc, b, ldb, C + (size_t)i * ldc + j, ldc,
                        m - i < mr ? m - i : mr, n - j < nr ? n - j : nr, beta);
    }
}

/* Where A's rows [row0 + ic, ...) of K block pc sit in a matrix packed by
 * cz_gemm_pack_a: K blocks one after another, each Mp rows of slivers. */
static const float *packed_block(const cz_packed_a *pa, int row0, int ic, int pc, int kc)
{
    return pa->data + (size_t)pc * pa->rows + (size_t)(row0 + ic) * kc;
}

/* The reference product with B's rows through the prologue, 64 x 16
 * blocks of B at a time on the stack: for the shapes and the path that
 * pack no B (thin ones, the reference), and when there is no memory to
 * pack it. */
static void ref_with_prologue(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta,
                              float *C, int ldc, const cz_gemm_prologue *pro)
{
    enum { KB = 64, NB = 16 };
    float b[KB * NB];
    if (K <= 0) { /* no rows to take: C = beta C */
        cz_gemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    for (int j0 = 0; j0 < N; j0 += NB) {
        int cols = N - j0 < NB ? N - j0 : NB;
        for (int p0 = 0; p0 < K; p0 += KB) {
            int kc = K - p0 < KB ? K - p0 : KB;
            for (int k = 0; k < kc; k++)
                for (int c = 0; c < NB; c++)
                    b[k * NB + c] = c >= cols          ? 0.0f
                                    : trans_b ? B[(size_t)(j0 + c) * ldb + p0 + k]
                                              : B[(size_t)(p0 + k) * ldb + j0 + c];
            pro->fn(pro->ctx, b, p0, kc, NB);
            const float *a = trans_a ? A + (size_t)p0 * lda : A + p0;
            cz_gemm_ref(trans_a, false, M, cols, kc, alpha, a, lda, b, NB,
                        p0 == 0 ? beta : 1.0f, C + j0, ldc);
        }
    }
}

void cz_gemm_blocked(const cz_gemm_kernel *uk, bool trans_a, bool trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc)
{
    cz_gemm_blocked_packed(uk, NULL, 0, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                           ldc, NULL, NULL);
}

void cz_gemm_blocked_packed(const cz_gemm_kernel *uk, const cz_packed_a *pa, int row0,
                            bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta,
                            float *C, int ldc, const cz_gemm_prologue *pro,
                            const cz_gemm_epilogue *ep)
{
    if (M <= 0 || N <= 0)
        return;
    pack_buf *pb = K <= 0 || alpha == 0.0f ? NULL : thread_buf();
    if (!pb) {
        /* Nothing to multiply, or no memory for packing: still the right
         * answer, with A itself. */
        if (K <= 0 || alpha == 0.0f)
            scale_c(M, N, beta, C, ldc);
        else if (pro)
            ref_with_prologue(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pro);
        else
            cz_gemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        if (ep)
            ep->fn(ep->ctx, C, ldc, row0, M, N);
        return;
    }
    int kc_full = kc_for(K);
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += kc_full) {
            int kc = K - pc < kc_full ? K - pc : kc_full;
            b_block bb = {.rows = B + (size_t)pc * ldb + jc, .packed = pb->b, .ldb = ldb,
                          .in_place = b_in_place(uk, trans_b, pro, M, K, ldb, nc)};
            pack_b(uk, trans_b, B, ldb, pc, jc, bb.in_place, kc, nc, pb->b, pro);
            /* The first K block applies the caller's beta; later ones add. */
            float beta_block = pc == 0 ? beta : 1.0f;
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                const float *ap = pa ? packed_block(pa, row0, ic, pc, kc) : pb->a;
                if (!pa)
                    pack_a(uk, trans_a, A, lda, ic, pc, mc, kc, alpha, pb->a);
                float *c = C + (size_t)ic * ldc + jc;
                macro_kernel(uk, mc, nc, kc, ap, &bb, beta_block, c, ldc);
                if (ep && pc + kc >= K) /* the block's last K block: final */
                    ep->fn(ep->ctx, c, ldc, row0 + ic, mc, nc);
            }
        }
    }
}

/* --------------------------------------------------------- dispatch */

/* The kernel of the current path; NULL for the reference. */
static const cz_gemm_kernel *current_kernel(void)
{
    switch (cz_kernels_current()) {
    case CZ_KPATH_PORTABLE:
        return &cz_gemm_kernel_portable;
#ifdef CZ_HAVE_X86
    case CZ_KPATH_AVX2:
        return &cz_gemm_kernel_avx2;
    case CZ_KPATH_AVX512:
        return &cz_gemm_kernel_avx512;
#endif
    default:
        return NULL;
    }
}

/* Rows of A up to which a product with B stored N x K is dot products. */
enum { ROWS_DOT_MAX = 8 };

/* Too thin for a register tile: see the header comment. */
static bool is_thin(int M, int N) { return M <= 2 || N <= 2; }

/* ------------------------------------------------ matrix-vector */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CZ_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CZ_CLONES
#endif

/* 16 floats as one value: a zmm register in the AVX-512 clone, two ymm or
 * four xmm in the others, the same operations lane by lane in each. */
typedef float v16f __attribute__((vector_size(64)));

/* a_r . b for the R rows a_r (lda apart) in 64 lanes each (four AVX-512
 * add chains), the rest in 16 of them, summed pairwise at the end: an
 * order fixed by n alone, the same bits in every clone and for any R.
 * The rows (a batch-1 linear layer's weights, up to 411 MB in vgg16)
 * stream from memory, faster with a prefetch ahead than the hardware's
 * alone (alexnet's fc6 6.84 -> 5.58 ms on one thread, 3.45 -> 3.06 on
 * two), and four rows at once faster than one (5.6 -> 4.2 ms on one
 * thread; two threads were already at the memory's 50 GB/s). The lanes
 * are vector values: as an array of 64 floats GCC kept them on the stack
 * and summed them a float at a time, which for short rows took most of
 * the time (efficientnet_b0's SE conv 48 -> 1152, a dot product of 48 per
 * output before packed_gemv8 took those: 0.040 -> 0.018 ms). */
enum { DOT_AHEAD = 8192 }; /* bytes */
static inline __attribute__((always_inline)) void
dots_wide(const int R, const float *a, size_t lda, const float *b, int n, float *out)
{
    v16f acc[4][4], av, bv;
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = (v16f){0};
    int k = 0;
    for (; k + 64 <= n; k += 64) {
        /* 8 KB ahead of a, past its end into the next row of a matrix
         * (integer arithmetic: the address may lie outside a). */
        for (int r = 0; r < R; r++)
            for (int l = 0; l < 64; l += 16)
                __builtin_prefetch((const void *)((uintptr_t)(a + r * lda + k + l) + DOT_AHEAD));
        for (int q = 0; q < 4; q++) {
            memcpy(&bv, b + k + 16 * q, sizeof bv);
            for (int r = 0; r < R; r++) {
                memcpy(&av, a + r * lda + k + 16 * q, sizeof av);
                acc[r][q] += av * bv;
            }
        }
    }
    for (; k + 16 <= n; k += 16) {
        memcpy(&bv, b + k, sizeof bv);
        for (int r = 0; r < R; r++) {
            memcpy(&av, a + r * lda + k, sizeof av);
            acc[r][0] += av * bv;
        }
    }
    for (int r = 0; r < R; r++) {
        v16f all = (acc[r][0] + acc[r][2]) + (acc[r][1] + acc[r][3]);
        float lane[16];
        memcpy(lane, &all, sizeof lane);
        for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; l++)
                lane[l] += lane[l + w];
        float sum = lane[0];
        for (int t = k; t < n; t++)
            sum += a[r * lda + t] * b[t];
        out[r] = sum;
    }
}

CZ_CLONES static float dot_wide(const float *a, const float *b, int n)
{
    float out;
    dots_wide(1, a, 0, b, n, &out);
    return out;
}

CZ_CLONES static void dot4_wide(const float *a, size_t lda, const float *b, int n, float out[4])
{
    dots_wide(4, a, lda, b, n, out);
}

/* c[i] = beta c[i] + sum_k (alpha a[k][i]) x[k] for i in [lo, hi), k in
 * order: the reference's operations in the reference's order (the same
 * bits), swept along contiguous rows of a so that they vectorise. */
CZ_CLONES static void axpy_rows(int K, float alpha, const float *A, int lda, const float *x,
                                float beta, float *c, int lo, int hi)
{
    for (int i = lo; i < hi; i++)
        c[i] = beta == 0.0f ? 0.0f : beta == 1.0f ? c[i] : beta * c[i];
    for (int k = 0; k < K; k++) {
        const float *a = A + (size_t)k * lda;
        float xk = x[k];
        for (int i = lo; i < hi; i++)
            c[i] += alpha * a[i] * xk;
    }
}

/* A product whose every output is one dot product of two contiguous
 * vectors (a batch-1 linear layer; a conv on a 1x1 map, as in SE blocks):
 * the reference's per-element chains are latency-bound (1 GFLOP/s), a
 * register tile would be mostly empty. Fills outputs [lo, hi) of the
 * vector dimension; false when the shape is not of this form. */
static bool gemv(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc, int lo, int hi)
{
    const float *x;
    bool rows_of_a; /* outputs are C[i][0] = A[i,:] . x, else C[0][j] = x . B[j,:] */
    if (N == 1 && trans_a && (trans_b || ldb == 1) && ldc == 1) {
        /* op(A) x with A stored K x M (a conv's input gradient on a 1x1
         * map): column sweeps. */
        axpy_rows(K, alpha, A, lda, B, beta, C, lo, hi);
        return true;
    }
    if (N == 1 && !trans_a && (trans_b || ldb == 1)) {
        x = B;
        rows_of_a = true;
    } else if (M == 1 && trans_b && (!trans_a || lda == 1)) {
        x = A;
        rows_of_a = false;
    } else {
        return false;
    }
    size_t ld = rows_of_a ? (size_t)lda : (size_t)ldb;
    for (int i = lo; i < hi;) {
        float d[4];
        int R = hi - i >= 4 ? 4 : 1;
        const float *rows = (rows_of_a ? A : B) + (size_t)i * ld;
        if (R == 4)
            dot4_wide(rows, ld, x, K, d);
        else
            d[0] = dot_wide(rows, x, K);
        for (int r = 0; r < R; r++, i++) {
            float *c = rows_of_a ? C + (size_t)i * ldc : C + i;
            float old = beta == 0.0f ? 0.0f : beta == 1.0f ? *c : beta * *c;
            *c = old + alpha * d[r];
        }
    }
    return true;
}

/* out[m][r] = A[m, :] . b_r for m < M and the R rows b_0 .. b_(R-1) of B
 * (ldb apart; M and R constants after inlining), in 16 lanes per output
 * summed pairwise at the end: an order fixed by K alone, whatever R. The
 * accumulators are vector values: as arrays of floats, GCC kept them on
 * the stack. Four rows of B (the weights, streaming from memory) per
 * pass: with two, one core read them at 9 GB/s, with four at 14 (alexnet's
 * fc6 at batch 8, 17.1 -> 11.1 ms on one thread, 8.2 -> 5.3 on two),
 * though at batch 8 the 32 accumulators no longer all fit in registers.
 * Three rows were no faster than two, and a software prefetch ahead in
 * each row slowed every width: the gain is the hardware's, four streams
 * in flight instead of two. */
enum { B_ROWS = 4 };
static inline __attribute__((always_inline)) void
dots_body(const int M, const int R, const float *A, int lda, const float *b, int ldb, int K,
          float out[][B_ROWS])
{
    v16f acc[ROWS_DOT_MAX][B_ROWS];
    for (int m = 0; m < M; m++)
        for (int r = 0; r < R; r++)
            acc[m][r] = (v16f){0};
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        v16f bv[B_ROWS], av;
        for (int r = 0; r < R; r++)
            memcpy(&bv[r], b + (size_t)r * ldb + k, sizeof bv[r]);
        for (int m = 0; m < M; m++) {
            memcpy(&av, A + (size_t)m * lda + k, sizeof av);
            for (int r = 0; r < R; r++)
                acc[m][r] += av * bv[r];
        }
    }
    for (int m = 0; m < M; m++)
        for (int r = 0; r < R; r++) {
            float lane[16];
            memcpy(lane, &acc[m][r], sizeof lane);
            for (int w = 8; w >= 1; w /= 2)
                for (int l = 0; l < w; l++)
                    lane[l] += lane[l + w];
            float sum = lane[0];
            for (int t = k; t < K; t++)
                sum += A[(size_t)m * lda + t] * b[(size_t)r * ldb + t];
            out[m][r] = sum;
        }
}

/* dots_body for M rows of A (2 .. ROWS_DOT_MAX) and R (1 or B_ROWS) of B. */
#define DOTS_CASES(R)                                                                         \
    switch (M) {                                                                              \
    case 2: dots_body(2, R, a, lda, b, ldb, K, d); break;                                     \
    case 3: dots_body(3, R, a, lda, b, ldb, K, d); break;                                     \
    case 4: dots_body(4, R, a, lda, b, ldb, K, d); break;                                     \
    case 5: dots_body(5, R, a, lda, b, ldb, K, d); break;                                     \
    case 6: dots_body(6, R, a, lda, b, ldb, K, d); break;                                     \
    case 7: dots_body(7, R, a, lda, b, ldb, K, d); break;                                     \
    default: dots_body(8, R, a, lda, b, ldb, K, d); break;                                    \
    }

/* C[m][j] = alpha A[m, :] . B[j, :] + beta C[m][j] for the few rows m < M
 * (2 .. ROWS_DOT_MAX) and j in [lo, hi): a linear layer at batch 2 to 8.
 * Each row of B (the weights) is read once for all M rows of A, where a
 * register tile would be mostly empty and packing B costs a transpose of
 * the whole weight matrix (alexnet's 151 MB fc6 at batch 8 took 4.7x the
 * time of reading it). */
CZ_CLONES static void rows_dot(int M, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc, int lo,
                               int hi)
{
    const float *a = A;
    for (int j = lo, R; j < hi; j += R) {
        float d[ROWS_DOT_MAX][B_ROWS];
        const float *b = B + (size_t)j * ldb;
        R = hi - j >= B_ROWS ? B_ROWS : 1;
        if (R == B_ROWS) {
            DOTS_CASES(B_ROWS)
        } else {
            DOTS_CASES(1)
        }
        for (int r = 0; r < R; r++)
            for (int m = 0; m < M; m++) {
                float *c = C + (size_t)m * ldc + j + r;
                float old = beta == 0.0f ? 0.0f : beta == 1.0f ? *c : beta * *c;
                *c = old + alpha * d[m][r];
            }
    }
}

/* Whether rows_dot() takes this product: few rows, B stored N x K. */
static bool takes_rows_dot(bool trans_a, bool trans_b, int M, int N, int K)
{
    return !trans_a && trans_b && M >= 2 && M <= ROWS_DOT_MAX && N > 2 && K >= 64 &&
           current_kernel();
}

/* How many outputs gemv() would compute (the vector's length). */
static int gemv_outputs(int M, int N) { return N == 1 ? M : N; }

/* One thread's product through `uk`, or the reference when uk is NULL. */
static void gemm_on(const cz_gemm_kernel *uk, bool trans_a, bool trans_b, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                    float *C, int ldc)
{
    if (uk)
        cz_gemm_blocked(uk, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        cz_gemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cz_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (is_thin(M, N) && current_kernel() && K > 0 &&
        gemv(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0,
             gemv_outputs(M, N)))
        return;
    if (takes_rows_dot(trans_a, trans_b, M, N, K)) {
        rows_dot(M, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, N);
        return;
    }
    const cz_gemm_kernel *uk = is_thin(M, N) ? NULL : current_kernel();
    gemm_on(uk, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Below this many multiply-adds a fork/join costs more than it saves. */
#define PARALLEL_MIN_MACS (1 << 18)

/* The product on T threads, each taking whole register tiles of one
 * dimension: splitting N makes every thread pack all of A (M x K),
 * splitting M all of B (K x N), so the smaller one is repeated. With pa,
 * A's rows come packed (row0 places a thread's rows in it); with no uk,
 * the reference computes each piece (and ep is NULL).
 *
 * Split by columns, a thread takes its static part in runs (half of what
 * it has left at a time), then single tiles of columns that another has
 * not reached (steal.h): the vCPUs here run at speeds 0.85-1.2x each
 * other's from moment to moment, and with fixed halves the faster one
 * waited at the join (OMPT: 0.5 ms of mobilenet_v2's 4.2 ms forward on
 * two threads). Each run is a product of its own over whole columns, so
 * each element's sums, prologue and epilogue are the same. Paired, b1 t2,
 * in a slow stretch: shufflenet_v2 0.92x, mobilenet_v2 0.95,
 * mobilenet_v3_large 0.96, densenet121 0.96, efficientnet_b0 0.97,
 * googlenet 0.98, resnet50 0.98, inception_v3 1.01; in a quiet one
 * mobilenet_v2 0.99, resnet18 1.00. A split by rows stays fixed: a run
 * of rows packs all of B again. */
static void split_over_threads(const cz_gemm_kernel *uk, const cz_packed_a *pa, bool trans_a,
                               bool trans_b, int M, int N, int K, float alpha, const float *A,
                               int lda, const float *B, int ldb, float beta, float *C, int ldc,
                               const cz_gemm_prologue *pro, const cz_gemm_epilogue *ep, int T)
{
    bool by_cols = M <= N;
    int unit = !uk ? 1 : by_cols ? uk->nr : uk->mr, extent = by_cols ? N : M;
    int tiles = (extent + unit - 1) / unit;
    if (tiles < T)
        T = tiles;
    if (by_cols && uk && T > 1 && T <= CZ_STEAL_MAX) {
        cz_steal ranges[CZ_STEAL_MAX];
        cz_steal_init(ranges, T, tiles);
#pragma omp parallel num_threads(T)
        {
            int me = omp_get_thread_num(), count;
            for (int first; (first = cz_steal_take(ranges, T, me, &count)) >= 0;) {
                int lo = first * unit, hi = (first + count) * unit;
                hi = hi < extent ? hi : extent;
                const float *b = trans_b ? B + (size_t)lo * ldb : B + lo;
                cz_gemm_blocked_packed(uk, pa, 0, trans_a, trans_b, M, hi - lo, K, alpha, A,
                                       lda, b, ldb, beta, C + lo, ldc, pro, ep);
            }
        }
        return;
    }
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int lo = (int)((long)tiles * t / nt) * unit, hi = (int)((long)tiles * (t + 1) / nt) * unit;
        if (hi > extent)
            hi = extent;
        int m = by_cols ? M : hi - lo, n = by_cols ? hi - lo : N, row0 = by_cols ? 0 : lo;
        const float *a = by_cols ? A : trans_a ? A + lo : A + (size_t)lo * lda;
        const float *b = !by_cols ? B : trans_b ? B + (size_t)lo * ldb : B + lo;
        float *c = by_cols ? C + lo : C + (size_t)lo * ldc;
        if (hi > lo && uk)
            cz_gemm_blocked_packed(uk, pa, row0, trans_a, trans_b, m, n, K, alpha, a, lda, b, ldb,
                                   beta, c, ldc, pro, ep);
        else if (hi > lo)
            cz_gemm_ref(trans_a, trans_b, m, n, K, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

void cz_gemm_parallel(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    const cz_gemm_kernel *uk = is_thin(M, N) ? NULL : current_kernel();
    int T = omp_get_max_threads();
    if (T <= 1 || omp_in_parallel() || (double)M * N * K < PARALLEL_MIN_MACS) {
        cz_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (is_thin(M, N) && current_kernel() && (M == 1 || N == 1) && K > 0) {
        /* A matrix-vector product: the outputs split over the threads. */
        int n = gemv_outputs(M, N);
        bool done = true;
#pragma omp parallel num_threads(T) reduction(&& : done)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            done = gemv(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                        (int)((long)n * t / nt), (int)((long)n * (t + 1) / nt));
        }
        if (done)
            return;
    }
    if (takes_rows_dot(trans_a, trans_b, M, N, K)) {
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            rows_dot(M, K, alpha, A, lda, B, ldb, beta, C, ldc, (int)((long)N * t / nt),
                     (int)((long)N * (t + 1) / nt));
        }
        return;
    }
    split_over_threads(uk, NULL, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                       NULL, NULL, T);
}

/* ------------------------------------------------------ packed A */

/* A matrix used in many products (a layer's weights) is packed once into
 * the current path's slivers, K block after K block; the products then
 * skip pack_a, which for a thin B (a late layer's 7x7 map at batch 1)
 * costs as much as the multiplication itself. */
size_t cz_gemm_pack_size(int M, int K)
{
    const cz_gemm_kernel *uk = current_kernel();
    if (!uk || M <= 0 || K <= 0)
        return 0;
    size_t rows = (size_t)(M + uk->mr - 1) / uk->mr * uk->mr;
    return rows * (size_t)K;
}

cz_packed_a cz_gemm_packed_view(int M, int K, const float *data)
{
    const cz_gemm_kernel *uk = current_kernel();
    int mr = uk ? uk->mr : 1;
    return (cz_packed_a){.data = uk ? (float *)data : NULL, .M = M, .K = K, .trans = false,
                         .path = cz_kernels_current(), .rows = (M + mr - 1) / mr * mr};
}

size_t cz_gemm_packed_index(int M, int K, int i, int k, int *rows)
{
    const cz_gemm_kernel *uk = current_kernel();
    int mr = uk->mr, kc_full = kc_for(K), pc = k / kc_full * kc_full;
    int kc = K - pc < kc_full ? K - pc : kc_full, s = i / mr * mr;
    *rows = mr - (i - s);
    return (size_t)pc * ((size_t)(M + mr - 1) / mr * mr) + (size_t)s * kc + (size_t)(k - pc) * mr +
           (size_t)(i - s);
}

bool cz_gemm_pack_a(bool trans_a, int M, int K, const float *A, int lda, float *data,
                    cz_packed_a *pa)
{
    const cz_gemm_kernel *uk = current_kernel();
    if (!uk || M <= 0 || K <= 0)
        return false;
    *pa = cz_gemm_packed_view(M, K, data);
    pa->trans = trans_a;
    int kc_full = kc_for(K);
    for (int pc = 0; pc < K; pc += kc_full) {
        int kc = K - pc < kc_full ? K - pc : kc_full;
        pack_a(uk, trans_a, A, lda, 0, pc, M, kc, 1.0f, data + (size_t)pc * pa->rows);
    }
    return true;
}

/* 8 floats as one value: a ymm register where there is one. */
typedef float v8f __attribute__((vector_size(32)));
enum { GEMV_AHEAD = 2048 }; /* bytes */

/* C[i] (i < M, ldc apart) = beta C[i] + sum over k of the packed A's row i
 * times x[k] (incx apart), for slivers [i0, i0 + 8 S) of a matrix packed
 * in 8-row slivers: each sliver's 8 sums one vector chain in k order, S
 * chains side by side. */
static inline __attribute__((always_inline)) void
gemv_slivers(const int S, const cz_packed_a *pa, int i0, const float *x, int incx, float beta,
             float *C, int ldc)
{
    int M = pa->M, K = pa->K, kc_full = kc_for(K);
    v8f acc[4] = {{0}, {0}, {0}, {0}}, a;
    for (int pc = 0; pc < K; pc += kc_full) {
        int kc = K - pc < kc_full ? K - pc : kc_full;
        const float *blk = pa->data + (size_t)pc * pa->rows + (size_t)i0 * kc;
        for (int k = 0; k < kc; k++) {
            float xk = x[(size_t)(pc + k) * incx];
            for (int s = 0; s < S; s++) {
                if ((k & 1) == 0) /* a line holds two k steps */
                    __builtin_prefetch((const void *)((uintptr_t)(blk + (size_t)8 * s * kc +
                                                                  (size_t)8 * k) +
                                                      GEMV_AHEAD));
                memcpy(&a, blk + (size_t)8 * s * kc + (size_t)8 * k, sizeof a);
                acc[s] += a * xk;
            }
        }
    }
    for (int s = 0; s < S; s++)
        for (int r = 0; r < 8 && i0 + 8 * s + r < M; r++) {
            float *c = C + (size_t)(i0 + 8 * s + r) * ldc;
            float old = beta == 0.0f ? 0.0f : beta == 1.0f ? *c : beta * *c;
            *c = old + acc[s][r];
        }
}

/* A matrix-vector product on A packed in 8-row slivers (the AVX-512
 * path's): an SE block's 1x1 conv on a 1x1 map, where a dot product per
 * row of the unpacked weights ended each in a horizontal sum. */
CZ_CLONES static void packed_gemv8(const cz_packed_a *pa, const float *x, int incx, float beta,
                                   float *C, int ldc)
{
    int i0 = 0;
    for (; i0 + 32 <= pa->rows; i0 += 32)
        gemv_slivers(4, pa, i0, x, incx, beta, C, ldc);
    for (; i0 < pa->rows; i0 += 8)
        gemv_slivers(1, pa, i0, x, incx, beta, C, ldc);
}

/* The packed product on one thread, or on `unpacked` A through the
 * current path when pa does not fit it (another path, a thin shape, which
 * the plain product computes in another order). With no A (a caller that
 * kept only the packed data), a thin shape takes the packed one too. */
static bool packed_usable(const cz_packed_a *pa, const float *A, int M, int N, int K)
{
    return pa && pa->data && pa->path == cz_kernels_current() && pa->M == M && pa->K == K &&
           (!is_thin(M, N) || !A) && current_kernel();
}

bool cz_gemm_packs_b(int M, int N) { return current_kernel() && !is_thin(M, N); }

void cz_gemm_packed(const cz_packed_a *pa, const float *A, int lda, int M, int N, int K,
                    const float *B, int ldb, float beta, float *C, int ldc,
                    const cz_gemm_prologue *pro, const cz_gemm_epilogue *ep)
{
    bool trans_a = pa && pa->trans;
    if (N == 1 && !pro && packed_usable(pa, NULL, M, N, K) && !trans_a &&
        current_kernel()->mr == 8) {
        packed_gemv8(pa, B, ldb, beta, C, ldc);
        if (ep)
            ep->fn(ep->ctx, C, ldc, 0, M, N);
        return;
    }
    if (!packed_usable(pa, A, M, N, K)) {
        const cz_gemm_kernel *uk = is_thin(M, N) ? NULL : current_kernel();
        if (uk)
            cz_gemm_blocked_packed(uk, NULL, 0, trans_a, false, M, N, K, 1.0f, A, lda, B, ldb,
                                   beta, C, ldc, pro, ep);
        else {
            if (pro)
                ref_with_prologue(trans_a, false, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc,
                                  pro);
            else
                cz_gemm(trans_a, false, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
            if (ep)
                ep->fn(ep->ctx, C, ldc, 0, M, N);
        }
        return;
    }
    cz_gemm_blocked_packed(current_kernel(), pa, 0, trans_a, false, M, N, K, 1.0f, A, lda, B, ldb,
                           beta, C, ldc, pro, ep);
}

void cz_gemm_packed_rows(const cz_packed_a *pa, int row0, int M, int N, int K, const float *B,
                         int ldb, float beta, float *C, int ldc)
{
    cz_gemm_blocked_packed(current_kernel(), pa, row0, false, false, M, N, K, 1.0f, NULL, K, B, ldb,
                           beta, C, ldc, NULL, NULL);
}

void cz_gemm_packed_parallel(const cz_packed_a *pa, const float *A, int lda, int M, int N, int K,
                             const float *B, int ldb, float beta, float *C, int ldc,
                             const cz_gemm_prologue *pro, const cz_gemm_epilogue *ep)
{
    int T = omp_get_max_threads();
    const cz_gemm_kernel *uk = is_thin(M, N) ? NULL : current_kernel();
    if (!uk || T <= 1 || omp_in_parallel() || (double)M * N * K < PARALLEL_MIN_MACS) {
        cz_gemm_packed(pa, A, lda, M, N, K, B, ldb, beta, C, ldc, pro, ep);
        return;
    }
    bool trans_a = pa && pa->trans;
    if (!packed_usable(pa, A, M, N, K))
        pa = NULL;
    split_over_threads(uk, pa, trans_a, false, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc, pro,
                       ep, T);
}
