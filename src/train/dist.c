/*
 * dist.c - MPI's collectives for data-parallel training (see dist.h); a
 * world of one rank when built without MPI.
 */
#include <stdlib.h>
#include <string.h>

#include "train/dist.h"

#include "graph/net.h"

#ifdef CZ_HAVE_MPI
#include <mpi.h>

/* Floats per bucket: 4 MB; a tensor of at least this many goes alone. */
enum { BUCKET = 1 << 20 };

static bool launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

cz_status cz_dist_init(int *argc, char ***argv, cz_dist *d)
{
    *d = (cz_dist){0, 1};
    if (!launched_by_mpirun())
        return CZ_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return cz_fail(CZ_ERR_IO, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    return CZ_OK;
}

void cz_dist_finalize(const cz_dist *d)
{
    int on = 0;
    MPI_Initialized(&on);
    if (on && d->size >= 1)
        MPI_Finalize();
}

/* One reduction: a large tensor in place, or small ones packed. */
typedef struct bucket {
    int first, count;  /* its tensors: order[first .. first + count) */
    int ready_node;    /* it may start once backward has left this node */
    size_t numel;
    float *data;       /* the packed copy, or the lone tensor's grad */
    bool packed;
    MPI_Request request;
} bucket;

struct cz_grad_sync {
    cz_net *net;
    int size;          /* ranks */
    int *order;        /* learned parameters, the first to be final first */
    int n_buckets, next; /* buckets are started in order: next to start */
    bucket *buckets;
};

static bool learned(cz_param *p)
{
    return p->kind == CZ_PARAM_WEIGHT && p->dtype == CZ_F32 && p->grad.data;
}

typedef struct ranked { int param, first_user; } ranked;

static int later_first(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->first_user != y->first_user)
        return y->first_user - x->first_user;
    return y->param - x->param;
}

/* Orders the learned parameters by when backward finishes them (the
 * highest first user first) and groups them into buckets. */
static cz_status plan(cz_grad_sync *g)
{
    int n = cz_net_param_count(g->net), m = 0;
    ranked *r = malloc(sizeof *r * (size_t)(n ? n : 1));
    g->order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    g->buckets = calloc((size_t)(n ? n : 1), sizeof(bucket));
    if (!r || !g->order || !g->buckets) {
        free(r);
        return cz_fail(CZ_ERR_NOMEM, "gradient averaging: out of memory");
    }
    for (int i = 0; i < n; i++)
        if (learned(cz_net_param(g->net, i)))
            r[m++] = (ranked){i, cz_net_param_first_user(g->net, i)};
    qsort(r, (size_t)m, sizeof *r, later_first);
    bucket *b = NULL;
    for (int i = 0; i < m; i++) {
        g->order[i] = r[i].param;
        cz_param *p = cz_net_param(g->net, r[i].param);
        size_t numel = cz_tensor_numel(&p->grad);
        bool alone = numel >= BUCKET;
        if (!b || alone || !b->packed || b->numel + numel > BUCKET) {
            b = &g->buckets[g->n_buckets++];
            *b = (bucket){.first = i, .packed = !alone, .data = alone ? p->grad.data : NULL};
        }
        b->count++;
        b->numel += numel;
        b->ready_node = r[i].first_user; /* the smallest so far */
    }
    free(r);
    for (int k = 0; k < g->n_buckets; k++) {
        bucket *bk = &g->buckets[k];
        if (bk->packed && !(bk->data = malloc(sizeof(float) * bk->numel)))
            return cz_fail(CZ_ERR_NOMEM, "gradient averaging: out of memory");
    }
    return CZ_OK;
}

cz_status cz_grad_sync_create(const cz_dist *d, cz_net *net, cz_grad_sync **out)
{
    *out = NULL;
    cz_grad_sync *g = calloc(1, sizeof *g);
    if (!g)
        return cz_fail(CZ_ERR_NOMEM, "gradient averaging: out of memory");
    g->net = net;
    g->size = d->size;
    cz_status s = plan(g);
    if (s != CZ_OK) {
        cz_grad_sync_free(g);
        return s;
    }
    *out = g;
    return CZ_OK;
}

void cz_grad_sync_free(cz_grad_sync *g)
{
    if (!g)
        return;
    for (int k = 0; g->buckets && k < g->n_buckets; k++)
        if (g->buckets[k].packed)
            free(g->buckets[k].data);
    free(g->buckets);
    free(g->order);
    free(g);
}

/* Copies a bucket's gradients into its buffer (to) or back, averaged; a
 * lone tensor is its own buffer, so it is only averaged. */
