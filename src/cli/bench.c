/*
 * bench.c - `cnnzoo bench MODEL`: how fast MODEL runs on this machine.
 * A seeded random batch goes through the model (random initial weights
 * unless --weights): a few untimed warm-up runs, then timed runs until
 * both --runs runs and --min-time seconds are done. Reported: the median
 * and spread of the run times, images/s, the achieved GFLOP/s (2 x the
 * model's conv + linear MACs x batch / median; 3x the forward MACs for a
 * training step), the peak RSS, and with --layers every node's time, the
 * kernel it ran and its GFLOP/s, so a slow layer is never silent.
 * --train times one SGD step instead: forward in training mode,
 * cross-entropy on random labels, backward, update.
 * Limits: wall-clock times of one process; on a shared machine other
 * work shows up as spread. The per-layer times are means over the timed
 * runs, read from the net's profiling hooks (for backward: the clock
 * each time backward leaves a node).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "train/optim.h"

/* The SGD settings of the timed training step; bench/torch_bench.py uses
 * the same, and their values do not change the time of a step. */
#define BENCH_LR 0.001f
#define BENCH_MOMENTUM 0.9f
#define BENCH_WEIGHT_DECAY 1e-4f

typedef struct bench_opts {
    const char *model, *input, *weights;
    int batch, threads, classes, runs, warmup;
    float min_time;
    bool train, layers, json;
    uint64_t seed;
} bench_opts;

/* The model under test and what its steps reuse. */
typedef struct bench_model {
    cz_net *net;
    cz_tensor x;      /* random input (N, C, H, W) */
    int *labels;      /* --train: a random class per sample */
    cz_tensor dmain;  /* --train: d(loss)/d(logits) */
    cz_tensor daux[CZ_MAX_AUX];
    cz_optim opt;     /* --train */
    bool opt_ready;
    double loss;      /* --train: the last step's loss */
} bench_model;

/* What the timed runs measured. */
typedef struct bench_times {
    double *run;       /* seconds of each timed run */
    int n, cap;
    double elapsed;    /* seconds of all timed runs */
    double *fwd, *bwd; /* --layers: seconds per node, summed over runs */
    double stamp;      /* the clock when backward last left a node */
    double optim;      /* --train: seconds of the optimizer steps */
} bench_times;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- setup */

/* Builds the model at the requested size. A size or name the model cannot
 * take is a usage error, found on the shapes-only net before any weight
 * is allocated; a failure after that is a failure of the work. */
