/*
 * train.h - optimizers, learning-rate schedules and the training loop.
 */
#ifndef CZ_TRAIN_H
#define CZ_TRAIN_H

#include <stdatomic.h>
#include <stdio.h>

#include "cnnzoo.h"
#include "data/dataset.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/dist.h"

/* Stopping a run early and cleanly (Ctrl-C): the caller points flag at a
 * variable that a signal handler sets; after the step in progress, the run
 * writes its checkpoint, one that records the place inside the epoch, and
 * cz_train returns CZ_OK with stopped set. A flag raised during the
 * epoch's evaluation takes effect once that epoch's checkpoint is written.
 * Under MPI every rank must pass one: the ranks sum their flags after each
 * step (one 8-byte allreduce), so all stop after the same step, whichever
 * rank was signalled. */
typedef struct cz_train_stop {
    const atomic_int *flag; /* atomic: set by a handler on any thread */
    const char *hint;  /* added to the "stopping" line on stderr (NULL: none) */
    bool stopped;      /* out: the run stopped at the flag's request */
    int epoch, step_in_epoch; /* out: the stop came after this epoch's
                                 * (from 1) step_in_epoch-th step (0: at
                                 * the epoch's end) */
    long step;         /* out: optimizer steps taken in all */
} cz_train_stop;

typedef struct cz_train_opts {
    int epochs, batch;
    cz_optim_config optim;       /* its lr is the schedule's at each step */
    cz_schedule_config schedule; /* base_lr and the epochs are set from here */
    float label_smoothing;       /* CrossEntropyLoss(label_smoothing) */
    float aux_weight;            /* weight of each auxiliary classifier's loss */
    uint64_t seed;   /* shuffling and augmentation */
    int max_steps;   /* stop after this many optimizer steps (0: epochs decide) */
    bool no_shuffle; /* batches in the data's order */
    bool sync_bn;    /* with dist: BatchNorm sums its statistics over ranks */
    int workers;     /* loader threads (0: load between steps) */
    bool progress;   /* a progress bar on stderr (a TTY) */
    FILE *out;       /* per-epoch lines */
    const char *log; /* per-epoch CSV (CZ_TRAIN_LOG_HEADER), rewritten
                      * atomically after every epoch, or NULL */
    const char *checkpoint;   /* written after every epoch (NULL: none) */
    cz_train_stop *stop;      /* NULL: the run goes to its end */
    const char *resume;       /* a checkpoint to continue from (NULL: start) */
    const char *const *meta;  /* n_meta (key, value) pairs for the checkpoint */
    int n_meta;
    const cz_dist *dist;      /* data-parallel ranks (NULL: one process) */
} cz_train_opts;

/* The CSV log's columns, as `cnnzoo plot` reads them. */
#define CZ_TRAIN_LOG_HEADER \
    "epoch,lr,train_loss,train_top1,test_loss,test_top1,test_top5,images_per_s,seconds"

typedef struct cz_eval_opts {
    int batch;
    int workers;          /* loader threads */
    bool ten_crop;        /* average the logits of the ten crops */
    bool transform_input; /* torchvision's GoogLeNet/Inception-v3 input transform */
} cz_eval_opts;

typedef struct cz_eval_result {
    double loss;
    double top1, top5; /* fractions correct */
    int count;         /* samples seen */
    int skipped;       /* unreadable files left out */
    char first_skipped[1024]; /* the first one's error */
} cz_eval_result;

/* Trains until opts->epochs on `train` with its training transforms (from
 * where opts->resume stopped, an epoch's end or a step inside one); after
 * each epoch evaluates on `test` (if not NULL), prints one line, logs one
 * and writes opts->checkpoint. A run resumed from a checkpoint ends with
 * the same weights, bit for bit, as one never interrupted (same seed,
 * threads and processes). Unreadable files are reported once. `last`
 * receives the final test result. */
cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *opts, cz_eval_result *last);

/* Mean loss, top-1 and top-5 accuracy in eval mode, over the evaluation
 * transform of every sample. */
cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, const cz_eval_opts *opts,
                      cz_eval_result *result);

#endif
