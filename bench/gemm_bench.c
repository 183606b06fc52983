/*
 * gemm_bench.c - GFLOP/s of cz_gemm per kernel path, and the wall time of
 * a model's forward pass.
 *
 *   cz_bench_gemm gemm [THREADS...]      square and conv-shaped products on
 *                                        every path this CPU runs (default
 *                                        threads: 1 and 2)
 *   cz_bench_gemm direct [THREADS...]    the blocked direct conv (AVX-512)
 *                                        on the layer shapes it runs in the
 *                                        zoo, batch 1
 *   cz_bench_gemm model NAME [THREADS] [BATCH] [RUNS]
 *                                        median forward time in eval mode
 *                                        (CZ_KERNELS picks the path), then
 *                                        the slowest layers with their
 *                                        kernel and GFLOP/s
 *
 * Each product is checked against the reference before it is timed: a fast
 * wrong answer is not a result. Timings are medians over repeated runs;
 * on a shared machine compare numbers from one run only.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnnzoo.h"
#include "kernels/kernels.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *random_floats(size_t n, unsigned seed)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; p && i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
    return p;
}

typedef struct shape {
    const char *what;
    int M, N, K;
} shape;

static const shape shapes[] = {
    {"square 256", 256, 256, 256},
    {"square 512", 512, 512, 512},
    {"square 1024", 1024, 1024, 1024},
    {"resnet 3x3 64ch 56x56", 64, 3136, 576},
    {"resnet 1x1 256->64 56x56", 64, 3136, 256},
    {"resnet 3x3 256ch 14x14", 256, 196, 2304},
    {"resnet 3x3 512ch 7x7", 512, 49, 4608},
    {"mobilenet 1x1 24->144 56x56", 144, 3136, 24},
    {"mobilenet 1x1 32->192 28x28", 192, 784, 32},
    {"mobilenet 1x1 64->384 14x14", 384, 196, 64},
    {"mobilenet 1x1 160->960 7x7", 960, 49, 160},
};

/* Median seconds of cz_gemm_parallel over runs filling about 0.4 s. */
static double time_gemm(const shape *s, const float *A, const float *B, float *C)
{
    double times[64];
    int runs = 0;
    double start = now();
    while (runs < 64 && (runs < 3 || now() - start < 0.4)) {
        double t0 = now();
        cz_gemm_parallel(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N);
        times[runs++] = now() - t0;
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    return times[runs / 2];
}

/* Max |C - Cref| / sum|a||b| bound over C; the bench refuses wrong kernels. */
static bool matches(const shape *s, const float *C, const float *ref)
{
    for (size_t i = 0; i < (size_t)s->M * s->N; i++)
        if (!(fabsf(C[i] - ref[i]) <= 1e-5f * (float)s->K))
            return false;
    return true;
}

static int bench_gemm(int n_threads, const int *threads)
{
    static const cz_kpath paths[] = {CZ_KPATH_REF, CZ_KPATH_PORTABLE, CZ_KPATH_AVX2,
                                     CZ_KPATH_AVX512};
    printf("%-26s %6s %6s %6s  %8s  %s\n", "shape", "M", "N", "K", "threads",
           "GFLOP/s per path");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape *s = &shapes[i];
        float *A = random_floats((size_t)s->M * s->K, 1), *B = random_floats((size_t)s->K * s->N, 2);
        float *C = malloc(sizeof(float) * s->M * s->N), *ref = malloc(sizeof(float) * s->M * s->N);
        if (!A || !B || !C || !ref)
            return 1;
        cz_gemm_ref(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, ref, s->N);
        for (int t = 0; t < n_threads; t++) {
            omp_set_num_threads(threads[t]);
            printf("%-26s %6d %6d %6d  %8d ", s->what, s->M, s->N, s->K, threads[t]);
            for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
                if (!cz_kernels_force(cz_kpath_name(paths[p])))
                    continue;
                cz_gemm_parallel(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C,
                                 s->N);
                if (!matches(s, C, ref)) {
                    printf(" %s: WRONG RESULT\n", cz_kpath_name(paths[p]));
                    return 1;
                }
                double sec = time_gemm(s, A, B, C);
                printf(" %s %.1f", cz_kpath_name(paths[p]), 2.0 * s->M * s->N * s->K / sec * 1e-9);
                fflush(stdout);
            }
            printf("\n");
        }
        free(A), free(B), free(C), free(ref);
    }
    cz_kernels_force(NULL);
    return 0;
}

typedef struct conv_shape {
    const char *what;
    int C, H, OC, k, stride;
} conv_shape;

