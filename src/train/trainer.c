/*
 * trainer.c - the mini-batch training loop and evaluation.
 *
 * Shuffling uses its own generator seeded from opts->seed, so the order of
 * batches does not depend on how many random numbers the net drew.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "train/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static void progress(int epoch, int epochs, int done, int total, double loss, double t0)
{
    int width = 30, filled = (int)((long)width * done / total);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double elapsed = now() - t0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d loss %.4f %.0f img/s ", epoch, epochs, bar, done,
            total, loss, elapsed > 0 ? done / elapsed : 0.0);
    fflush(stderr);
}

typedef struct batch_buf {
    cz_tensor x, dlogits;
    int *labels;
} batch_buf;

static void batch_free(batch_buf *b)
{
    cz_tensor_free(&b->x);
    cz_tensor_free(&b->dlogits);
    free(b->labels);
}

/* Counts the rows of logits (n, K) whose largest entry is the label. */
static int count_correct(const cz_tensor *logits, const int *labels, int n)
{
    int K = logits->shape[1], correct = 0;
    for (int i = 0; i < n; i++)
        correct += argmax(logits->data + (size_t)i * K, K) == labels[i];
    return correct;
}

cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, int batch, cz_eval_result *result)
{
    memset(result, 0, sizeof *result);
    batch_buf b = {0};
    int *idx = malloc(sizeof(int) * (size_t)batch);
    b.labels = malloc(sizeof(int) * (size_t)batch);
    if (!idx || !b.labels) {
        free(idx);
        batch_free(&b);
        return cz_fail(CZ_ERR_NOMEM, "evaluate: out of memory");
    }
    bool was_training = cz_net_training(net);
    cz_net_set_training(net, false);
    cz_status s = CZ_OK;
    double loss_sum = 0;
    int correct = 0;
    for (int start = 0; s == CZ_OK && start < ds->count; start += batch) {
        int n = ds->count - start < batch ? ds->count - start : batch;
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        const cz_tensor *logits;
        double loss;
        s = cz_dataset_batch(ds, idx, n, &b.x, b.labels);
        if (s == CZ_OK)
            s = cz_net_forward(net, &b.x, &logits);
        if (s == CZ_OK)
            s = cz_cross_entropy(logits, b.labels, 0.0f, &loss, NULL);
        if (s == CZ_OK) {
            loss_sum += loss * n;
            correct += count_correct(logits, b.labels, n);
        }
    }
    cz_net_set_training(net, was_training);
    free(idx);
    batch_free(&b);
    result->count = ds->count;
    result->loss = loss_sum / ds->count;
    result->top1 = (double)correct / ds->count;
    return s;
}

/* One pass over the shuffled training set. */
static cz_status train_epoch(cz_net *net, cz_sgd *opt, const cz_dataset *ds, int *order,
                             const cz_train_opts *o, int epoch, long *step, cz_eval_result *r)
{
    batch_buf b = {0};
    b.labels = malloc(sizeof(int) * (size_t)o->batch);
    if (!b.labels)
        return cz_fail(CZ_ERR_NOMEM, "train: out of memory");
    cz_net_set_training(net, true);
    double loss_sum = 0, t0 = now();
    int correct = 0, seen = 0, batches = (ds->count + o->batch - 1) / o->batch;
    cz_status s = CZ_OK;
    for (int k = 0; s == CZ_OK && k < batches; k++) {
        int start = k * o->batch;
        int n = ds->count - start < o->batch ? ds->count - start : o->batch;
        const cz_tensor *logits;
        double loss = 0;
        s = cz_dataset_batch(ds, order + start, n, &b.x, b.labels);
        if (s == CZ_OK)
            s = cz_net_forward(net, &b.x, &logits);
        if (s == CZ_OK && (b.dlogits.ndim != 2 || b.dlogits.shape[0] != n))
            s = cz_tensor_alloc(&b.dlogits, 2, logits->shape);
        if (s == CZ_OK)
            s = cz_cross_entropy(logits, b.labels, 0.0f, &loss, &b.dlogits);
        if (s == CZ_OK && !isfinite(loss))
            s = cz_fail(CZ_ERR_NUMERIC,
                        "training diverged: loss is %f at step %ld (epoch %d, batch %d); "
                        "try a smaller --lr",
                        loss, *step + 1, epoch + 1, k + 1);
        if (s == CZ_OK) {
            correct += count_correct(logits, b.labels, n);
            cz_net_zero_grad(net);
            s = cz_net_backward(net, &b.dlogits);
        }
        if (s == CZ_OK) {
            cz_sgd_step(opt, net);
            (*step)++;
            loss_sum += loss * n;
            seen += n;
            if (o->progress && (k % 20 == 0 || k == batches - 1))
                progress(epoch + 1, o->epochs, seen, ds->count, loss_sum / seen, t0);
        }
    }
    if (o->progress)
        fprintf(stderr, "\r\033[K");
    batch_free(&b);
    r->count = seen;
    r->loss = seen ? loss_sum / seen : 0;
    r->top1 = seen ? (double)correct / seen : 0;
    return s;
}

cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *o, cz_eval_result *last)
{
    if (o->epochs < 1 || o->batch < 1)
        return cz_fail(CZ_ERR_ARG, "train: epochs %d and batch %d must be positive", o->epochs,
                       o->batch);
    cz_sgd opt;
    cz_status s = cz_sgd_init(&opt, net, o->lr, o->momentum, o->weight_decay);
    if (s != CZ_OK)
        return s;
    int *order = malloc(sizeof(int) * (size_t)train->count);
    if (!order) {
        cz_sgd_free(&opt);
        return cz_fail(CZ_ERR_NOMEM, "train: out of memory");
    }
    cz_rng shuffle;
    cz_rng_seed(&shuffle, o->seed ^ 0x5348554646ull); /* "SHUFF" */
    long step = 0;
    memset(last, 0, sizeof *last);
    for (int epoch = 0; s == CZ_OK && epoch < o->epochs; epoch++) {
        for (int i = 0; i < train->count; i++)
            order[i] = i;
        cz_rng_shuffle(&shuffle, order, (size_t)train->count);
        opt.lr = cz_step_lr(o->lr, epoch, o->step_size, o->gamma);
        cz_eval_result tr = {0};
        double t0 = now();
        s = train_epoch(net, &opt, train, order, o, epoch, &step, &tr);
        double seconds = now() - t0;
        if (s == CZ_OK && test)
            s = cz_evaluate(net, test, 1000, last);
        if (s == CZ_OK && o->out) {
            fprintf(o->out,
                    "epoch %2d/%d  lr %.4g  train loss %.4f acc %.2f%%  ", epoch + 1, o->epochs,
                    opt.lr, tr.loss, 100 * tr.top1);
            if (test)
                fprintf(o->out, "test loss %.4f acc %.2f%%  ", last->loss, 100 * last->top1);
            fprintf(o->out, "%.1f s (%.0f img/s)\n", seconds, tr.count / seconds);
            fflush(o->out);
        }
    }
    free(order);
    cz_sgd_free(&opt);
    return s;
}
