/*
 * cifar.c - CIFAR-10 and CIFAR-100 from their binary archives
 * (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz), held in memory as
 * 32x32 RGB images. The files store each image as three 32x32 planes
 * (R, G, B); the dataset keeps pixels interleaved, as every image is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"
#include "io/io.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define IMAGE_BYTES (3 * PLANE)
/* Far above the 60 000 images of either set: a bound on what a folder of
 * wrong files can make us allocate. */
#define MAX_RECORDS 10000000
#define MAX_FILES 5

static const char *const cifar10_names[] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};

/* The layout of one of the two sets. */
typedef struct cifar_kind {
    int classes;
    int label_bytes; /* the label used is the last one: CIFAR-100's fine label */
    const char *archive_dir;
    const char *names_file;
    const char *train_files[MAX_FILES];
    const char *test_files[MAX_FILES];
} cifar_kind;

static const cifar_kind kinds[] = {
    {10,
     1,
     "cifar-10-batches-bin",
     "batches.meta.txt",
     {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
      "data_batch_5.bin"},
     {"test_batch.bin"}},
    {100, 2, "cifar-100-binary", "fine_label_names.txt", {"train.bin"}, {"test.bin"}},
};

/* "dir/name" into buf; false if it does not fit. */
static bool join(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

/* A file's record count from its size, checked before anything is read. */
static cz_status count_records(const cifar_kind *k, const char *dir, const char *file,
                               size_t record, size_t *records)
{
    char path[4096];
    if (!join(path, sizeof path, dir, file))
        return cz_fail(CZ_ERR_ARG, "%s: path too long", dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT)
            return cz_fail(CZ_ERR_IO,
                           "%s: not found (expected the folder of the CIFAR-%d binary files, "
                           "the one the archive extracts to: %s)",
                           path, k->classes, k->archive_dir);
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return cz_fail(CZ_ERR_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: empty, expected %zu-byte CIFAR-%d records (10000 in each file of the "
                       "archive)",
                       path, record, k->classes);
    if ((uint64_t)st.st_size % record != 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: %lld bytes, not a whole number of %zu-byte CIFAR-%d records "
                       "(%d label byte%s + 32x32x3 pixels)",
                       path, (long long)st.st_size, record, k->classes, k->label_bytes,
                       k->label_bytes > 1 ? "s" : "");
    *records = (size_t)((uint64_t)st.st_size / record);
    return CZ_OK;
}

/* Reads one file's `records` records into out from sample `first` on. */
static cz_status read_records(const cifar_kind *k, const char *dir, const char *file,
                              size_t records, int first, cz_dataset *out)
{
    char path[4096];
    join(path, sizeof path, dir, file); /* fitted in count_records */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t record[2 + IMAGE_BYTES];
    size_t record_size = (size_t)k->label_bytes + IMAGE_BYTES;
    cz_status s = CZ_OK;
    for (size_t r = 0; r < records && s == CZ_OK; r++) {
        if (fread(record, 1, record_size, fp) != record_size) {
            s = cz_fail(CZ_ERR_IO, "%s: cut short at record %zu of %zu (changed while read?)",
                        path, r, records);
            break;
        }
        int label = record[k->label_bytes - 1];
        if (label >= k->classes) {
            s = cz_fail(CZ_ERR_FORMAT, "%s: record %zu has label %d, expected 0..%d", path, r,
                        label, k->classes - 1);
            break;
        }
        int i = first + (int)r;
        out->labels[i] = label;
        /* (3, 32, 32) planes -> (32, 32, 3) interleaved */
        const uint8_t *src = record + k->label_bytes;
        uint8_t *dst = out->pixels + (size_t)i * IMAGE_BYTES;
        for (int p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++)
                dst[3 * p + c] = src[c * PLANE + p];
    }
    fclose(fp);
    return s;
}

/* Trims spaces and '\r' from both ends of the line [*begin, *end). */
static void trim(const char **begin, const char **end)
{
    while (*begin < *end && (**begin == ' ' || **begin == '\t' || **begin == '\r'))
        (*begin)++;
    while (*end > *begin && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
}

/* The names in `path`, one a line (blank lines ignored), if it holds
 * exactly `classes` of them; false otherwise, names untouched. */
static bool read_names(const char *path, int classes, char **names)
{
    char *text;
    size_t size;
    if (cz_read_file(path, 1 << 20, &text, &size) != CZ_OK) {
        cz_clear_error();
        return false;
    }
    int n = 0;
    bool ok = true;
    for (const char *line = text; ok && line < text + size;) {
        const char *nl = memchr(line, '\n', (size_t)(text + size - line));
        const char *begin = line, *end = nl ? nl : text + size;
        line = end + 1;
        trim(&begin, &end);
        if (begin == end)
            continue;
        if (n == classes || memchr(begin, '\0', (size_t)(end - begin))) {
            ok = false;
            break;
        }
        names[n] = malloc((size_t)(end - begin) + 1);
        if (!names[n]) {
            ok = false;
            break;
        }
        memcpy(names[n], begin, (size_t)(end - begin));
        names[n][end - begin] = '\0';
        n++;
    }
    free(text);
    if (ok && n == classes)
        return true;
    for (int i = 0; i < n; i++) {
        free(names[i]);
        names[i] = NULL;
    }
    return false;
}

/* The names file's names, else CIFAR-10's standard names or "0".."99". */
static cz_status class_names(const cifar_kind *k, const char *dir, cz_dataset *out)
{
    out->class_names = calloc((size_t)k->classes, sizeof *out->class_names);
    if (!out->class_names)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %d class names", dir, k->classes);
    out->classes = k->classes;
    char path[4096];
    if (join(path, sizeof path, dir, k->names_file) &&
        read_names(path, k->classes, out->class_names))
        return CZ_OK;
    for (int c = 0; c < k->classes; c++) {
        char number[16];
        snprintf(number, sizeof number, "%d", c);
        const char *name = k->classes == 10 ? cifar10_names[c] : number;
        out->class_names[c] = malloc(strlen(name) + 1);
        if (!out->class_names[c])
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for class names", dir);
        strcpy(out->class_names[c], name);
    }
    return CZ_OK;
}

static cz_status load(const cifar_kind *k, const char *path, bool train, cz_dataset *out)
{
    const char *const *files = train ? k->train_files : k->test_files;
    size_t record = (size_t)k->label_bytes + IMAGE_BYTES;
    size_t records[MAX_FILES] = {0}, total = 0;
    struct stat st;
    bool found = stat(path, &st) == 0;
    if (!found || !S_ISDIR(st.st_mode))
        return cz_fail(CZ_ERR_IO,
                       "%s: %s (expected the folder of the CIFAR-%d binary files, the one the "
                       "archive extracts to: %s)",
                       path, found ? "not a folder" : "cannot open folder", k->classes,
                       k->archive_dir);
    for (int f = 0; f < MAX_FILES && files[f]; f++) {
        cz_status s = count_records(k, path, files[f], record, &records[f]);
        if (s != CZ_OK)
            return s;
        total += records[f];
        if (total > MAX_RECORDS)
            return cz_fail(CZ_ERR_FORMAT, "%s: more than %d CIFAR records in its %s files",
                           path, MAX_RECORDS, train ? "training" : "test");
    }

    size_t pixel_bytes;
    cz_status s = cz_alloc_check(&pixel_bytes, total, IMAGE_BYTES, path,
                                 "%zu CIFAR-%d %s images", total, k->classes,
                                 train ? "training" : "test");
    if (s == CZ_OK)
        s = class_names(k, path, out);
    if (s != CZ_OK)
        return s;
    out->labels = malloc(sizeof *out->labels * total);
    out->pixels = malloc(pixel_bytes);
    if (!out->labels || !out->pixels)
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot hold %zu images in memory", path, total);
    out->count = (int)total;
    out->channels = 3;
    out->height = SIDE;
    out->width = SIDE;
    int first = 0;
    for (int f = 0; f < MAX_FILES && files[f] && s == CZ_OK; f++) {
        s = read_records(k, path, files[f], records[f], first, out);
        first += (int)records[f];
    }
    return s;
}

cz_status cz_dataset_load_cifar(const char *path, int classes, bool train, cz_dataset *out)
{
    memset(out, 0, sizeof *out);
    const cifar_kind *k = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].classes == classes)
            k = &kinds[i];
    if (!k)
        return cz_fail(CZ_ERR_ARG, "%s: CIFAR with %d classes, expected 10 or 100", path,
                       classes);
    snprintf(out->source, sizeof out->source, "%s", path);
    /* torchvision's CIFAR transforms: ToTensor + Normalize with the
     * training set's per-channel statistics, no resize. */
    out->pipe = (cz_preprocess){3, SIDE, SIDE, CZ_RESAMPLE_BILINEAR,
                                {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
    out->aug = cz_augment_default(CZ_CROP_CENTER);
    cz_status s = load(k, path, train, out);
    if (s != CZ_OK)
        cz_dataset_free(out);
    return s;
}
