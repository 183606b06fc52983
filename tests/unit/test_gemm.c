/*
 * test_gemm.c - the fast GEMM paths (portable, AVX2, AVX-512) against the
 * reference cz_gemm_ref, each path forced in turn (a path this CPU lacks
 * is skipped, and says so): odd sizes around the register tiles and cache
 * blocks, all four transpositions, leading dimensions larger than needed,
 * alpha != 1, beta 0 over a C full of NaN (must not be read), 1 and 0.5.
 * Each element must be within 1e-5 of the sum of |terms| that make it,
 * a bound scaled by K per element rather than one loose global tolerance.
 * Then determinism: cz_gemm_parallel on 2-4 threads, and cz_gemm over
 * pieces of C, give the same bits as one cz_gemm call.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testutil.h"

typedef struct gemm_case {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
} gemm_case;

typedef struct operands {
    float *A, *B, *C0; /* C0: C before the call (NaN when beta == 0) */
} operands;

static float *alloc_floats(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    return p;
}

static operands make_operands(const gemm_case *c, cz_rng *rng)
{
    size_t a_rows = c->ta ? c->K : c->M, b_rows = c->tb ? c->N : c->K;
    operands o = {alloc_floats(a_rows * c->lda), alloc_floats(b_rows * c->ldb),
                  alloc_floats((size_t)c->M * c->ldc)};
    tu_fill_uniform(rng, o.A, a_rows * c->lda, -1.0f, 1.0f);
    tu_fill_uniform(rng, o.B, b_rows * c->ldb, -1.0f, 1.0f);
    if (c->beta == 0.0f)
        for (size_t i = 0; i < (size_t)c->M * c->ldc; i++)
            o.C0[i] = NAN;
    else
        tu_fill_uniform(rng, o.C0, (size_t)c->M * c->ldc, -1.0f, 1.0f);
    return o;
}

static void free_operands(operands *o)
{
    free(o->A);
    free(o->B);
    free(o->C0);
}

static float at_a(const gemm_case *c, const float *A, int i, int k)
{
    return c->ta ? A[(size_t)k * c->lda + i] : A[(size_t)i * c->lda + k];
}

static float at_b(const gemm_case *c, const float *B, int k, int j)
{
    return c->tb ? B[(size_t)j * c->ldb + k] : B[(size_t)k * c->ldb + j];
}

/* Runs the case through `gemm` on a fresh copy of C0. */
static float *run(const gemm_case *c, const operands *o,
                  void (*gemm)(bool, bool, int, int, int, float, const float *, int, const float *,
                               int, float, float *, int))
{
    float *C = alloc_floats((size_t)c->M * c->ldc);
    memcpy(C, o->C0, sizeof(float) * (size_t)c->M * c->ldc);
    gemm(c->ta, c->tb, c->M, c->N, c->K, c->alpha, o->A, c->lda, o->B, c->ldb, c->beta, C, c->ldc);
    return C;
}

/* got vs want element by element, within 1e-5 of sum |alpha a b| + |beta c|;
 * the padding between rows (ldc > N) must be left untouched. */
static void expect_match(const gemm_case *c, const operands *o, const float *got,
                         const float *want, const char *path)
{
    for (int i = 0; i < c->M; i++) {
        for (int j = 0; j < c->N; j++) {
            double scale = c->beta == 0.0f ? 0.0 : fabs(c->beta * o->C0[(size_t)i * c->ldc + j]);
            for (int k = 0; k < c->K; k++)
                scale += fabs(c->alpha * at_a(c, o->A, i, k) * at_b(c, o->B, k, j));
            float g = got[(size_t)i * c->ldc + j], w = want[(size_t)i * c->ldc + j];
            if (!(fabs((double)g - w) <= 1e-5 * scale + 1e-30))
                fail_msg("%s: ta %d tb %d M %d N %d K %d lda %d ldb %d ldc %d alpha %g beta %g: "
                         "C[%d,%d] = %.9g, reference %.9g (bound %.3g)",
                         path, c->ta, c->tb, c->M, c->N, c->K, c->lda, c->ldb, c->ldc,
                         (double)c->alpha, (double)c->beta, i, j, (double)g, (double)w,
                         1e-5 * scale);
        }
        for (int j = c->N; j < c->ldc; j++) {
            size_t at = (size_t)i * c->ldc + j;
            if (memcmp(&got[at], &o->C0[at], sizeof(float)) != 0)
                fail_msg("%s: M %d N %d ldc %d: wrote C[%d,%d] past N", path, c->M, c->N, c->ldc,
                         i, j);
        }
    }
}

