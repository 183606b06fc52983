/*
 * loader.h - batches drawn from a dataset by background threads, so that
 * decoding and augmenting the next batches overlaps the network's step.
 *
 * Batch k holds the samples order[k*batch ..], in that order, whatever the
 * number of threads: each sample's random transforms come from a generator
 * seeded by (seed, epoch, position), so a seed fixes an epoch exactly.
 */
#ifndef CZ_LOADER_H
#define CZ_LOADER_H

#include "data/dataset.h"

typedef struct cz_loader cz_loader;

typedef struct cz_loader_opts {
    int batch;     /* samples per batch */
    int workers;   /* background threads; 0 loads in the caller's thread */
    bool train;    /* draw the dataset's training transforms */
    bool ten_crop; /* ten crops per sample (evaluation only) */
    uint64_t seed; /* with the epoch, fixes every random transform */
    int epoch;
    /* Begin at this batch (a run resumed inside an epoch): the batches
     * before it are not loaded, and the rest keep the positions, so the
     * random transforms, that they have in the whole epoch. */
    long first_batch;
} cz_loader_opts;

/* Starts loading `count` samples: order[0..count) (NULL: 0, 1, ...). The
 * order is copied. */
cz_status cz_loader_start(const cz_dataset *ds, const int *order, int count,
                          const cz_loader_opts *opts, cz_loader **out);

/* The next batch: x (n x crops, C, H, W) and n labels, valid until the
 * next call; n is 0 after the last batch. A file that cannot be decoded is
 * left out of its batch and counted (cz_loader_skipped); any other failure
 * is returned. */
cz_status cz_loader_next(cz_loader *l, const cz_tensor **x, const int **labels, int *n);

/* Batches used so far: the one last returned and those before it,
 * counting any passed over for having no readable file. A run stopped
 * after that batch resumes with first_batch = this. */
long cz_loader_batches_used(cz_loader *l);

/* Files left out so far; the first one's error goes into first. */
int cz_loader_skipped(cz_loader *l, char *first, size_t size);

/* Stops the threads (waiting for the batches in progress) and frees. */
void cz_loader_stop(cz_loader *l);

#endif
