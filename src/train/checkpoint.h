/*
 * checkpoint.h - everything a training run needs to continue exactly where
 * it stopped, in one safetensors file: the net's state_dict, the
 * optimizer's state tensors (named "optimizer.<param>.<slot>"), and in the
 * header's metadata the epoch, the optimizer's step, the schedule's state
 * and both random generators. Written atomically (temporary file, fsync,
 * rename), so a crash while writing leaves the previous checkpoint whole.
 * The file loads as plain weights too (`eval --weights`, non-strict).
 */
#ifndef CZ_CHECKPOINT_H
#define CZ_CHECKPOINT_H

#include "train/optim.h"
#include "train/schedule.h"

#define CZ_CHECKPOINT_PREFIX "optimizer."

typedef struct cz_run_state {
    int epoch;       /* epochs completed */
    cz_rng shuffle;  /* the shuffling generator after them */
} cz_run_state;

/* meta: n_meta more (key, value) pairs to record (model, dataset...). */
cz_status cz_checkpoint_save(const char *path, cz_net *net, cz_optim *opt,
                             const cz_schedule *sched, const cz_run_state *run,
                             const char *const *meta, int n_meta);

/* Restores what cz_checkpoint_save wrote into a net, optimizer and
 * schedule built with the same model and options. Errors name the file
 * and the key; after one, the run must not go on (the optimizer and
 * schedule may be partly restored). */
cz_status cz_checkpoint_load(const char *path, cz_net *net, cz_optim *opt, cz_schedule *sched,
                             cz_run_state *run);

#endif
