/*
 * state_dict.h - loading named tensors from any weight file into a net's
 * parameter table, with PyTorch load_state_dict's checks and messages.
 *
 * A reader (safetensors, .pth) describes its tensors through a
 * cz_sd_source; cz_state_dict_load matches them to the net's parameters by
 * name, checks shapes and dtypes, and copies only when everything fits, so
 * a failed load leaves the net unchanged. The message lists every problem:
 *   "<path>: Missing key(s): a, b. Unexpected key(s): c. size mismatch for
 *    fc.weight: file has [10, 512], model has [1000, 512]."
 * Strict: missing and unexpected keys are errors. Non-strict: they are
 * skipped, mismatched shapes are still errors (as in PyTorch). A missing
 * int64 counter (BN num_batches_tracked, absent from checkpoints older than
 * PyTorch 0.4.1) is tolerated either way.
 */
#ifndef CZ_STATE_DICT_H
#define CZ_STATE_DICT_H

#include "cnnzoo.h"

/* One tensor as the loader needs to see it. */
typedef struct cz_sd_tensor {
    const char *name;
    const char *dtype;    /* "F32", "I64"... for messages */
    int ndim;
    const int64_t *shape; /* ndim entries */
    bool convertible;     /* has a conversion to float and to int64 */
    bool floating;        /* F16, BF16, F32 or F64: may fill a weight */
} cz_sd_tensor;

/* A file's tensors, seen through callbacks on the reader's own handle. */
typedef struct cz_sd_source {
    const char *path; /* starts every message */
    int count;
    const void *ctx;
    /* The i-th tensor, in file order. */
    void (*at)(const void *ctx, int i, cz_sd_tensor *t);
    /* The index of the tensor called name, or -1. */
    int (*find)(const void *ctx, const char *name);
    /* Element conversions of tensor i into numel(shape) values. to_i64
     * fails when a value is not a whole number in range. */
    cz_status (*to_f32)(const void *ctx, int i, float *dst);
    cz_status (*to_i64)(const void *ctx, int i, int64_t *dst);
} cz_sd_source;

cz_status cz_state_dict_load(cz_net *net, const cz_sd_source *src, bool strict);

#endif
