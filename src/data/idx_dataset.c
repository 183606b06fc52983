/*
 * idx_dataset.c - MNIST and Fashion-MNIST from their IDX files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

static const char *const fashion_classes[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};
static const char *const digit_classes[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

/* Mean and std of the 28x28 training images' pixels in [0, 1]: the
 * figures everyone normalises these two sets with. */
static const struct {
    const char *name, *dir;
    float mean, std;
    const char *const *classes;
} known[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist", 0.2860f, 0.3530f, fashion_classes},
    {"mnist", "/usr/share/datasets/mnist", 0.1307f, 0.3081f, digit_classes},
};

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* "<dir>/<stem>" with ".gz" if only the compressed file is there (a path
 * cut short by the buffer simply fails to open, with its name). */
static void idx_path(const char *dir, const char *stem, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", dir, stem);
    if (!exists(buf))
        snprintf(buf, size, "%s/%s.gz", dir, stem);
}

static cz_status copy_names(const char *const *names, int n, cz_dataset *out)
{
    out->class_names = calloc((size_t)n, sizeof(char *));
    if (!out->class_names)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", out->source);
    out->classes = n;
    for (int k = 0; k < n; k++)
        if (!(out->class_names[k] = strdup(names[k])))
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", out->source);
    return CZ_OK;
}

/* Takes the image bytes from `images` (one channel, so already
 * interleaved) and checks the labels (read from labels_path). */
static cz_status convert(cz_idx *images, const cz_idx *labels, const char *labels_path, int pad,
                         float mean, float std, cz_dataset *out)
{
    int rows = images->dims[1], cols = images->dims[2];
    if (rows != cols)
        return cz_fail(CZ_ERR_FORMAT, "%s: images are %dx%d, expected square digits",
                       out->source, rows, cols);
    out->count = (int)images->count;
    out->channels = 1;
    out->height = rows;
    out->width = cols;
    out->pixels = images->data;
    images->data = NULL;
    out->labels = malloc(sizeof(int) * (size_t)out->count);
    if (!out->labels)
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot hold %d labels in memory", out->source,
                       out->count);
    for (int i = 0; i < out->count; i++) {
        int label = labels->data[i];
        if (label >= out->classes)
            return cz_fail(CZ_ERR_FORMAT, "%s: label %d of sample %d is not a class 0..%d",
                           labels_path, label, i, out->classes - 1);
        out->labels[i] = label;
    }
    /* Resize to the size they have (a copy), then CenterCrop's zero
     * padding: (0 - mean) / std around the digit. */
    out->pipe = (cz_preprocess){1, rows, rows + 2 * pad, CZ_RESAMPLE_BILINEAR, {mean}, {std}};
    out->aug = cz_augment_default(CZ_CROP_CENTER);
    return CZ_OK;
}

cz_status cz_dataset_load_idx(const char *name, bool train, int pad, cz_dataset *out)
{
    memset(out, 0, sizeof *out);
    const char *dir = name;
    float mean = known[0].mean, std = known[0].std;
    const char *const *classes = fashion_classes;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp(name, known[k].name) == 0) {
            dir = known[k].dir;
            mean = known[k].mean;
            std = known[k].std;
            classes = known[k].classes;
        }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (dir != name)
            return cz_fail(CZ_ERR_IO,
                           "%s: dataset folder %s not found (install it: apt-get install "
                           "dataset-%s, or run scripts/deps.sh)",
                           name, dir, name);
        return cz_fail(CZ_ERR_IO,
                       "%s: no such dataset folder (expected fashion-mnist, mnist, or a folder "
                       "of IDX files)",
                       name);
    }
    const char *split = train ? "train" : "t10k";
    char images_path[sizeof out->source], labels_path[sizeof out->source], stem[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
    idx_path(dir, stem, images_path, sizeof images_path);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
    idx_path(dir, stem, labels_path, sizeof labels_path);
    snprintf(out->source, sizeof out->source, "%s", images_path);

    cz_idx images = {0}, labels = {0};
    cz_status s = cz_idx_read(images_path, &images);
    if (s == CZ_OK)
        s = cz_idx_read(labels_path, &labels);
    if (s == CZ_OK && (images.ndim != 3 || labels.ndim != 1))
        s = cz_fail(CZ_ERR_FORMAT, "%s, %s: expected images (N, H, W) and labels (N), got %d and %d dims",
                    images_path, labels_path, images.ndim, labels.ndim);
    if (s == CZ_OK && images.count != labels.count)
        s = cz_fail(CZ_ERR_FORMAT, "%s holds %zu images but %s holds %zu labels", images_path,
                    images.count, labels_path, labels.count);
    if (s == CZ_OK && (images.count == 0 || images.count > 1u << 30))
        s = cz_fail(CZ_ERR_FORMAT, "%s: %zu images, expected 1..2^30", images_path, images.count);
    if (s == CZ_OK && (pad < 0 || pad > 64))
        s = cz_fail(CZ_ERR_ARG, "padding %d, expected 0..64", pad);
    if (s == CZ_OK)
        s = copy_names(classes, 10, out);
    if (s == CZ_OK)
        s = convert(&images, &labels, labels_path, pad, mean, std, out);
    cz_idx_free(&images);
    cz_idx_free(&labels);
    if (s != CZ_OK)
        cz_dataset_free(out);
    return s;
}
