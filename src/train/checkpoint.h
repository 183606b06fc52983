/*
 * checkpoint.h - everything a training run needs to continue exactly where
 * it stopped, in one safetensors file: the net's state_dict, the
 * optimizer's state tensors (named "optimizer.<param>.<slot>"), and in the
 * header's metadata the epoch, the optimizer's step, the schedule's state
 * and both random generators. Written atomically (temporary file, fsync,
 * rename), so a crash while writing leaves the previous checkpoint whole.
 * The file loads as plain weights too (`eval --weights`, non-strict).
 *
 * A run stopped inside an epoch (by a signal) writes "checkpoint 2": the
 * same, plus how far the epoch got (cnnzoo.epoch.steps, .batches,
 * .seconds) and each rank's training tally of it (cnnzoo.epoch.tally), so
 * that the resumed epoch reports and logs what an uninterrupted one
 * would. "checkpoint 1" (an epoch's end) stays as it was, so files from
 * before either version read the other's epoch-end checkpoints.
 */
#ifndef CZ_CHECKPOINT_H
#define CZ_CHECKPOINT_H

#include "train/optim.h"
#include "train/schedule.h"

#define CZ_CHECKPOINT_PREFIX "optimizer."

/* Values in one rank's tally of an epoch: loss sum, top-1 and top-5
 * hits, samples. */
#define CZ_TALLY_LEN 4

/* How far a run stopped inside an epoch got; all zero at an epoch's end. */
typedef struct cz_epoch_pos {
    int steps;      /* optimizer steps taken in the epoch */
    long batches;   /* loader batches used: the steps', and any with no
                     * readable file (cz_loader_batches_used) */
    double seconds; /* time those steps took */
    double tally[CZ_TALLY_LEN]; /* this rank's */
} cz_epoch_pos;

typedef struct cz_run_state {
    int epoch;       /* epochs completed */
    cz_rng shuffle;  /* the shuffling generator before epoch `epoch`'s
                      * shuffle, so that a resumed epoch shuffles alike */
    cz_epoch_pos pos;
    int rank, ranks; /* this process of a data-parallel run (0 of 1) */
    /* On saving inside an epoch: every rank's pos.tally, ranks rows (rank
     * 0 writes the file for all). NULL: ranks is 1 and pos.tally is it. */
    const double *tallies;
} cz_run_state;

/* meta: n_meta more (key, value) pairs to record (model, dataset...). */
cz_status cz_checkpoint_save(const char *path, cz_net *net, cz_optim *opt,
                             const cz_schedule *sched, const cz_run_state *run,
                             const char *const *meta, int n_meta);

/* Restores what cz_checkpoint_save wrote into a net, optimizer and
 * schedule built with the same model and options; run->rank and
 * run->ranks say which rank's tally to take (a checkpoint written inside
 * an epoch needs as many ranks as wrote it). Errors name the file and the
 * key; after one, the run must not go on (the optimizer and schedule may
 * be partly restored). */
cz_status cz_checkpoint_load(const char *path, cz_net *net, cz_optim *opt, cz_schedule *sched,
                             cz_run_state *run);

#endif
