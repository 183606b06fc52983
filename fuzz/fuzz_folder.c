/*
 * fuzz_folder.c - the image-folder scanner (torchvision's ImageFolder
 * layout) and the samples drawn from it. An input describes a tree, parts
 * separated by "#CZ#":
 *   "f PATH\n" then the file's bytes    a file under the root
 *   "d PATH"                            an empty folder
 *   "l PATH TARGET"                     a symbolic link (loops included)
 * PATH is relative to the root; parts naming ".." or "/..." are dropped,
 * and a link may not point above the root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "fuzz.h"

#define MAX_PARTS 24

/* A relative path with no "..", no empty names, no control bytes. */
static int safe_path(const char *p)
{
    if (!*p || *p == '/' || strlen(p) > 200)
        return 0;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 32)
            return 0;
    return !strstr(p, "..") && !strstr(p, "//");
}

/* How many folders deep the link at `path` sits, and whether target stays
 * inside the root from there: only "../" steps up to that depth, then a
 * safe path (or nothing). */
static int safe_link(const char *path, const char *target)
{
    int depth = 0;
    for (const char *c = path; *c; c++)
        depth += *c == '/';
    while (strncmp(target, "../", 3) == 0 && depth > 0) {
        target += 3;
        depth--;
    }
    return !*target || strcmp(target, ".") == 0 || safe_path(target);
}

/* One part of the input made on disk under root/. */
static void make_part(const uint8_t *data, size_t size)
{
    char head[512], path[800];
    size_t n = 0;
    while (n < size && n < sizeof head - 1 && data[n] != '\n')
        n++;
    memcpy(head, data, n);
    head[n] = '\0';
    if (n < 3 || head[1] != ' ')
        return;
    char *name = head + 2, *target = strchr(name, ' ');
    if (head[0] == 'l' && target)
        *target++ = '\0';
    if (!safe_path(name))
        return;
    snprintf(path, sizeof path, "%s/root/%s", fz_dir(), name);
    if (head[0] == 'f')
        fz_write(path, data + n + (n < size), size - n - (n < size));
    else if (head[0] == 'd')
        fz_mkdirs(path);
    else if (head[0] == 'l' && target && safe_link(name, target))
        fz_symlink(target, path);
}

/* The first few samples, decoded, resized and cropped as evaluation does,
 * and one drawn with training's random transforms. */
static void draw(const cz_dataset *ds)
{
    float *dst = malloc(cz_dataset_sample_size(ds) * sizeof *dst);
    cz_rng rng;
    cz_rng_seed(&rng, 1);
    for (int i = 0; dst && i < ds->count && i < 4; i++)
        cz_dataset_sample(ds, i, i == 3 ? &rng : NULL, false, dst);
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[MAX_PARTS];
    size_t len[MAX_PARTS];
    int n = fz_split(data, size, part, len, MAX_PARTS);
    fz_clear();
    fz_mkdirs(fz_path("root"));
    for (int i = 0; i < n; i++)
        make_part(part[i], len[i]);
    /* A small crop keeps each draw cheap; the scanner does not care. */
    cz_preprocess pipe = {3, 12, 8, CZ_RESAMPLE_BILINEAR, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
    cz_dataset ds;
    int skipped = 0;
    if (cz_dataset_open_folder(fz_path("root"), &pipe, &ds, &skipped) == CZ_OK) {
        draw(&ds);
        cz_dataset_free(&ds);
    }
    return 0;
}