static int build_net(const bench_opts *o, cz_net **net)
{
    int c = 0, h = 0, w = 0, rc;
    if (o->input && (rc = cz_cli_parse_chw("bench", o->input, &c, &h, &w)) >= 0)
        return rc;
    const cz_model_info *info = cz_model_find(o->model);
    if (!info) {
        cz_cli_error("bench: unknown model '%s' (`cnnzoo list` shows them all)", o->model);
        return CZ_EXIT_USAGE;
    }
    if (o->input && c != info->channels) {
        cz_cli_error("bench: %s takes %d input channels, --input gives %d", o->model,
                     info->channels, c);
        return CZ_EXIT_USAGE;
    }
    cz_net *shapes = cz_model_describe(o->model, o->classes, h, w);
    if (!shapes) {
        cz_cli_error("bench: %s", cz_last_error());
        return CZ_EXIT_USAGE;
    }
    cz_net_free(shapes);
    *net = cz_model_create(o->model, o->classes, h, w, o->seed);
    if (!*net) {
        cz_cli_error("bench: %s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    return o->weights ? cz_cli_load_weights(*net, o->weights, true) : CZ_EXIT_OK;
}

/* Classes of the main output: the width of its (K) features. */
static int output_classes(const cz_net *net)
{
    int shape[3];
    cz_net_node_shape(net, cz_net_output(net), shape);
    return shape[0];
}

/* The random batch (standard normal, like normalised images) and, for a
 * training step, random labels and the optimizer. */
static cz_status prepare_data(bench_model *m, const bench_opts *o)
{
    int in[3];
    cz_net_node_shape(m->net, CZ_INPUT, in);
    int shape[4] = {o->batch, in[0], in[1], in[2]};
    cz_status s = cz_tensor_alloc(&m->x, 4, shape);
    if (s != CZ_OK)
        return s;
    cz_rng rng;
    cz_rng_seed(&rng, o->seed);
    for (size_t i = 0; i < cz_tensor_numel(&m->x); i++)
        m->x.data[i] = (float)cz_rng_normal(&rng);
    cz_net_set_training(m->net, o->train);
    cz_net_set_fusion(m->net, true);
    if (!o->train)
        return CZ_OK;
    m->labels = malloc((size_t)o->batch * sizeof *m->labels);
    if (!m->labels)
        return cz_fail(CZ_ERR_NOMEM, "bench: out of memory for %d labels", o->batch);
    int classes = output_classes(m->net);
    for (int i = 0; i < o->batch; i++)
        m->labels[i] = (int)cz_rng_below(&rng, (uint64_t)classes);
    cz_optim_config cfg = cz_optim_defaults(CZ_OPTIM_SGD);
    cfg.lr = BENCH_LR;
    cfg.momentum = BENCH_MOMENTUM;
    cfg.weight_decay = BENCH_WEIGHT_DECAY;
    s = cz_optim_init(&m->opt, m->net, &cfg);
    m->opt_ready = s == CZ_OK;
    return s;
}

static void bench_model_free(bench_model *m)
{
    if (m->opt_ready)
        cz_optim_free(&m->opt);
    cz_tensor_free(&m->x);
    cz_tensor_free(&m->dmain);
    for (int i = 0; i < CZ_MAX_AUX; i++)
        cz_tensor_free(&m->daux[i]);
    free(m->labels);
    cz_net_free(m->net);
}

/* ---------------------------------------------------------------- steps */

/* Called as backward leaves each node: the time since the previous such
 * moment is that node's backward time. */
static void backward_left(void *ctx, cz_net *net, int node)
{
    (void)net;
    bench_times *t = ctx;
    double now = now_seconds();
    t->bwd[node] += now - t->stamp;
    t->stamp = now;
}

/* The loss gradients of a training forward: the main output's
 * cross-entropy and, as torchvision trains GoogLeNet and Inception-v3,
 * each auxiliary classifier's, so backward runs through those too. */
static cz_status loss_gradients(bench_model *m, const cz_tensor *logits)
{
    cz_status s = cz_cross_entropy(logits, m->labels, 0.0f, &m->loss, &m->dmain);
    for (int i = 0; s == CZ_OK && i < cz_net_aux_count(m->net) && i < CZ_MAX_AUX; i++) {
        const cz_tensor *a = cz_net_node_output(m->net, cz_net_aux_output(m->net, i));
        double aux;
        s = cz_cross_entropy(a, m->labels, 0.0f, &aux, &m->daux[i]);
    }
    return s;
}

/* One training step: forward, loss, backward, SGD update. */
static cz_status train_step(bench_model *m, bench_times *t)
{
    const cz_tensor *logits;
    cz_status s = cz_net_forward(m->net, &m->x, &logits);
    if (s == CZ_OK)
        s = loss_gradients(m, logits);
    if (s != CZ_OK)
        return s;
    const cz_tensor *daux[CZ_MAX_AUX];
    for (int i = 0; i < CZ_MAX_AUX; i++)
        daux[i] = &m->daux[i];
    cz_net_zero_grad(m->net);
    t->stamp = now_seconds();
    s = cz_net_backward_aux(m->net, &m->dmain, cz_net_aux_count(m->net) > 0 ? daux : NULL);
    if (s != CZ_OK)
        return s;
    double t0 = now_seconds();
    cz_optim_step(&m->opt, m->net);
    t->optim += now_seconds() - t0;
    return CZ_OK;
}

static cz_status step(bench_model *m, const bench_opts *o, bench_times *t)
{
    return o->train ? train_step(m, t) : cz_net_forward(m->net, &m->x, NULL);
}

static cz_status record_run(bench_times *t, double seconds)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        double *run = realloc(t->run, (size_t)cap * sizeof *run);
        if (!run)
            return cz_fail(CZ_ERR_NOMEM, "bench: out of memory for %d run times", cap);
        t->run = run;
        t->cap = cap;
    }
    t->run[t->n++] = seconds;
    t->elapsed += seconds;
    return CZ_OK;
}

/* A net computing NaN or Inf may run at another speed than its real work
 * (and a broken kernel must not pass for a fast one). */