static void pack(cz_grad_sync *g, bucket *b, bool to)
{
    if (to && !b->packed)
        return;
    float *at = b->data, scale = 1.0f / (float)g->size;
    for (int i = b->first; i < b->first + b->count; i++) {
        /* Gradients only: &params[i], not cz_net_param, which would mark the
         * weights changed and drop the packs backward is still using. */
        cz_param *p = &g->net->params[g->order[i]];
        size_t m = cz_tensor_numel(&p->grad);
        if (to)
            memcpy(at, p->grad.data, sizeof(float) * m);
        else
            for (size_t k = 0; k < m; k++)
                p->grad.data[k] = at[k] * scale;
        at += m;
    }
}

static void start(cz_grad_sync *g, bucket *b)
{
    pack(g, b, true);
    /* An error aborts the job: MPI_COMM_WORLD's handler is fatal. */
    MPI_Iallreduce(MPI_IN_PLACE, b->data, (int)b->numel, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &b->request);
}

/* The backward hook: starts every bucket whose parameters are final, and
 * lets MPI progress the ones in flight. */
static void on_grad_ready(void *ctx, cz_net *net, int node)
{
    (void)net;
    cz_grad_sync *g = ctx;
    while (g->next < g->n_buckets && g->buckets[g->next].ready_node >= node)
        start(g, &g->buckets[g->next++]);
    for (int k = 0; k < g->next; k++) {
        int done;
        MPI_Test(&g->buckets[k].request, &done, MPI_STATUS_IGNORE);
    }
}

void cz_grad_sync_begin(cz_grad_sync *g)
{
    g->next = 0;
    cz_net_set_grad_ready(g->net, on_grad_ready, g);
}

cz_status cz_grad_sync_end(cz_grad_sync *g)
{
    cz_net_set_grad_ready(g->net, NULL, NULL);
    while (g->next < g->n_buckets) /* nodes backward never left */
        start(g, &g->buckets[g->next++]);
    for (int k = 0; k < g->n_buckets; k++) {
        bucket *b = &g->buckets[k];
        if (MPI_Wait(&b->request, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return cz_fail(CZ_ERR_IO, "MPI_Allreduce of %zu gradients failed", b->numel);
        pack(g, b, false);
    }
    return CZ_OK;
}

static cz_status sum_hook(void *ctx, double *v, int n)
{
    return cz_dist_sum(ctx, v, n);
}

void cz_dist_sync_bn(const cz_dist *d, cz_net *net)
{
    if (d->size > 1)
        cz_net_set_sync_stats(net, sum_hook, (void *)d);
}

cz_status cz_dist_sum(const cz_dist *d, double *v, int n)
{
    if (d->size > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return cz_fail(CZ_ERR_IO, "MPI_Allreduce of %d values failed", n);
    return CZ_OK;
}

cz_status cz_dist_broadcast(const cz_dist *d, double *v, int n)
{
    if (d->size > 1 && MPI_Bcast(v, n, MPI_DOUBLE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return cz_fail(CZ_ERR_IO, "MPI_Bcast of %d values failed", n);
    return CZ_OK;
}

#else /* a world of one */

cz_status cz_dist_init(int *argc, char ***argv, cz_dist *d)
{
    (void)argc;
    (void)argv;
    *d = (cz_dist){0, 1};
    if (getenv("OMPI_COMM_WORLD_SIZE") && atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1)
        return cz_fail(CZ_ERR_ARG, "started by mpirun, but this cnnzoo was built without MPI "
                       "(install libopenmpi-dev and rebuild)");
    return CZ_OK;
}

void cz_dist_finalize(const cz_dist *d) { (void)d; }

/* One rank: nothing to average. */
cz_status cz_grad_sync_create(const cz_dist *d, cz_net *net, cz_grad_sync **out)
{
    (void)d;
    (void)net;
    *out = NULL;
    return CZ_OK;
}
void cz_grad_sync_begin(cz_grad_sync *g) { (void)g; }
cz_status cz_grad_sync_end(cz_grad_sync *g)
{
    (void)g;
    return CZ_OK;
}
void cz_grad_sync_free(cz_grad_sync *g) { (void)g; }
void cz_dist_sync_bn(const cz_dist *d, cz_net *net)
{
    (void)d;
    (void)net;
}

cz_status cz_dist_sum(const cz_dist *d, double *v, int n)
{
    (void)d;
    (void)v;
    (void)n;
    return CZ_OK;
}

cz_status cz_dist_broadcast(const cz_dist *d, double *v, int n)
{
    (void)d;
    (void)v;
    (void)n;
    return CZ_OK;
}

#endif
