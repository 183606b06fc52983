/*
 * data_arg.c - what --data names: fashion-mnist, mnist, a folder of IDX
 * files, cifar10:PATH, cifar100:PATH, or an image folder (CLASS/IMAGE, or
 * train/CLASS/IMAGE and val/CLASS/IMAGE as ImageNet is laid out), or
 * npy:IMAGES.npy,LABELS.npy (arrays used as they are).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_entry(const char *dir, const char *name)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static bool is_idx_dir(const char *dir)
{
    return has_entry(dir, "t10k-images-idx3-ubyte") || has_entry(dir, "t10k-images-idx3-ubyte.gz") ||
           has_entry(dir, "train-images-idx3-ubyte") || has_entry(dir, "train-images-idx3-ubyte.gz");
}

static int fail(void)
{
    cz_cli_error("%s", cz_last_error());
    return CZ_EXIT_FAIL;
}

static int open_idx(const char *model, const char *spec, bool train, cz_dataset *ds)
{
    cz_preprocess p;
    if (cz_preprocess_for_model(model, &p) != CZ_OK)
        return fail();
    int pad = (p.crop - 28) / 2;
    if (p.channels != 1 || pad < 0 || 28 + 2 * pad != p.crop) {
        cz_cli_error("--data %s: 1x28x28 images do not fit %s's %dx%dx%d input", spec, model,
                     p.channels, p.crop, p.crop);
        return CZ_EXIT_USAGE;
    }
    return cz_dataset_load_idx(spec, train, pad, ds) == CZ_OK ? CZ_EXIT_OK : fail();
}

static int open_folder(const char *model, const char *root, cz_dataset *ds, int *skipped)
{
    cz_preprocess p;
    if (cz_preprocess_for_model(model, &p) != CZ_OK)
        return fail();
    return cz_dataset_open_folder(root, &p, ds, skipped) == CZ_OK ? CZ_EXIT_OK : fail();
}

/* npy:IMAGES,LABELS. */
static int open_npy(const char *model, const char *spec, cz_dataset *ds)
{
    char images[1024];
    const char *comma = strchr(spec + 4, ',');
    size_t len = comma ? (size_t)(comma - (spec + 4)) : 0;
    if (!comma || len == 0 || len >= sizeof images || !comma[1]) {
        cz_cli_error("--data %s: expected npy:IMAGES.npy,LABELS.npy", spec);
        return CZ_EXIT_USAGE;
    }
    memcpy(images, spec + 4, len);
    images[len] = '\0';
    (void)model;
    return cz_dataset_load_npy(images, comma + 1, 0, ds) == CZ_OK
               ? CZ_EXIT_OK
               : fail();
}

int cz_cli_dataset(const char *model, const char *spec, bool train, cz_dataset *ds,
                   cz_data_kind *kind, int *skipped)
{
    *skipped = 0;
    if (!cz_model_find(model)) {
        cz_cli_error("unknown model '%s' (`cnnzoo list` shows them all)", model);
        return CZ_EXIT_USAGE;
    }
    if (strncmp(spec, "npy:", 4) == 0) {
        *kind = CZ_DATA_NPY;
        return open_npy(model, spec, ds);
    }
    if (strncmp(spec, "cifar10:", 8) == 0 || strncmp(spec, "cifar100:", 9) == 0) {
        bool hundred = strncmp(spec, "cifar100:", 9) == 0;
        *kind = CZ_DATA_CIFAR;
        return cz_dataset_load_cifar(strchr(spec, ':') + 1, hundred ? 100 : 10, train, ds) == CZ_OK
                   ? CZ_EXIT_OK
                   : fail();
    }
    if (strcmp(spec, "fashion-mnist") == 0 || strcmp(spec, "mnist") == 0 || is_idx_dir(spec)) {
        *kind = CZ_DATA_IDX;
        return open_idx(model, spec, train, ds);
    }
    if (!is_dir(spec)) {
        cz_cli_error("--data %s: no such folder (expected fashion-mnist, mnist, cifar10:PATH, "
                     "cifar100:PATH, a folder of IDX files, or an image folder "
                     "CLASS/IMAGE.jpg)", spec);
        return CZ_EXIT_FAIL;
    }
    *kind = CZ_DATA_FOLDER;
    char split[1200];
    const char *name = train ? "train" : "val";
    snprintf(split, sizeof split, "%s/%s", spec, name);
    if (is_dir(split) && (has_entry(spec, "train") && has_entry(spec, "val")))
        return open_folder(model, split, ds, skipped);
    return open_folder(model, spec, ds, skipped);
}

bool cz_cli_has_test_split(const char *spec, cz_data_kind kind)
{
    if (kind == CZ_DATA_NPY)
        return false;
    if (kind != CZ_DATA_FOLDER)
        return true;
    char split[1200];
    snprintf(split, sizeof split, "%s/val", spec);
    return is_dir(split) && has_entry(spec, "train");
}

int cz_cli_default_workers(cz_data_kind kind)
{
    /* Decoding JPEGs needs every core; the in-memory sets only copy and
     * crop, which one thread does faster than a step. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (kind != CZ_DATA_FOLDER || cores < 1)
        return 1;
    return cores > 8 ? 8 : (int)cores;
}
