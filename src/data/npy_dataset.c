/*
 * npy_dataset.c - images and labels as .npy arrays a user prepared
 * elsewhere, taken as they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "io/npy.h"

/* A sample's side must fit the int pipeline, and its floats a size_t. */
#define MAX_SIDE 65536

static cz_status check_shapes(const cz_npy_array *x, const cz_npy_array *y, const char *images,
                              const char *labels)
{
    if (x->ndim != 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: expected images (N, C, H, W), got %d dims", images,
                       x->ndim);
    if (x->shape[2] != x->shape[3] || x->shape[1] < 1 || x->shape[1] > 4096 || x->shape[2] < 1 ||
        x->shape[2] > MAX_SIDE)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: images of %lldx%lldx%lld, expected C x S x S (square, C 1..4096, S "
                       "1..%d)",
                       images, (long long)x->shape[1], (long long)x->shape[2],
                       (long long)x->shape[3], MAX_SIDE);
    if (y->ndim != 1 || y->shape[0] != x->shape[0])
        return cz_fail(CZ_ERR_FORMAT, "%s: expected %lld labels (N), got %d dims of %lld",
                       labels, (long long)x->shape[0], y->ndim,
                       (long long)(y->ndim ? y->shape[0] : 0));
    if (x->shape[0] < 1 || x->shape[0] > 1 << 30)
        return cz_fail(CZ_ERR_FORMAT, "%s: %lld images, expected 1..2^30", images,
                       (long long)x->shape[0]);
    return CZ_OK;
}

static cz_status take_labels(const cz_npy_array *y, int classes, const char *labels,
                             cz_dataset *out)
{
    const int64_t *v = y->data;
    int64_t top = 0;
    for (int i = 0; i < out->count; i++) {
        if (v[i] < 0 || v[i] > 100000 || (classes > 0 && v[i] >= classes))
            return cz_fail(CZ_ERR_FORMAT, "%s: label %lld of sample %d is not a class 0..%d",
                           labels, (long long)v[i], i, (classes > 0 ? classes : 100001) - 1);
        top = v[i] > top ? v[i] : top;
    }
    out->classes = classes > 0 ? classes : (int)top + 1;
    out->labels = malloc(sizeof(int) * (size_t)out->count);
    out->class_names = calloc((size_t)out->classes, sizeof(char *));
    if (!out->labels || !out->class_names)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", labels);
    for (int i = 0; i < out->count; i++)
        out->labels[i] = (int)v[i];
    for (int k = 0; k < out->classes; k++) {
        char name[16];
        snprintf(name, sizeof name, "%d", k);
        if (!(out->class_names[k] = strdup(name)))
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", labels);
    }
    return CZ_OK;
}

cz_status cz_dataset_load_npy(const char *images, const char *labels, int classes,
                              cz_dataset *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", images);
    cz_npy_array x = {0}, y = {0};
    cz_status s = cz_npy_read(images, CZ_NPY_F32, &x);
    if (s == CZ_OK)
        s = cz_npy_read(labels, CZ_NPY_I64, &y);
    if (s == CZ_OK)
        s = check_shapes(&x, &y, images, labels);
    if (s == CZ_OK) {
        out->count = (int)x.shape[0];
        out->pipe = (cz_preprocess){.channels = (int)x.shape[1], .resize = (int)x.shape[2],
                                    .crop = (int)x.shape[2], .mean = {0}, .std = {1, 1, 1}};
        out->aug = cz_augment_default(CZ_CROP_CENTER);
        s = take_labels(&y, classes, labels, out);
    }
    if (s == CZ_OK) {
        out->floats = x.data; /* taken over */
        x.data = NULL;
    }
    cz_npy_free(&x);
    cz_npy_free(&y);
    if (s != CZ_OK)
        cz_dataset_free(out);
    return s;
}
