/*
 * test_loader.c - the background loader: batches come in the order given,
 * whole, whatever the number of workers; random transforms depend on the
 * seed and epoch only; unreadable files (zero bytes, truncated, garbage,
 * a PNG claiming 100000x100000 pixels) are left out and counted, never
 * fatal, and a set of only bad files ends the epoch empty; stopping in
 * the middle of an epoch neither hangs nor leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <png.h>
#include <zlib.h>

#include "data/loader.h"
#include "testutil.h"

enum { COUNT = 103, SIDE = 6 };

/* COUNT grey SIDExSIDE images whose pixels all equal their index; label =
 * index % 7. */
static void make_memory_set(cz_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->count = COUNT;
    ds->classes = 7;
    ds->channels = 1;
    ds->height = ds->width = SIDE;
    ds->pixels = malloc((size_t)COUNT * SIDE * SIDE);
    ds->labels = malloc(sizeof(int) * COUNT);
    ds->class_names = calloc(7, sizeof(char *));
    assert_non_null(ds->pixels);
    for (int i = 0; i < COUNT; i++) {
        memset(ds->pixels + (size_t)i * SIDE * SIDE, i, SIDE * SIDE);
        ds->labels[i] = i % 7;
    }
    ds->pipe = (cz_preprocess){1, SIDE, SIDE, CZ_RESAMPLE_BILINEAR, {0.0f}, {1.0f}};
    ds->aug = cz_augment_default(CZ_CROP_CENTER);
    snprintf(ds->source, sizeof ds->source, "memory");
}

/* Runs one epoch and returns the concatenated samples and labels. */
static int run_epoch(const cz_dataset *ds, const int *order, int count, cz_loader_opts *o,
                     float *xs, int *labels, int *batches)
{
    cz_loader *l;
    tu_check(cz_loader_start(ds, order, count, o, &l));
    size_t size = cz_dataset_sample_size(ds);
    int seen = 0;
    *batches = 0;
    for (;;) {
        const cz_tensor *x;
        const int *lab;
        int n;
        tu_check(cz_loader_next(l, &x, &lab, &n));
        if (n == 0)
            break;
        assert_true(n <= o->batch);
        assert_int_equal(x->shape[0], n);
        memcpy(xs + size * seen, x->data, sizeof(float) * size * n);
        memcpy(labels + seen, lab, sizeof(int) * n);
        seen += n;
        (*batches)++;
    }
    cz_loader_stop(l);
    return seen;
}

static void order_kept_for_any_worker_count(void **state)
{
    (void)state;
    cz_dataset ds;
    make_memory_set(&ds);
    int order[COUNT], labels[COUNT], batches;
    for (int i = 0; i < COUNT; i++)
        order[i] = (i * 37) % COUNT; /* a permutation: 37 is prime to 103 */
    float *xs = malloc(sizeof(float) * COUNT * SIDE * SIDE);
    for (int workers = 0; workers <= 4; workers++) {
        cz_loader_opts o = {.batch = 10, .workers = workers};
        memset(labels, -1, sizeof labels);
        assert_int_equal(run_epoch(&ds, order, COUNT, &o, xs, labels, &batches), COUNT);
        assert_int_equal(batches, 11); /* ten of 10 and one of 3 */
        for (int i = 0; i < COUNT; i++) {
            assert_int_equal(labels[i], order[i] % 7);
            assert_float_equal(xs[(size_t)i * SIDE * SIDE + 7], order[i] / 255.0f, 1e-7);
        }
    }
    free(xs);
    cz_dataset_free(&ds);
}

/* The pad-4 crop and flip: equal for 0 and 3 workers, different in the
 * next epoch or with another seed. */