static cz_status check_finite(const bench_model *m, const bench_opts *o)
{
    if (o->train) {
        if (!isfinite(m->loss))
            return cz_fail(CZ_ERR_NUMERIC, "bench: %s's training loss is not finite (%g)",
                           o->model, m->loss);
        return CZ_OK;
    }
    const cz_tensor *y = cz_net_node_output(m->net, cz_net_output(m->net));
    for (size_t i = 0; i < cz_tensor_numel(y); i++)
        if (!isfinite(y->data[i]))
            return cz_fail(CZ_ERR_NUMERIC, "bench: %s's output [%zu] is not finite (%g)",
                           o->model, i, (double)y->data[i]);
    return CZ_OK;
}

/* Warm-up, then timed runs until both the run count and the minimum time
 * are reached. The profiles start from zero after the warm-up. */
static cz_status time_runs(bench_model *m, const bench_opts *o, bench_times *t)
{
    int nodes = cz_net_node_count(m->net);
    cz_status s = CZ_OK;
    for (int i = 0; i < o->warmup && s == CZ_OK; i++)
        s = step(m, o, t);
    if (o->layers) {
        memset(t->fwd, 0, (size_t)nodes * sizeof *t->fwd);
        memset(t->bwd, 0, (size_t)nodes * sizeof *t->bwd);
    }
    t->optim = 0;
    while (s == CZ_OK && (t->n < o->runs || t->elapsed < o->min_time)) {
        double t0 = now_seconds();
        s = step(m, o, t);
        if (s == CZ_OK)
            s = record_run(t, now_seconds() - t0);
    }
    return s == CZ_OK ? check_finite(m, o) : s;
}

/* ---------------------------------------------------------------- report */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run-time statistics in milliseconds. */
typedef struct bench_stats {
    double median, mean, min, max, p10, p90;
} bench_stats;

