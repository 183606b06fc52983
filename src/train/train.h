/*
 * train.h - optimizers, learning-rate schedules and the training loop.
 */
#ifndef CZ_TRAIN_H
#define CZ_TRAIN_H

#include <stdio.h>

#include "cnnzoo.h"
#include "data/dataset.h"

/* SGD with momentum, dampening, Nesterov and L2 weight decay, with
 * torch.optim.SGD's update rule:
 *   g = grad + wd * w;  b = momentum * b + (1 - dampening) * g  (b = g at
 *   the first step);  g = nesterov ? g + momentum * b : b;  w -= lr * g */
typedef struct cz_sgd {
    float lr, momentum, dampening, weight_decay;
    bool nesterov;
    int n_params;
    float **buf; /* momentum buffer per table entry (NULL for buffers) */
    bool started;
} cz_sgd;

cz_status cz_sgd_init(cz_sgd *opt, cz_net *net, float lr, float momentum, float weight_decay);
void cz_sgd_step(cz_sgd *opt, cz_net *net);
void cz_sgd_free(cz_sgd *opt);

/* StepLR: lr = base * gamma ^ floor(epoch / step_size); step_size 0 keeps
 * the rate constant. */
float cz_step_lr(float base, int epoch, int step_size, float gamma);

typedef struct cz_train_opts {
    int epochs, batch;
    float lr, momentum, weight_decay;
    int step_size;   /* epochs between decays (0: none) */
    float gamma;     /* decay factor */
    uint64_t seed;   /* shuffling and augmentation */
    int workers;     /* loader threads (0: load between steps) */
    bool progress;   /* a progress bar on stderr (a TTY) */
    FILE *out;       /* per-epoch lines */
} cz_train_opts;

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

/* Trains for opts->epochs on `train` with its training transforms; after
 * each epoch evaluates on `test` (if not NULL) and prints one line.
 * Unreadable files are reported once. `last` receives the final test
 * result. */
cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *opts, cz_eval_result *last);

/* Mean loss, top-1 and top-5 accuracy in eval mode, over the evaluation
 * transform of every sample. */
cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, const cz_eval_opts *opts,
                      cz_eval_result *result);

#endif
