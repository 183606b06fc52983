/*
 * dataset.h - labelled image sets held in memory as normalised float
 * tensors, and batches gathered from them.
 */
#ifndef CZ_DATASET_H
#define CZ_DATASET_H

#include "cnnzoo.h"

typedef struct cz_dataset {
    int count;
    int channels, height, width;
    int classes;
    float *images; /* count x C x H x W, normalised */
    int *labels;   /* count, in [0, classes) */
    const char *const *class_names;
    char source[512]; /* where it came from, for messages */
} cz_dataset;

/* MNIST-style IDX pairs. `name` is "fashion-mnist" or "mnist" (Debian's
 * dataset packages under /usr/share/datasets/) or a folder holding
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. Images are zero-padded
 * by `pad` pixels on each side (LeNet-5 takes 28x28 digits as 32x32), then
 * scaled to [0, 1] and normalised with the training set's mean and std. */
cz_status cz_dataset_load_idx(const char *name, bool train, int pad, cz_dataset *out);
void cz_dataset_free(cz_dataset *ds);

/* Copies samples idx[0..n) into x (n, C, H, W) and labels. */
cz_status cz_dataset_batch(const cz_dataset *ds, const int *idx, int n, cz_tensor *x, int *labels);

#endif