static const conv_shape conv_shapes[] = {
    {"resnet stem 7x7/2", 3, 224, 64, 7, 2},
    {"resnet 3x3 64ch 56x56", 64, 56, 64, 3, 1},
    {"resnet 3x3/2 128ch 56->28", 128, 56, 128, 3, 2},
    {"resnet 3x3 256ch 14x14", 256, 14, 256, 3, 1},
    {"resnet 3x3 512ch 7x7", 512, 7, 512, 3, 1},
    {"resnet 1x1 2048->512 7x7", 2048, 7, 512, 1, 1},
    {"resnet 1x1/2 1024->2048", 1024, 14, 2048, 1, 2},
    {"inception 5x5 48->64 35x35", 48, 35, 64, 5, 1},
    {"densenet 3x3 128->32 14x14", 128, 14, 32, 3, 1},
};

/* Median seconds of cz_direct_conv over runs filling about 0.4 s. */
static double time_direct(const cz_conv_geom *g, int OC, const float *packed, const float *x,
                          float *y, float *scratch, int threads)
{
    double times[64];
    int runs = 0;
    double start = now();
    while (runs < 64 && (runs < 3 || now() - start < 0.4)) {
        double t0 = now();
        cz_direct_conv(g, OC, packed, 1, x, y, scratch, threads, NULL);
        times[runs++] = now() - t0;
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    return times[runs / 2];
}

static int bench_direct(int n_threads, const int *threads)
{
    if (!cz_kernels_force("avx512")) {
        fprintf(stderr, "cz_bench_gemm: the direct conv needs AVX-512\n");
        return 1;
    }
    int most = 1;
    for (int t = 0; t < n_threads; t++)
        most = threads[t] > most ? threads[t] : most;
    printf("%-28s %8s  %s\n", "shape", "threads", "ms, GFLOP/s");
    for (size_t i = 0; i < sizeof conv_shapes / sizeof *conv_shapes; i++) {
        const conv_shape *c = &conv_shapes[i];
        int p = c->k / 2, out = (c->H + 2 * p - c->k) / c->stride + 1;
        cz_conv_geom g = {.channels = c->C, .height = c->H, .width = c->H, .kernel_h = c->k,
                          .kernel_w = c->k, .stride_h = c->stride, .stride_w = c->stride,
                          .pad_h = p, .pad_w = p, .dilation = 1, .out_h = out, .out_w = out};
        int K = c->C * c->k * c->k, P = out * out;
        float *x = random_floats((size_t)c->C * c->H * c->H, 1);
        float *w = random_floats((size_t)c->OC * K, 2);
        float *col = malloc(sizeof(float) * K * P), *ref = malloc(sizeof(float) * c->OC * P);
        float *y = malloc(sizeof(float) * c->OC * P);
        float *packed = malloc(sizeof(float) * cz_direct_weights_size(&g, c->OC));
        size_t scratch_floats = cz_direct_scratch(&g, 1, most);
        float *scratch = aligned_alloc(64, (sizeof(float) * scratch_floats + 63) / 64 * 64);
        if (!x || !w || !col || !ref || !y || !packed || !scratch)
            return 1;
        cz_im2col(&g, x, col);
        cz_gemm_ref(false, false, c->OC, P, K, 1.0f, w, K, col, P, 0.0f, ref, P);
        cz_direct_weights(&g, c->OC, w, packed);
        for (int t = 0; t < n_threads; t++) {
            cz_direct_conv(&g, c->OC, packed, 1, x, y, scratch, threads[t], NULL);
            shape s = {c->what, c->OC, P, K};
            if (!matches(&s, y, ref)) {
                printf("%s: WRONG RESULT\n", c->what);
                return 1;
            }
            double sec = time_direct(&g, c->OC, packed, x, y, scratch, threads[t]);
            printf("%-28s %8d  %.3f %.1f\n", c->what, threads[t], 1e3 * sec,
                   2.0 * c->OC * P * K / sec * 1e-9);
            fflush(stdout);
        }
        free(x), free(w), free(col), free(ref), free(y), free(packed), free(scratch);
    }
    cz_kernels_force(NULL);
    return 0;
}

typedef struct layer_time {
    int node;
    double seconds;
} layer_time;

static int cmp_layer(const void *a, const void *b)
{
    double x = ((const layer_time *)a)->seconds, y = ((const layer_time *)b)->seconds;
    return (x < y) - (x > y);
}

/* The ten slowest layers over `runs` profiled forwards. */
static void print_layers(cz_net *net, const cz_tensor *x, int runs)
{
    int n = cz_net_node_count(net);
    double *sec = calloc((size_t)n, sizeof *sec);
    layer_time *lt = malloc(sizeof *lt * (size_t)n);
    const cz_tensor *y;
    if (!sec || !lt)
        return;
    cz_net_set_profile(net, sec);
    for (int r = 0; r < runs; r++)
        if (cz_net_forward(net, x, &y) != CZ_OK)
            break;
    cz_net_set_profile(net, NULL);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        lt[i] = (layer_time){i, sec[i] / runs};
        total += lt[i].seconds;
    }
    qsort(lt, (size_t)n, sizeof *lt, cmp_layer);
    printf("  %-28s %-22s %8s %6s %8s\n", "slowest layers", "kernel", "ms", "share", "GFLOP/s");
    for (int i = 0; i < n && i < 10; i++) {
        int64_t macs = cz_net_node_macs(net, lt[i].node);
        printf("  %-28s %-22s %8.3f %5.1f%% %8.1f\n", cz_net_node_name(net, lt[i].node),
               cz_net_node_kernel(net, lt[i].node), 1e3 * lt[i].seconds,
               100.0 * lt[i].seconds / total,
               macs ? 2e-9 * (double)macs * x->shape[0] / lt[i].seconds : 0.0);
    }
    /* Totals per kernel name: how much is convolution at all. */
    printf("  %-28s %8s %6s %8s\n", "per kernel", "ms", "share", "GFLOP/s");
    for (int i = 0; i < n; i++) {
        const char *k = cz_net_node_kernel(net, lt[i].node);
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(cz_net_node_kernel(net, lt[j].node), k) == 0;
        if (seen)
            continue;
        double sum = 0.0, macs = 0.0;
        for (int j = i; j < n; j++)
            if (strcmp(cz_net_node_kernel(net, lt[j].node), k) == 0) {
                sum += lt[j].seconds;
                macs += (double)cz_net_node_macs(net, lt[j].node) * x->shape[0];
            }
        printf("  %-28s %8.3f %5.1f%% %8.1f\n", k, 1e3 * sum, 100.0 * sum / total,
               2e-9 * macs / sum);
    }
    free(sec);
    free(lt);
}