static const int sizes[] = {1, 2, 3, 5, 8, 17, 31, 32, 33, 65, 100, 127, 257};
#define N_SIZES (int)(sizeof sizes / sizeof *sizes)

static gemm_case random_case(cz_rng *rng, int t)
{
    static const float alphas[] = {1.0f, -0.75f, 2.5f};
    static const float betas[] = {0.0f, 1.0f, 0.5f};
    gemm_case c = {.ta = t & 1, .tb = (t >> 1) & 1};
    c.M = sizes[cz_rng_below(rng, N_SIZES)];
    c.N = sizes[cz_rng_below(rng, N_SIZES)];
    /* Depths past one kc block (256) now and then, and K = 0 once in a while. */
    c.K = t % 17 == 0 ? 300 + (int)cz_rng_below(rng, 300) : sizes[cz_rng_below(rng, N_SIZES)];
    if (t % 41 == 40)
        c.K = 0;
    int pad = (int)cz_rng_below(rng, 3) * (1 + (int)cz_rng_below(rng, 7));
    c.lda = (c.ta ? c.M : c.K) + pad;
    c.ldb = (c.tb ? c.K : c.N) + pad;
    c.ldc = c.N + (int)cz_rng_below(rng, 4);
    if (c.lda == 0)
        c.lda = 1;
    if (c.ldb == 0)
        c.ldb = 1;
    c.alpha = alphas[cz_rng_below(rng, 3)];
    c.beta = betas[t % 3];
    return c;
}

/* Forces `path`, or skips the test (with a message) when the CPU lacks it. */
static void use_path(const char *path)
{
    if (!cz_kernels_force(path)) {
        print_message("[  SKIPPED ] path %s: not supported by this CPU\n", path);
        skip();
    }
    assert_string_equal(cz_kernels_path(), path);
}

static void check_path(const char *path)
{
    use_path(path);
    cz_rng rng;
    cz_rng_seed(&rng, 61);
    for (int t = 0; t < 240; t++) {
        gemm_case c = random_case(&rng, t);
        operands o = make_operands(&c, &rng);
        float *want = run(&c, &o, cz_gemm_ref), *got = run(&c, &o, cz_gemm);
        expect_match(&c, &o, got, want, path);
        free(want);
        free(got);
        free_operands(&o);
    }
    cz_kernels_force(NULL);
}

static void test_gemm_portable(void **state)
{
    (void)state;
    check_path("portable");
}

static void test_gemm_avx2(void **state)
{
    (void)state;
    check_path("avx2");
}

static void test_gemm_avx512(void **state)
{
    (void)state;
    check_path("avx512");
}

/* Conv-shaped products (B wide, K past several kc blocks) and linear
 * layers at small batches (a few rows dotted with B's rows) per path. */
static void test_gemm_conv_shapes(void **state)
{
    (void)state;
    static const char *const paths[] = {"portable", "avx2", "avx512"};
    static const gemm_case cases[] = {
        {false, false, 64, 3136, 576, 576, 3136, 3136, 1.0f, 0.0f},
        {false, false, 40, 300, 1100, 1100, 300, 300, 1.0f, 1.0f},
        {false, true, 24, 1030, 200, 200, 200, 1030, 1.0f, 0.0f},
        {true, false, 70, 49, 2304, 70, 49, 49, 1.0f, 0.0f},
        {false, true, 8, 700, 1030, 1030, 1030, 700, 1.0f, 0.0f}, /* linear, batch 8: dots */
        {false, true, 3, 65, 77, 80, 77, 70, 0.5f, 1.0f},        /* batch 3, ragged K */
        {false, false, 29, 2100, 16, 16, 2100, 2100, 1.0f, 0.0f}, /* shallow: along rows */
    };
    cz_rng rng;
    cz_rng_seed(&rng, 9);
    for (size_t p = 0; p < 3; p++) {
        if (!cz_kernels_force(paths[p])) {
            print_message("[  SKIPPED ] conv shapes on %s: not supported\n", paths[p]);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            operands o = make_operands(&cases[i], &rng);
            float *want = run(&cases[i], &o, cz_gemm_ref), *got = run(&cases[i], &o, cz_gemm);
            expect_match(&cases[i], &o, got, want, paths[p]);
            free(want);
            free(got);
            free_operands(&o);
        }
    }
    cz_kernels_force(NULL);
}

