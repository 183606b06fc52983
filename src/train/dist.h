/*
 * dist.h - data-parallel training over MPI (Open MPI), when cnnzoo is built
 * with it (CMake finds it; CZ_HAVE_MPI) and started under mpirun. Every
 * rank holds the whole net; each global batch is split across the ranks;
 * after backward the gradients are averaged with MPI_Allreduce, so every
 * rank takes the same optimizer step. BatchNorm statistics stay per rank.
 * Without MPI, or started without mpirun, there is one rank.
 */
#ifndef CZ_DIST_H
#define CZ_DIST_H

#include "cnnzoo.h"

typedef struct cz_dist {
    int rank, size;
} cz_dist;

/* Joins the MPI world when launched by mpirun (else rank 0 of 1). */
cz_status cz_dist_init(int *argc, char ***argv, cz_dist *d);
void cz_dist_finalize(const cz_dist *d);

/* Gradient averaging overlapped with backward: create once per net;
 * cz_grad_sync_begin before each backward (it hooks the net), and
 * cz_grad_sync_end after it waits for the reductions and leaves every
 * gradient averaged over the ranks. Small tensors travel packed in buckets
 * of up to 4 MB; a large one is reduced in place, so the extra memory is
 * at most the small tensors' size. */
typedef struct cz_grad_sync cz_grad_sync;
cz_status cz_grad_sync_create(const cz_dist *d, cz_net *net, cz_grad_sync **out);
void cz_grad_sync_begin(cz_grad_sync *g);
cz_status cz_grad_sync_end(cz_grad_sync *g);
void cz_grad_sync_free(cz_grad_sync *g);
/* Makes BatchNorm use the global batch's statistics (--sync-bn). */
void cz_dist_sync_bn(const cz_dist *d, cz_net *net);
/* Sums n doubles over the ranks, in place. */
cz_status cz_dist_sum(const cz_dist *d, double *v, int n);
/* Rank 0's n doubles to every rank. */
cz_status cz_dist_broadcast(const cz_dist *d, double *v, int n);

#endif
