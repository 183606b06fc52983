/*
 * dist.c - MPI's collectives for data-parallel training (see dist.h); a
 * world of one rank when built without MPI.
 */
#include <stdlib.h>
#include <string.h>

#include "train/dist.h"

#ifdef CZ_HAVE_MPI
#include <mpi.h>

/* Floats per Allreduce: 4 MB buffers. */
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

static cz_status reduce(float *buf, size_t n)
{
    if (MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        return cz_fail(CZ_ERR_IO, "MPI_Allreduce of %zu gradients failed", n);
    return CZ_OK;
}

/* Packs gradients into the bucket, reduces it when full, unpacks. */
cz_status cz_dist_average_grads(const cz_dist *d, cz_net *net)
{
    if (d->size <= 1)
        return CZ_OK;
    float *bucket = malloc(sizeof(float) * BUCKET);
    if (!bucket)
        return cz_fail(CZ_ERR_NOMEM, "gradient averaging: out of memory");
    int n = cz_net_param_count(net), first = 0;
    size_t used = 0;
    cz_status s = CZ_OK;
    float scale = 1.0f / (float)d->size;
    for (int i = 0; s == CZ_OK && i <= n; i++) {
        cz_param *p = i < n ? cz_net_param(net, i) : NULL;
        bool learned = p && p->kind == CZ_PARAM_WEIGHT && p->dtype == CZ_F32 && p->grad.data;
        size_t size = learned ? cz_tensor_numel(&p->grad) : 0;
        bool flush = i == n || used + size > BUCKET;
        if (flush && used) {
            s = reduce(bucket, used);
            size_t at = 0;
            for (int j = first; s == CZ_OK && j < i; j++) {
                cz_param *q = cz_net_param(net, j);
                if (q->kind != CZ_PARAM_WEIGHT || q->dtype != CZ_F32 || !q->grad.data)
                    continue;
                size_t m = cz_tensor_numel(&q->grad);
                for (size_t k = 0; k < m; k++)
                    q->grad.data[k] = bucket[at + k] * scale;
                at += m;
            }
            used = 0;
            first = i;
        }
        if (!learned)
            continue;
        if (size > BUCKET) { /* a tensor bigger than the bucket goes alone */
            s = reduce(p->grad.data, size);
            for (size_t k = 0; s == CZ_OK && k < size; k++)
                p->grad.data[k] *= scale;
            first = i + 1;
            continue;
        }
        memcpy(bucket + used, p->grad.data, sizeof(float) * size);
        used += size;
    }
    free(bucket);
    return s;
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

cz_status cz_dist_average_grads(const cz_dist *d, cz_net *net)
{
    (void)d;
    (void)net;
    return CZ_OK;
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