static void expect_same_bits(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            fail_msg("%s: element %zu differs: %.9g vs %.9g", what, i, (double)a[i],
                     (double)b[i]);
}

/* cz_gemm_parallel on 2, 3 and 4 threads = cz_gemm on one, bit for bit,
 * on every path (ref included: its callers rely on the same promise). */
static void test_gemm_parallel_bits(void **state)
{
    (void)state;
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    static const gemm_case cases[] = {
        {false, false, 64, 3136, 576, 576, 3136, 3136, 1.0f, 0.0f},  /* split over N */
        {false, false, 512, 49, 1000, 1000, 49, 49, 1.0f, 0.0f},     /* split over M */
        {true, true, 77, 93, 601, 77, 601, 95, -0.5f, 0.5f},
        {false, true, 1, 1000, 700, 700, 700, 1000, 1.0f, 1.0f},     /* x W^T: matrix-vector */
        {false, false, 500, 1, 300, 300, 1, 1, 1.0f, 0.5f},          /* W x: matrix-vector */
        {false, true, 5, 900, 300, 300, 300, 900, 1.0f, 0.5f},       /* x W^T, batch 5: dots */
        {true, false, 500, 1, 300, 500, 1, 1, 0.5f, 0.5f},           /* W^T x: column sweeps */
        {false, false, 2, 40, 30, 30, 40, 40, 1.0f, 0.0f},           /* thin: reference */
    };
    int saved = omp_get_max_threads();
    cz_rng rng;
    cz_rng_seed(&rng, 4);
    for (size_t p = 0; p < 4; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            const gemm_case *c = &cases[i];
            operands o = make_operands(c, &rng);
            float *one = run(c, &o, cz_gemm);
            for (int T = 2; T <= 4; T++) {
                omp_set_num_threads(T);
                float *par = run(c, &o, cz_gemm_parallel);
                expect_same_bits(par, one, (size_t)c->M * c->ldc, paths[p]);
                free(par);
            }
            omp_set_num_threads(saved);
            free(one);
            free_operands(&o);
        }
    }
    cz_kernels_force(NULL);
}

/* cz_gemm over row and column pieces of C (each at least 3 wide, as a
 * caller's split would make) = one call over all of C. */
static void test_gemm_pieces_bits(void **state)
{
    (void)state;
    static const char *const paths[] = {"portable", "avx2", "avx512"};
    gemm_case c = {false, false, 45, 301, 530, 530, 301, 301, 1.0f, 0.0f};
    cz_rng rng;
    cz_rng_seed(&rng, 8);
    operands o = make_operands(&c, &rng);
    for (size_t p = 0; p < 3; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        float *whole = run(&c, &o, cz_gemm);
        float *pieces = alloc_floats((size_t)c.M * c.ldc);
        /* Column pieces whose last slivers are 1 to 20 wide (AVX-512: the
         * 8 x 16 half up to 16, the half and 1-4 single columns up to 20). */
        static const int rows[] = {0, 7, 20, 45};
        static const int cols[][5] = {
            {0, 5, 38, 200, 301}, {0, 17, 67, 118, 301}, {0, 20, 52, 100, 301}};
        for (int set = 0; set < 3; set++) {
            for (int r = 0; r < 3; r++)
                for (int q = 0; q < 4; q++) {
                    const int *cs = cols[set];
                    cz_gemm(false, false, rows[r + 1] - rows[r], cs[q + 1] - cs[q], c.K,
                            c.alpha, o.A + (size_t)rows[r] * c.lda, c.lda, o.B + cs[q], c.ldb,
                            c.beta, pieces + (size_t)rows[r] * c.ldc + cs[q], c.ldc);
                }
            expect_same_bits(pieces, whole, (size_t)c.M * c.ldc, paths[p]);
        }
        free(whole);
        free(pieces);
    }
    free_operands(&o);
    cz_kernels_force(NULL);
}

