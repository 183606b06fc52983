/*
 * loader.c - a ring of batch slots filled by worker threads.
 *
 * Workers claim batch numbers in order; batch k goes to slot k % depth
 * once the consumer has released batch k - depth, so at most `depth`
 * batches are held and memory stays bounded whatever the speed of either
 * side. One worker fills a whole batch, as PyTorch's DataLoader workers
 * do: no locking per sample.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"

typedef struct slot {
    cz_tensor x;
    int *labels;
    int n;
    long batch; /* which batch it holds once ready */
    bool ready;
    cz_status status;
    char error[1024];
} slot;

struct cz_loader {
    const cz_dataset *ds;
    cz_loader_opts o;
    int *order, count, crops;
    long batches;
    int depth;
    slot *slots;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t filled, freed;
    long claimed;  /* batches handed to workers */
    long released; /* batches the consumer is done with */
    bool holding;  /* the consumer holds batch `released` */
    bool stop;
    int skipped;
    char first_skip[1024];
};

/* The generator of the sample at `pos` in this epoch's order. */
static void sample_rng(const cz_loader *l, long pos, cz_rng *rng)
{
    uint64_t key = l->o.seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(l->o.epoch + 1)) ^
                   (0xD1B54A32D192ED03ull * (uint64_t)(pos + 1));
    cz_rng_seed(rng, key);
}

static void note_skip(cz_loader *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->skipped++ == 0)
        snprintf(l->first_skip, sizeof l->first_skip, "%s", cz_last_error());
    pthread_mutex_unlock(&l->mu);
}

/* Decodes and transforms batch k into s. Runs without the lock. */
static void fill(cz_loader *l, slot *s, long k)
{
    const cz_dataset *ds = l->ds;
    size_t size = cz_dataset_sample_size(ds) * (size_t)l->crops;
    long start = k * l->o.batch;
    int want = (int)(l->count - start < l->o.batch ? l->count - start : l->o.batch);
    s->n = 0;
    s->status = CZ_OK;
    for (int i = 0; i < want; i++) {
        int idx = l->order[start + i];
        cz_rng rng;
        sample_rng(l, start + i, &rng);
        cz_status st = cz_dataset_sample(ds, idx, l->o.train ? &rng : NULL, l->o.ten_crop,
                                         s->x.data + size * (size_t)s->n);
        /* What a file can cause: unreadable, malformed, or over the
         * pixel limit (CZ_ERR_NOMEM). */
        bool unreadable = st == CZ_ERR_IO || st == CZ_ERR_FORMAT || st == CZ_ERR_NOMEM;
        if (st != CZ_OK && ds->paths && unreadable) {
            note_skip(l);
            continue;
        }
        if (st != CZ_OK) {
            s->status = st;
            snprintf(s->error, sizeof s->error, "%s", cz_last_error());
            return;
        }
        s->labels[s->n++] = ds->labels[idx];
    }
}