/* The p-quantile of sorted values, interpolated linearly (numpy's default). */
static double quantile(const double *sorted, int n, double p)
{
    double pos = p * (n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/* Sorts t->run in place (the order of the runs is not reported). */
static bench_stats run_stats(bench_times *t)
{
    qsort(t->run, (size_t)t->n, sizeof *t->run, compare_doubles);
    bench_stats st = {
        .median = 1e3 * quantile(t->run, t->n, 0.5),
        .mean = 1e3 * t->elapsed / t->n,
        .min = 1e3 * t->run[0],
        .max = 1e3 * t->run[t->n - 1],
        .p10 = 1e3 * quantile(t->run, t->n, 0.1),
        .p90 = 1e3 * quantile(t->run, t->n, 0.9),
    };
    return st;
}

/* FLOPs of one timed step: a multiply-add is 2; a training step counts 3x
 * the forward (forward, input gradients, weight gradients). */
static double step_flop(const bench_opts *o, int64_t macs)
{
    return 2.0 * (double)macs * o->batch * (o->train ? 3 : 1);
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

/* One row of the per-layer table. */
typedef struct layer_row {
    int node;
    double fwd_ms, bwd_ms, ms; /* mean per timed run */
    double gflops;             /* 0: not a conv or linear node */
    int rank;                  /* 1: the slowest */
} layer_row;

static int compare_rows_by_time(const void *a, const void *b)
{
    const layer_row *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

static int compare_rows_by_node(const void *a, const void *b)
{
    const layer_row *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

/* The nodes that ran (auxiliary branches only in training), in net
 * order, each with its rank by time. Returns the row count, or -1. */
static int layer_rows(const cz_net *net, const bench_opts *o, const bench_times *t,
                      layer_row **out)
{
    int nodes = cz_net_node_count(net), n = 0;
    layer_row *rows = malloc((size_t)nodes * sizeof *rows);
    if (!rows)
        return -1;
    for (int i = 1; i < nodes; i++) {
        if (cz_net_node_is_aux(net, i) && !o->train)
            continue;
        layer_row *r = &rows[n++];
        r->node = i;
        r->fwd_ms = 1e3 * t->fwd[i] / t->n;
        r->bwd_ms = 1e3 * t->bwd[i] / t->n;
        r->ms = r->fwd_ms + r->bwd_ms;
        int64_t macs = cz_net_node_macs(net, i);
        r->gflops = macs > 0 && r->ms > 0 ? step_flop(o, macs) / (1e6 * r->ms) : 0;
    }
    qsort(rows, (size_t)n, sizeof *rows, compare_rows_by_time);
    for (int k = 0; k < n; k++)
        rows[k].rank = k + 1;
    qsort(rows, (size_t)n, sizeof *rows, compare_rows_by_node);
    *out = rows;
    return n;
}

static double rows_total_ms(const layer_row *rows, int n)
{
    double total = 0;
    for (int k = 0; k < n; k++)
        total += rows[k].ms;
    return total;
}

static const layer_row *slowest_row(const layer_row *rows, int n)
{
    for (int k = 0; k < n; k++)
        if (rows[k].rank == 1)
            return &rows[k];
    return NULL;
}

static void print_header(const cz_net *net, const bench_opts *o)
{
    int in[3];
    cz_net_node_shape(net, CZ_INPUT, in);
    printf("model       %s\n", o->model);
    printf("mode        %s\n", o->train ? "training step (forward, cross-entropy, backward, SGD)"
                                        : "inference (eval mode)");
    printf("weights     %s\n", o->weights ? o->weights : "random (seeded)");
    printf("batch       %d\n", o->batch);
    printf("input       %dx%dx%d\n", in[0], in[1], in[2]);
    printf("classes     %d\n", output_classes(net));
    printf("threads     %d\n", cz_get_threads());
}

static void print_summary(const cz_net *net, const bench_opts *o, const bench_times *t,
                          const bench_stats *st)
{
    int64_t macs = cz_net_macs(net);
    print_header(net, o);
    printf("runs        %d timed (%.2f s) after %d warm-up\n", t->n, t->elapsed, o->warmup);
    printf("median      %.3f ms\n", st->median);
    printf("mean        %.3f ms\n", st->mean);
    printf("min         %.3f ms\n", st->min);
    printf("p10 / p90   %.3f / %.3f ms\n", st->p10, st->p90);
    printf("max         %.3f ms\n", st->max);
    printf("images/s    %.2f\n", o->batch / (st->median / 1e3));
    printf("MACs        %.4f G per image (conv + linear, forward)\n", macs / 1e9);
    printf("GFLOP/s     %.2f (2 x MACs x batch%s / median)\n",
           step_flop(o, macs) / (1e6 * st->median), o->train ? " x 3" : "");
    printf("peak RSS    %.1f MiB\n", peak_rss_mib());
}

static void print_layers(const cz_net *net, const bench_opts *o, const bench_times *t,
                         const layer_row *rows, int n, const bench_stats *st)
{
    double total = rows_total_ms(rows, n);
    printf("\nper layer, mean ms per run (rank 1 = slowest; * = one of the ten slowest):\n");
    printf("%5s  %-40s %-18s %-20s %-14s", "rank", "layer", "op", "kernel", "output");
    if (o->train)
        printf(" %10s %10s", "fwd ms", "bwd ms");
    printf(" %10s %6s %9s\n", "ms", "%", "GFLOP/s");
    for (int k = 0; k < n; k++) {
        const layer_row *r = &rows[k];
        char shape[48], gflops[32] = "-";
        cz_cli_shape_text(net, r->node, shape, sizeof shape);
        if (r->gflops > 0)
            snprintf(gflops, sizeof gflops, "%.1f", r->gflops);
        printf("%4d%c  %-40s %-18s %-20s %-14s", r->rank, r->rank <= 10 ? '*' : ' ',
               cz_net_node_name(net, r->node), cz_net_node_op(net, r->node),
               cz_net_node_kernel(net, r->node), shape);
        if (o->train)
            printf(" %10.3f %10.3f", r->fwd_ms, r->bwd_ms);
        printf(" %10.3f %6.2f %9s\n", r->ms, total > 0 ? 100 * r->ms / total : 0.0, gflops);
    }
    const layer_row *s = slowest_row(rows, n);
    if (s) {
        char gflops[48] = "";
        if (s->gflops > 0)
            snprintf(gflops, sizeof gflops, ", %.1f GFLOP/s", s->gflops);
        printf("slowest: %s (%s, %s) %.3f ms, %.1f%% of the layers' time%s\n",
               cz_net_node_name(net, s->node), cz_net_node_op(net, s->node),
               cz_net_node_kernel(net, s->node), s->ms, total > 0 ? 100 * s->ms / total : 0.0,
               gflops);
    }
    printf("the layers take %.3f ms of the %.3f ms mean run", total, st->mean);
    if (o->train)
        printf("; the optimizer step %.3f ms; the rest is the loss and clearing gradients",
               1e3 * t->optim / t->n);
    printf("\n");
}

/* ---------------------------------------------------------------- json */

static cJSON *json_shape(const cz_net *net, int node)
{
    int shape[3], ndim = cz_net_node_shape(net, node, shape);
    return cJSON_CreateIntArray(shape, ndim);
}

static cJSON *json_layer(const cz_net *net, const bench_opts *o, const layer_row *r,
                         double total)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "node", r->node);
    cJSON_AddStringToObject(l, "name", cz_net_node_name(net, r->node));
    cJSON_AddStringToObject(l, "op", cz_net_node_op(net, r->node));
    cJSON_AddStringToObject(l, "kernel", cz_net_node_kernel(net, r->node));
    cJSON_AddItemToObject(l, "shape", json_shape(net, r->node));
    cJSON_AddNumberToObject(l, "macs", (double)cz_net_node_macs(net, r->node));
    if (o->train) {
        cJSON_AddNumberToObject(l, "fwd_ms", r->fwd_ms);
        cJSON_AddNumberToObject(l, "bwd_ms", r->bwd_ms);
    }
    cJSON_AddNumberToObject(l, "ms", r->ms);
    cJSON_AddNumberToObject(l, "percent", total > 0 ? 100 * r->ms / total : 0.0);
    if (r->gflops > 0)
        cJSON_AddNumberToObject(l, "gflops", r->gflops);
    else
        cJSON_AddNullToObject(l, "gflops");
    cJSON_AddNumberToObject(l, "rank", r->rank);
    return l;
}

static void json_add_layers(cJSON *root, const cz_net *net, const bench_opts *o,
                            const bench_times *t, const layer_row *rows, int n)
{
    double total = rows_total_ms(rows, n);
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int k = 0; k < n; k++)
        cJSON_AddItemToArray(layers, json_layer(net, o, &rows[k], total));
    const layer_row *s = slowest_row(rows, n);
    if (s)
        cJSON_AddItemToObject(root, "slowest", json_layer(net, o, s, total));
    cJSON_AddNumberToObject(root, "layers_ms", total);
    if (o->train)
        cJSON_AddNumberToObject(root, "optimizer_ms", 1e3 * t->optim / t->n);
}

static cJSON *json_report(const cz_net *net, const bench_opts *o, const bench_times *t,
                          const bench_stats *st)
{
    int64_t macs = cz_net_macs(net);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", o->model);
    cJSON_AddStringToObject(root, "mode", o->train ? "train" : "inference");
    if (o->weights)
        cJSON_AddStringToObject(root, "weights", o->weights);
    else
        cJSON_AddNullToObject(root, "weights");
    cJSON_AddNumberToObject(root, "batch", o->batch);
    cJSON_AddItemToObject(root, "input", json_shape(net, CZ_INPUT));
    cJSON_AddNumberToObject(root, "classes", output_classes(net));
    cJSON_AddNumberToObject(root, "threads", cz_get_threads());
    cJSON_AddNumberToObject(root, "seed", (double)o->seed);
    cJSON_AddNumberToObject(root, "warmup", o->warmup);
    cJSON_AddNumberToObject(root, "runs", t->n);
    cJSON_AddNumberToObject(root, "timed_s", t->elapsed);
    cJSON *ms = cJSON_AddObjectToObject(root, "ms");
    cJSON_AddNumberToObject(ms, "median", st->median);
    cJSON_AddNumberToObject(ms, "mean", st->mean);
    cJSON_AddNumberToObject(ms, "min", st->min);
    cJSON_AddNumberToObject(ms, "p10", st->p10);
    cJSON_AddNumberToObject(ms, "p90", st->p90);
    cJSON_AddNumberToObject(ms, "max", st->max);
    cJSON_AddNumberToObject(root, "images_per_s", o->batch / (st->median / 1e3));
    cJSON_AddNumberToObject(root, "macs", (double)macs);
    cJSON_AddNumberToObject(root, "flop_per_step", step_flop(o, macs));
    cJSON_AddNumberToObject(root, "gflops", step_flop(o, macs) / (1e6 * st->median));
    cJSON_AddNumberToObject(root, "peak_rss_mib", peak_rss_mib());
    return root;
}

/* ---------------------------------------------------------------- command */

static int report(const cz_net *net, const bench_opts *o, bench_times *t)
{
    bench_stats st = run_stats(t);
    int rc = CZ_EXIT_OK;
    layer_row *rows = NULL;
    int n = o->layers ? layer_rows(net, o, t, &rows) : 0;
    if (n < 0) {
        cz_cli_error("bench: out of memory for the layer table");
        return CZ_EXIT_FAIL;
    }
    if (o->json) {
        cJSON *root = json_report(net, o, t, &st);
        if (o->layers)
            json_add_layers(root, net, o, t, rows, n);
        char *text = cJSON_Print(root);
        if (text)
            printf("%s\n", text);
        else {
            cz_cli_error("bench: out of memory for the JSON report");
            rc = CZ_EXIT_FAIL;
        }
        cJSON_free(text);
        cJSON_Delete(root);
    } else {
        print_summary(net, o, t, &st);
        if (o->layers)
            print_layers(net, o, t, rows, n, &st);
    }
    free(rows);
    return rc;
}

/* Sets up the model, times it and reports; the exit code. */
static int run_bench(const bench_opts *o)
{
    bench_model m = {0};
    bench_times t = {0};
    int rc = build_net(o, &m.net);
    if (rc != CZ_EXIT_OK) {
        cz_net_free(m.net);
        return rc;
    }
    int nodes = cz_net_node_count(m.net);
    cz_status s = prepare_data(&m, o);
    if (s == CZ_OK && o->layers) {
        t.fwd = calloc((size_t)nodes, sizeof *t.fwd);
        t.bwd = calloc((size_t)nodes, sizeof *t.bwd);
        if (!t.fwd || !t.bwd)
            s = cz_fail(CZ_ERR_NOMEM, "bench: out of memory for the profile");
        cz_net_set_profile(m.net, t.fwd);
        cz_net_set_grad_ready(m.net, o->train ? backward_left : NULL, &t);
    }
    if (s == CZ_OK)
        s = time_runs(&m, o, &t);
    if (s != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_FAIL;
    } else
        rc = report(m.net, o, &t);
    cz_net_set_profile(m.net, NULL);
    bench_model_free(&m);
    free(t.run);
    free(t.fwd);
    free(t.bwd);
    return rc;
}

int cz_cmd_bench(int argc, char **argv)
{
    bench_opts o = {.batch = 1, .runs = 10, .warmup = 2, .min_time = 1.0f, .seed = 1};
    const cz_opt opts[] = {
        {"batch", CZ_OPT_INT, &o.batch, "B", "images per run", 1, 65536},
        {"threads", CZ_OPT_INT, &o.threads, "T", "threads (0: all cores)", 0, 1024},
        {"input", CZ_OPT_STRING, &o.input, "CxHxW", "input size (default: the model's)", 0, 0},
        {"classes", CZ_OPT_INT, &o.classes, "K", "output classes (0: the model's default)", 0, 1e6},
        {"weights", CZ_OPT_STRING, &o.weights, "FILE", ".pth or .safetensors weights, loaded strictly (default: random initialisation)", 0, 0},
        {"train", CZ_OPT_FLAG, &o.train, NULL, "time a training step (training-mode forward, cross-entropy on random labels, backward, SGD with momentum) instead of inference; GFLOP/s then counts 3x the forward MACs", 0, 0},
        {"runs", CZ_OPT_INT, &o.runs, "N", "at least N timed runs", 1, 1e7},
        {"warmup", CZ_OPT_INT, &o.warmup, "N", "untimed runs first", 0, 1e6},
        {"min-time", CZ_OPT_FLOAT, &o.min_time, "S", "and at least S seconds of timed runs", 0, 86400},
        {"layers", CZ_OPT_FLAG, &o.layers, NULL, "also time every layer: op, kernel, output, ms per run, % and GFLOP/s", 0, 0},
        {"json", CZ_OPT_FLAG, &o.json, NULL, "print JSON instead of text", 0, 0},
        {"seed", CZ_OPT_SEED, &o.seed, "S", "seed of the input, labels and initial weights", 0, 0},
    };
    const cz_cmd cmd = {"bench", "MODEL", 1, 1,
                        "Times MODEL on a random batch: warm-up runs, then timed runs until both "
                        "--runs and --min-time are reached.\nPrints the median, mean, min, p10, "
                        "p90 and max time per run, images/s, GFLOP/s (2 x conv + linear MACs x "
                        "batch / median)\nand the peak RSS; --layers adds each layer's time.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char *pos[1];
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc >= 0)
        return rc;
    o.model = pos[0];
    cz_set_threads(o.threads);
    return run_bench(&o);
}