/* Rows an epilogue saw, for test_gemm_packed_vector. */
typedef struct seen_rows {
    int calls, rows;
} seen_rows;

static void count_rows(void *ctx, float *c, int ldc, int row, int rows, int cols)
{
    (void)c, (void)ldc;
    seen_rows *s = ctx;
    assert_int_equal(row, s->rows); /* blocks in order, each once */
    assert_int_equal(cols, 1);
    s->calls++;
    s->rows += rows;
}

/* cz_gemm_packed with one column (a 1x1 conv on a 1x1 map, as in SE
 * blocks) on packed A, with and without A itself, per path: rows around
 * the 8-row slivers and their groups of four, K past one kc block, B and
 * C strided, beta 0 over NaN and 0.5; the epilogue sees every row once. */
static void test_gemm_packed_vector(void **state)
{
    (void)state;
    static const char *const paths[] = {"portable", "avx2", "avx512"};
    static const int shapes[][2] = {{1, 4},    {7, 48},  {8, 20},   {33, 24},
                                    {96, 4},   {100, 300}, {1152, 48}, {72, 600}};
    cz_rng rng;
    cz_rng_seed(&rng, 17);
    for (size_t p = 0; p < 3; p++) {
        if (!cz_kernels_force(paths[p])) {
            print_message("[  SKIPPED ] packed vector on %s: not supported\n", paths[p]);
            continue;
        }
        for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++)
            for (int v = 0; v < 4; v++) {
                gemm_case c = {false, false, shapes[t][0], 1, shapes[t][1], shapes[t][1],
                               v & 1 ? 3 : 1, v & 1 ? 2 : 1, 1.0f, v & 2 ? 0.5f : 0.0f};
                operands o = make_operands(&c, &rng);
                float *want = run(&c, &o, cz_gemm_ref);
                float *packed = alloc_floats(cz_gemm_pack_size(c.M, c.K));
                cz_packed_a pa;
                assert_true(cz_gemm_pack_a(false, c.M, c.K, o.A, c.lda, packed, &pa));
                for (int with_a = 0; with_a < 2; with_a++) {
                    float *got = alloc_floats((size_t)c.M * c.ldc);
                    memcpy(got, o.C0, sizeof(float) * (size_t)c.M * c.ldc);
                    seen_rows seen = {0};
                    cz_gemm_epilogue ep = {.fn = count_rows, .ctx = &seen};
                    cz_gemm_packed(&pa, with_a ? o.A : NULL, c.lda, c.M, 1, c.K, o.B, c.ldb,
                                   c.beta, got, c.ldc, NULL, &ep);
                    assert_int_equal(seen.rows, c.M);
                    expect_match(&c, &o, got, want, paths[p]);
                    free(got);
                }
                free(packed);
                free(want);
                free_operands(&o);
            }
    }
    cz_kernels_force(NULL);
}

/* A prologue that maps B's row k to max(x s_k + t_k, 0), as a BatchNorm
 * and ReLU before a 1x1 conv; counts the rows it saw. */
typedef struct row_affine {
    const float *s, *t;
    long rows;
} row_affine;

static void affine_rows(void *ctx, float *b, int row, int rows, int nr)
{
    row_affine *a = ctx;
    for (int k = 0; k < rows; k++)
        for (int c = 0; c < nr; c++) {
            float v = b[(size_t)k * nr + c] * a->s[row + k] + a->t[row + k];
            b[(size_t)k * nr + c] = v > 0.0f ? v : 0.0f;
        }
#pragma omp atomic
    a->rows += rows;
}