static void augmentation_depends_on_seed_and_epoch_only(void **state)
{
    (void)state;
    cz_dataset ds;
    make_memory_set(&ds);
    for (int i = 0; i < COUNT * SIDE * SIDE; i++)
        ds.pixels[i] = (uint8_t)(i * 13 % 251); /* texture, so crops differ */
    ds.aug = cz_augment_default(CZ_CROP_PAD_RANDOM);
    size_t n = (size_t)COUNT * SIDE * SIDE;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    int labels[COUNT], batches;
    cz_loader_opts o = {.batch = 16, .workers = 0, .train = true, .seed = 5, .epoch = 2};
    run_epoch(&ds, NULL, COUNT, &o, a, labels, &batches);
    o.workers = 3;
    run_epoch(&ds, NULL, COUNT, &o, b, labels, &batches);
    assert_memory_equal(a, b, sizeof(float) * n);
    o.epoch = 3;
    run_epoch(&ds, NULL, COUNT, &o, b, labels, &batches);
    assert_memory_not_equal(a, b, sizeof(float) * n);
    o.epoch = 2;
    o.seed = 6;
    run_epoch(&ds, NULL, COUNT, &o, b, labels, &batches);
    assert_memory_not_equal(a, b, sizeof(float) * n);
    free(a);
    free(b);
    cz_dataset_free(&ds);
}

/* ------------------------------------------------------------ files */

static void write_png(const char *path, int value)
{
    uint8_t pixels[SIDE * SIDE];
    memset(pixels, value, sizeof pixels);
    png_image img = {.version = PNG_IMAGE_VERSION, .width = SIDE, .height = SIDE,
                     .format = PNG_FORMAT_GRAY};
    assert_true(png_image_write_to_file(&img, path, 0, pixels, 0, NULL));
}

static uint8_t *read_all(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)*size);
    assert_int_equal(fread(buf, 1, (size_t)*size, f), (size_t)*size);
    fclose(f);
    return buf;
}

