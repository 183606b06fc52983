/*
 * dataset.h - labelled image sets and the samples drawn from them.
 *
 * A dataset holds its images either decoded in memory (IDX, CIFAR: small
 * and fixed-size) or as a list of files (an image folder, decoded when a
 * sample is drawn). Every sample goes through the same pipeline: the
 * dataset's evaluation transform `pipe` (resize, centre crop, normalise),
 * or, for training, the random transforms `aug` on top of it.
 */
#ifndef CZ_DATASET_H
#define CZ_DATASET_H

#include "data/augment.h"

typedef struct cz_dataset {
    int count;   /* samples */
    int classes; /* labels are in [0, classes) */
    int *labels;
    char **class_names; /* classes entries, owned */

    /* In memory: count images of height x width x channels bytes,
     * interleaved; NULL for a file list. */
    uint8_t *pixels;
    int channels, height, width;
    /* Or files: count paths, owned; decoded to pipe.channels. */
    char **paths;
    /* Or ready samples: count x pipe.channels x pipe.crop x pipe.crop
     * floats, used as they are (arrays a user prepared). */
    float *floats;

    cz_preprocess pipe; /* the sample's shape and normalisation */
    cz_augment aug;     /* used when a sample is drawn for training */
    char source[512];   /* where it came from, for messages */
} cz_dataset;

/* MNIST-style IDX pairs. `name` is "fashion-mnist" or "mnist" (Debian's
 * dataset packages under /usr/share/datasets/) or a folder holding
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. The pipeline pads the
 * 28x28 digits by `pad` zero pixels each side and normalises with the
 * training set's mean and std. */
cz_status cz_dataset_load_idx(const char *name, bool train, int pad, cz_dataset *out);

/* CIFAR-10 or CIFAR-100 in their binary form: `path` is the folder of
 * data_batch_{1..5}.bin and test_batch.bin (CIFAR-10) or train.bin and
 * test.bin (CIFAR-100, fine labels). Class names come from
 * batches.meta.txt / fine_label_names.txt when present. The pipeline is
 * 32x32 with the usual per-channel statistics. */
cz_status cz_dataset_load_cifar(const char *path, int classes, bool train, cz_dataset *out);

/* An image folder as torchvision's ImageFolder reads it: root/CLASS/FILE,
 * classes in strcmp order of their folder names, files with the extensions
 * torchvision accepts (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp,
 * any case) in strcmp order within a class. Zero-byte files are left out
 * and counted in *skipped. `pipe` is the model's transform. */
cz_status cz_dataset_open_folder(const char *root, const cz_preprocess *pipe, cz_dataset *out,
                                 int *skipped);

/* Arrays prepared elsewhere: images (N, C, S, S) float32 (or float64) and
 * labels (N) int64 or int32, used as they are: no resizing, no
 * normalisation, no augmentation. Labels must be in [0, classes) with
 * classes = 1 + the largest label unless `classes` > 0 says otherwise. */
cz_status cz_dataset_load_npy(const char *images, const char *labels, int classes,
                              cz_dataset *out);

void cz_dataset_free(cz_dataset *ds);

/* Floats per sample: pipe.channels x pipe.crop x pipe.crop. */
size_t cz_dataset_sample_size(const cz_dataset *ds);

/* Sample i into dst: the evaluation transform (or its ten crops, 10
 * samples, when ten_crop), or with `rng` the training transforms `aug`. A
 * file that cannot be decoded is an error naming it. */
cz_status cz_dataset_sample(const cz_dataset *ds, int i, cz_rng *rng, bool ten_crop, float *dst);

#endif