/* cz_gemm_packed(_parallel) with a prologue = the same product on B with
 * the prologue applied first: the same bits where the path packs B
 * (cz_gemm_packs_b), within the usual bound elsewhere (the reference path,
 * thin shapes); K past one kc block, so that rows start past 0; one and
 * two threads. Each row of B goes through the prologue at least once. */
static void test_gemm_prologue(void **state)
{
    (void)state;
    static const char *const paths[] = {"ref", "portable", "avx2", "avx512"};
    static const int shapes[][3] = {{128, 3136, 64}, {128, 49, 608}, {33, 70, 300},
                                    {8, 2, 40},      {2, 50, 30},    {96, 1, 24}};
    int saved = omp_get_max_threads();
    cz_rng rng;
    cz_rng_seed(&rng, 23);
    for (size_t p = 0; p < 4; p++) {
        if (!cz_kernels_force(paths[p]))
            continue;
        for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
            int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2];
            gemm_case c = {false, false, M, N, K, K, N, N, 1.0f, 0.0f};
            operands o = make_operands(&c, &rng);
            float *s = alloc_floats((size_t)K), *sh = alloc_floats((size_t)K);
            tu_fill_uniform(&rng, s, (size_t)K, 0.5f, 1.5f);
            tu_fill_uniform(&rng, sh, (size_t)K, -0.3f, 0.3f);
            operands plain = o;
            plain.B = alloc_floats((size_t)K * N);
            row_affine direct = {s, sh, 0};
            memcpy(plain.B, o.B, sizeof(float) * (size_t)K * N);
            affine_rows(&direct, plain.B, 0, K, N);
            float *packed = alloc_floats(cz_gemm_pack_size(M, K) + 1);
            cz_packed_a pa = {0};
            bool have_pack = cz_gemm_pack_a(false, M, K, o.A, K, packed, &pa);
            float *want = run(&c, &plain, cz_gemm);
            for (int T = 1; T <= 2; T++) {
                omp_set_num_threads(T);
                float *got = alloc_floats((size_t)M * N);
                row_affine ra = {s, sh, 0};
                cz_gemm_prologue pro = {.fn = affine_rows, .ctx = &ra};
                cz_gemm_packed_parallel(have_pack ? &pa : NULL, o.A, K, M, N, K, o.B, N, 0.0f,
                                        got, N, &pro, NULL);
                char what[96];
                snprintf(what, sizeof what, "%s, %dx%dx%d, %d threads", paths[p], M, N, K, T);
                assert_true(ra.rows >= K);
                if (cz_gemm_packs_b(M, N))
                    expect_same_bits(got, want, (size_t)M * N, what);
                else
                    expect_match(&c, &plain, got, want, what);
                free(got);
            }
            omp_set_num_threads(saved);
            free(want), free(packed), free(s), free(sh), free(plain.B);
            free_operands(&o);
        }
    }
    cz_kernels_force(NULL);
}

static void test_kernel_paths(void **state)
{
    (void)state;
    assert_false(cz_kernels_force("sse9"));
    assert_true(cz_kernels_force("ref"));
    assert_string_equal(cz_kernels_path(), "ref");
    assert_true(cz_kernels_force("portable"));
    assert_int_equal(cz_kernels_current(), CZ_KPATH_PORTABLE);
    assert_true(cz_kernels_supported(CZ_KPATH_REF));
    assert_true(cz_kernels_supported(CZ_KPATH_PORTABLE));
    assert_true(cz_kernels_force(NULL));
    print_message("automatic kernel path on this CPU: %s\n", cz_kernels_path());
    if (!getenv("CZ_KERNELS") && cz_kernels_supported(CZ_KPATH_AVX512))
        assert_string_equal(cz_kernels_path(), "avx512");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_paths),
        cmocka_unit_test(test_gemm_portable),
        cmocka_unit_test(test_gemm_avx2),
        cmocka_unit_test(test_gemm_avx512),
        cmocka_unit_test(test_gemm_conv_shapes),
        cmocka_unit_test(test_gemm_packed_vector),
        cmocka_unit_test(test_gemm_prologue),
        cmocka_unit_test(test_gemm_parallel_bits),
        cmocka_unit_test(test_gemm_pieces_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