/* A valid PNG whose IHDR now claims 100000x100000 (CRC fixed up). */
static void write_bomb_png(const char *path, const char *good)
{
    long size;
    uint8_t *buf = read_all(good, &size);
    const uint8_t big[4] = {0x00, 0x01, 0x86, 0xA0}; /* 100000 */
    memcpy(buf + 16, big, 4);
    memcpy(buf + 20, big, 4);
    uLong crc = crc32(0, buf + 12, 17); /* "IHDR" + 13 bytes of data */
    for (int i = 0; i < 4; i++)
        buf[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
    tu_write_bytes(path, buf, (size_t)size);
    free(buf);
}

/* Eight files: good ones hold their index as every pixel. */
static const char *const kinds[8] = {"good", "empty", "good", "truncated", "garbage",
                                     "bomb", "good", "good"};

static void make_file_set(cz_dataset *ds, bool all_bad)
{
    memset(ds, 0, sizeof *ds);
    ds->count = 8;
    ds->classes = 2;
    ds->paths = calloc(8, sizeof(char *));
    ds->labels = malloc(sizeof(int) * 8);
    ds->class_names = calloc(2, sizeof(char *));
    char good[4096];
    snprintf(good, sizeof good, "%s", tu_tmp_path("reference.png"));
    write_png(good, 0);
    for (int i = 0; i < 8; i++) {
        char name[32];
        const char *kind = all_bad && strcmp(kinds[i], "good") == 0 ? "garbage" : kinds[i];
        snprintf(name, sizeof name, "%d-%s.png", i, kind);
        ds->paths[i] = strdup(tu_tmp_path(name));
        ds->labels[i] = i % 2;
        long size;
        uint8_t *bytes;
        if (strcmp(kind, "good") == 0) {
            write_png(ds->paths[i], i);
        } else if (strcmp(kind, "empty") == 0) {
            tu_write_bytes(ds->paths[i], "", 0);
        } else if (strcmp(kind, "truncated") == 0) {
            bytes = read_all(good, &size);
            tu_write_bytes(ds->paths[i], bytes, (size_t)size / 2);
            free(bytes);
        } else if (strcmp(kind, "garbage") == 0) {
            tu_write_bytes(ds->paths[i], "not an image at all", 19);
        } else {
            write_bomb_png(ds->paths[i], good);
        }
    }
    ds->pipe = (cz_preprocess){1, SIDE, SIDE, CZ_RESAMPLE_BILINEAR, {0.0f}, {1.0f}};
    ds->aug = cz_augment_default(CZ_CROP_CENTER);
    snprintf(ds->source, sizeof ds->source, "files");
}

static void unreadable_files_are_skipped_and_counted(void **state)
{
    (void)state;
    for (int workers = 0; workers <= 2; workers += 2) {
        cz_dataset ds;
        make_file_set(&ds, false);
        cz_loader_opts o = {.batch = 3, .workers = workers};
        cz_loader *l;
        tu_check(cz_loader_start(&ds, NULL, ds.count, &o, &l));
        int expect[] = {0, 2, 6, 7}, got = 0;
        const cz_tensor *x;
        const int *labels;
        int n;
        do {
            tu_check(cz_loader_next(l, &x, &labels, &n));
            for (int i = 0; i < n; i++, got++) {
                assert_true(got < 4);
                assert_float_equal(x->data[(size_t)i * SIDE * SIDE], expect[got] / 255.0f, 1e-7);
                assert_int_equal(labels[i], expect[got] % 2);
            }
        } while (n > 0);
        assert_int_equal(got, 4);
        char first[1024];
        assert_int_equal(cz_loader_skipped(l, first, sizeof first), 4);
        print_message("first skipped: %s\n", first);
        assert_non_null(strstr(first, ".png")); /* it names the file */
        cz_loader_stop(l);
        cz_dataset_free(&ds);
    }
}

static void only_bad_files_give_an_empty_epoch(void **state)
{
    (void)state;
    cz_dataset ds;
    make_file_set(&ds, true);
    cz_loader_opts o = {.batch = 2, .workers = 2};
    cz_loader *l;
    tu_check(cz_loader_start(&ds, NULL, ds.count, &o, &l));
    const cz_tensor *x;
    const int *labels;
    int n;
    tu_check(cz_loader_next(l, &x, &labels, &n));
    assert_int_equal(n, 0);
    assert_int_equal(cz_loader_skipped(l, NULL, 0), 8);
    cz_loader_stop(l);
    cz_dataset_free(&ds);
}

static void stopping_early_does_not_hang(void **state)
{
    (void)state;
    cz_dataset ds;
    make_memory_set(&ds);
    for (int taken = 0; taken < 3; taken++) {
        cz_loader_opts o = {.batch = 4, .workers = 3};
        cz_loader *l;
        tu_check(cz_loader_start(&ds, NULL, ds.count, &o, &l));
        for (int k = 0; k < taken; k++) {
            const cz_tensor *x;
            const int *labels;
            int n;
            tu_check(cz_loader_next(l, &x, &labels, &n));
            assert_int_equal(n, 4);
        }
        cz_loader_stop(l);
    }
    cz_dataset_free(&ds);
}

static void bad_arguments(void **state)
{
    (void)state;
    cz_dataset ds;
    make_memory_set(&ds);
    cz_loader *l;
    cz_loader_opts o = {.batch = 0};
    tu_expect_error(cz_loader_start(&ds, NULL, ds.count, &o, &l), CZ_ERR_ARG, "batch 0", NULL);
    o.batch = 4;
    tu_expect_error(cz_loader_start(&ds, NULL, ds.count + 1, &o, &l), CZ_ERR_ARG, "104 of 103",
                    NULL);
    cz_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_kept_for_any_worker_count),
        cmocka_unit_test(augmentation_depends_on_seed_and_epoch_only),
        cmocka_unit_test(unreadable_files_are_skipped_and_counted),
        cmocka_unit_test(only_bad_files_give_an_empty_epoch),
        cmocka_unit_test(stopping_early_does_not_hang),
        cmocka_unit_test(bad_arguments),
    };
    if (tu_make_tmp_dir("loader") != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
