/*
 * train.h - optimizers, learning-rate schedules and the training loop.
 */
#ifndef CZ_TRAIN_H
#define CZ_TRAIN_H

#include <stdio.h>

#include "cnnzoo.h"
#include "data/dataset.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/dist.h"

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
    FILE *log;       /* per-epoch CSV (CZ_TRAIN_LOG_HEADER), or NULL */
    const char *checkpoint;   /* written after every epoch (NULL: none) */
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
 * the epoch opts->resume stopped at); after each epoch evaluates on `test`
 * (if not NULL), prints one line and writes opts->checkpoint. A run
 * resumed from a checkpoint ends with the same weights, bit for bit, as
 * one never interrupted (same seed and threads). Unreadable files are
 * reported once. `last` receives the final test result. */
cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *opts, cz_eval_result *last);

/* Mean loss, top-1 and top-5 accuracy in eval mode, over the evaluation
 * transform of every sample. */
cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, const cz_eval_opts *opts,
                      cz_eval_result *result);

#endif
