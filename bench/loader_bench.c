/*
 * loader_bench.c - how fast the loader decodes and augments an image
 * folder: `cz_bench_loader DIR MODEL WORKERS IMAGES` draws IMAGES training
 * samples (MODEL's crop size, RandomResizedCrop + flip) through WORKERS
 * threads and prints images per second of wall time and per second of
 * CPU time (per core).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "data/loader.h"

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: cz_bench_loader DIR MODEL WORKERS IMAGES\n");
        return 2;
    }
    int workers = atoi(argv[3]), want = atoi(argv[4]);
    cz_preprocess p;
    cz_dataset ds;
    if (cz_preprocess_for_model(argv[2], &p) != CZ_OK ||
        cz_dataset_open_folder(argv[1], &p, &ds, NULL) != CZ_OK) {
        fprintf(stderr, "cz_bench_loader: %s\n", cz_last_error());
        return 1;
    }
    ds.aug = cz_augment_default(CZ_CROP_RANDOM_RESIZED);
    double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    int done = 0;
    for (int epoch = 0; done < want; epoch++) {
        cz_loader_opts o = {.batch = 32, .workers = workers, .train = true, .seed = 1,
                            .epoch = epoch};
        cz_loader *l;
        if (cz_loader_start(&ds, NULL, ds.count, &o, &l) != CZ_OK) {
            fprintf(stderr, "cz_bench_loader: %s\n", cz_last_error());
            return 1;
        }
        const cz_tensor *x;
        const int *labels;
        int n;
        while (done < want && cz_loader_next(l, &x, &labels, &n) == CZ_OK && n > 0)
            done += n;
        cz_loader_stop(l);
    }
    double wall = seconds(CLOCK_MONOTONIC) - wall0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    printf("%d images, %d workers: %.1f s wall, %.1f s CPU: %.0f images/s, %.0f images/s per core\n",
           done, workers, wall, cpu, done / wall, done / cpu);
    cz_dataset_free(&ds);
    return 0;
}