static void *worker(void *arg)
{
    cz_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop && l->claimed < l->batches) {
        long k = l->claimed++;
        while (!l->stop && k >= l->released + l->depth)
            pthread_cond_wait(&l->freed, &l->mu);
        if (l->stop)
            break;
        slot *s = &l->slots[k % l->depth];
        pthread_mutex_unlock(&l->mu);
        fill(l, s, k);
        pthread_mutex_lock(&l->mu);
        s->batch = k;
        s->ready = true;
        pthread_cond_broadcast(&l->filled);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static cz_status alloc_slots(cz_loader *l)
{
    const cz_preprocess *p = &l->ds->pipe;
    int shape[4] = {l->o.batch * l->crops, p->channels, p->crop, p->crop};
    l->slots = calloc((size_t)l->depth, sizeof(slot));
    if (!l->slots)
        return cz_fail(CZ_ERR_NOMEM, "loader: out of memory");
    for (int i = 0; i < l->depth; i++) {
        cz_status s = cz_tensor_alloc(&l->slots[i].x, 4, shape);
        if (s != CZ_OK)
            return s;
        if (!(l->slots[i].labels = malloc(sizeof(int) * (size_t)l->o.batch)))
            return cz_fail(CZ_ERR_NOMEM, "loader: out of memory");
        l->slots[i].batch = -1;
    }
    return CZ_OK;
}

static cz_status start_threads(cz_loader *l)
{
    l->threads = calloc((size_t)l->o.workers, sizeof(pthread_t));
    if (!l->threads)
        return cz_fail(CZ_ERR_NOMEM, "loader: out of memory");
    for (; l->n_threads < l->o.workers; l->n_threads++)
        if (pthread_create(&l->threads[l->n_threads], NULL, worker, l) != 0)
            return cz_fail(CZ_ERR_NOMEM, "loader: cannot start thread %d of %d",
                           l->n_threads + 1, l->o.workers);
    return CZ_OK;
}

cz_status cz_loader_start(const cz_dataset *ds, const int *order, int count,
                          const cz_loader_opts *opts, cz_loader **out)
{
    *out = NULL;
    long batches = opts->batch > 0 ? ((long)count + opts->batch - 1) / opts->batch : 0;
    if (opts->batch < 1 || opts->workers < 0 || opts->workers > 256 || count < 0 ||
        count > ds->count || opts->first_batch < 0 || opts->first_batch > batches)
        return cz_fail(CZ_ERR_ARG, "loader: batch %d, %d workers, %d of %d samples, from batch "
                       "%ld", opts->batch, opts->workers, count, ds->count, opts->first_batch);
    cz_loader *l = calloc(1, sizeof *l);
    if (!l)
        return cz_fail(CZ_ERR_NOMEM, "loader: out of memory");
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->filled, NULL);
    pthread_cond_init(&l->freed, NULL);
    l->ds = ds;
    l->o = *opts;
    l->count = count;
    l->crops = opts->ten_crop ? 10 : 1;
    l->batches = batches;
    l->claimed = l->released = opts->first_batch;
    /* Two batches in flight per worker keep every worker busy while the
     * consumer holds one. */
    l->depth = opts->workers ? 2 * opts->workers : 1;
    l->order = malloc(sizeof(int) * (size_t)(count ? count : 1));
    cz_status s = l->order ? alloc_slots(l) : cz_fail(CZ_ERR_NOMEM, "loader: out of memory");
    if (s == CZ_OK) {
        for (int i = 0; i < count; i++)
            l->order[i] = order ? order[i] : i;
        s = start_threads(l);
    }
    if (s != CZ_OK) {
        cz_loader_stop(l);
        return s;
    }
    *out = l;
    return CZ_OK;
}

/* Waits for batch k (or fills it here when there are no workers). */
static slot *wait_batch(cz_loader *l, long k)
{
    slot *s = &l->slots[k % l->depth];
    if (l->n_threads == 0) {
        pthread_mutex_unlock(&l->mu);
        fill(l, s, k);
        pthread_mutex_lock(&l->mu);
        return s;
    }
    while (!(s->ready && s->batch == k))
        pthread_cond_wait(&l->filled, &l->mu);
    return s;
}

static void release(cz_loader *l)
{
    l->slots[l->released % l->depth].ready = false;
    l->released++;
    l->holding = false;
    pthread_cond_broadcast(&l->freed);
}

cz_status cz_loader_next(cz_loader *l, const cz_tensor **x, const int **labels, int *n)
{
    *n = 0;
    pthread_mutex_lock(&l->mu);
    if (l->holding)
        release(l);
    slot *s = NULL;
    /* A batch whose every file was unreadable is passed over. */
    while (l->released < l->batches) {
        s = wait_batch(l, l->released);
        l->holding = true;
        if (s->status != CZ_OK || s->n > 0)
            break;
        release(l);
        s = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    if (!s)
        return CZ_OK;
    if (s->status != CZ_OK)
        return cz_fail(s->status, "%s", s->error);
    s->x.shape[0] = s->n * l->crops;
    *x = &s->x;
    *labels = s->labels;
    *n = s->n;
    return CZ_OK;
}

long cz_loader_batches_used(cz_loader *l)
{
    pthread_mutex_lock(&l->mu);
    long used = l->released + (l->holding ? 1 : 0);
    pthread_mutex_unlock(&l->mu);
    return used;
}

int cz_loader_skipped(cz_loader *l, char *first, size_t size)
{
    pthread_mutex_lock(&l->mu);
    int n = l->skipped;
    if (first && size)
        snprintf(first, size, "%s", l->first_skip);
    pthread_mutex_unlock(&l->mu);
    return n;
}

void cz_loader_stop(cz_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->freed);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++)
        pthread_join(l->threads[i], NULL);
    for (int i = 0; l->slots && i < l->depth; i++) {
        cz_tensor_free(&l->slots[i].x);
        free(l->slots[i].labels);
    }
    free(l->slots);
    free(l->threads);
    free(l->order);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->filled);
    pthread_cond_destroy(&l->freed);
    free(l);
}
