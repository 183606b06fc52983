/*
 * recipe.h - `train --recipe NAME`: each paper's training settings as
 * defaults that explicit options still override.
 */
#ifndef CZ_RECIPE_H
#define CZ_RECIPE_H

#include <stdbool.h>

typedef struct cz_recipe {
    const char *name, *source;
    int batch, epochs;
    const char *optim;
    float lr, momentum, weight_decay, eps; /* eps 0: the optimizer's own */
    const char *schedule;
    float label_smoothing, aux_weight;
    const char *augment;
    float jitter, lighting;
    bool paper_init;
    float bn_momentum; /* 0: the model's own (PyTorch's 0.1) */
} cz_recipe;

/* The recipe called name, or NULL. */
const cz_recipe *cz_recipe_find(const char *name);
/* "alexnet, vgg, ..." for help and errors. */
const char *cz_recipe_names(void);

#endif
