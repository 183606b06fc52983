/*
 * fuzz_cifar.c - CIFAR binary batches: the first byte picks CIFAR-10 or
 * CIFAR-100, the rest is the test batch, optionally followed (after
 * "#CZ#") by the class-names file.
 */
#include <stdlib.h>

#include "data/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int classes = data[0] & 1 ? 100 : 10;
    const uint8_t *part[2];
    size_t len[2];
    int n = fz_split(data + 1, size - 1, part, len, 2);
    fz_clear();
    if (!fz_write(fz_path(classes == 10 ? "c/test_batch.bin" : "c/test.bin"), part[0], len[0]))
        return 0;
    if (n > 1 &&
        !fz_write(fz_path(classes == 10 ? "c/batches.meta.txt" : "c/fine_label_names.txt"),
                  part[1], len[1]))
        return 0;
    cz_dataset ds;
    if (cz_dataset_load_cifar(fz_path("c"), classes, false, &ds) == CZ_OK) {
        float *dst = malloc(cz_dataset_sample_size(&ds) * sizeof *dst);
        cz_rng rng;
        cz_rng_seed(&rng, 1);
        if (dst)
            cz_dataset_sample(&ds, ds.count - 1, &rng, false, dst);
        free(dst);
        cz_dataset_free(&ds);
    }
    return 0;
}
