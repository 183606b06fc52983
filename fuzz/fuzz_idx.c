/*
 * fuzz_idx.c - IDX files (MNIST, Fashion-MNIST), plain or gzip: the first
 * part of an input is the images file, the second (after "#CZ#") the
 * labels; both are read alone and as the dataset pair, whose first and
 * last samples are then drawn as training draws them.
 */
#include <stdlib.h>

#include "data/dataset.h"
#include "fuzz.h"

static void draw(const cz_dataset *ds)
{
    size_t n = cz_dataset_sample_size(ds);
    float *dst = n <= 1u << 16 ? malloc(n * sizeof *dst) : NULL;
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    if (dst) {
        cz_dataset_sample(ds, 0, &rng, false, dst);
        cz_dataset_sample(ds, ds->count - 1, &rng, false, dst);
    }
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    int n = fz_split(data, size, part, len, 2);
    fz_clear();
    const char *images = "idx/train-images-idx3-ubyte", *labels = "idx/train-labels-idx1-ubyte";
    /* fz_path's buffer is static: write each file before naming the next. */
    if (!fz_write(fz_path(images), part[0], len[0]))
        return 0;
    if (n > 1 && !fz_write(fz_path(labels), part[1], len[1]))
        return 0;
    cz_idx idx;
    if (cz_idx_read(fz_path(images), &idx) == CZ_OK)
        cz_idx_free(&idx);
    cz_dataset ds;
    if (cz_dataset_load_idx(fz_path("idx"), true, 2, &ds) == CZ_OK) {
        draw(&ds);
        cz_dataset_free(&ds);
    }
    return 0;
}