static int bench_model(const char *name, int threads, int batch, int runs)
{
    cz_set_threads(threads);
    cz_net *net = cz_model_create(name, 0, 0, 0, 1);
    const cz_model_info *info = cz_model_find(name);
    if (!net || !info) {
        fprintf(stderr, "cz_bench_gemm: %s\n", cz_last_error());
        return 1;
    }
    cz_net_set_training(net, false);
    cz_tensor x = {0};
    int shape[4] = {batch, info->channels, info->height, info->width};
    if (cz_tensor_alloc(&x, 4, shape) != CZ_OK)
        return 1;
    for (size_t i = 0; i < cz_tensor_numel(&x); i++)
        x.data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    double *times = malloc(sizeof(double) * (size_t)runs);
    const cz_tensor *y;
    for (int r = -2; r < runs; r++) { /* two warm-up runs */
        double t0 = now();
        if (cz_net_forward(net, &x, &y) != CZ_OK) {
            fprintf(stderr, "cz_bench_gemm: %s\n", cz_last_error());
            return 1;
        }
        if (r >= 0)
            times[r] = now() - t0;
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    int64_t macs = 0;
    for (int i = 0; i < cz_net_node_count(net); i++)
        macs += cz_net_node_macs(net, i);
    printf("%s batch %d threads %d path %s: median %.2f ms (min %.2f, max %.2f) over %d runs, "
           "%.1f GFLOP/s\n",
           name, batch, threads, cz_kernels_path(), 1e3 * times[runs / 2], 1e3 * times[0],
           1e3 * times[runs - 1], runs, 2e-9 * (double)macs * batch / times[runs / 2]);
    free(times);
    print_layers(net, &x, runs);
    cz_tensor_free(&x);
    cz_net_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gemm") == 0) {
        int threads[8] = {1, 2}, n = argc > 2 ? 0 : 2;
        for (int i = 2; i < argc && n < 8; i++)
            threads[n++] = atoi(argv[i]);
        return bench_gemm(n, threads);
    }
    if (argc >= 2 && strcmp(argv[1], "direct") == 0) {
        int threads[8] = {1, 2}, n = argc > 2 ? 0 : 2;
        for (int i = 2; i < argc && n < 8; i++)
            threads[n++] = atoi(argv[i]) > 0 ? atoi(argv[i]) : 1;
        return bench_direct(n, threads);
    }
    if (argc >= 3 && strcmp(argv[1], "model") == 0)
        return bench_model(argv[2], argc > 3 ? atoi(argv[3]) : 2, argc > 4 ? atoi(argv[4]) : 1,
                           argc > 5 ? atoi(argv[5]) : 10);
    fprintf(stderr, "usage: cz_bench_gemm gemm [THREADS...]\n"
                    "       cz_bench_gemm direct [THREADS...]\n"
                    "       cz_bench_gemm model NAME [THREADS] [BATCH] [RUNS]\n");
    return 2;
}
