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
    uint64_t seed;   /* shuffling */
    bool progress;   /* a progress bar on stderr (a TTY) */
    FILE *out;       /* per-epoch lines */
} cz_train_opts;

typedef struct cz_eval_result {
    double loss;
    double top1; /* fraction correct */
    int count;
} cz_eval_result;

/* Trains for opts->epochs; after each epoch evaluates on `test` (if not
 * NULL) and prints one line. `last` receives the final test result. */
cz_status cz_train(cz_net *net, const cz_dataset *train, const cz_dataset *test,
                   const cz_train_opts *opts, cz_eval_result *last);

/* Mean loss and top-1 accuracy in eval mode. */
cz_status cz_evaluate(cz_net *net, const cz_dataset *ds, int batch, cz_eval_result *result);

#endif
