/* fuzz_util.c - the scratch folder and input splitting of fuzz.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnzoo.h"
#include "fuzz.h"

static char dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (ftw->level > 0 || !dir[0] || strcmp(path, dir) != 0)
        remove(path);
    return 0;
}

static void remove_dir(void)
{
    if (!dir[0])
        return;
    fz_clear();
    rmdir(dir);
}

const char *fz_dir(void)
{
    if (!dir[0]) {
        /* /dev/shm when it exists: every input writes files, and tmpfs
         * keeps that from being disk-bound. */
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/cz_fuzz_XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

const char *fz_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    return path;
}

void fz_clear(void)
{
    /* Depth first, so folders are empty when removed; the root stays. */
    nftw(fz_dir(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int make_parents(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + strlen(fz_dir()) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return 0;
        *p = '/';
    }
    return 1;
}

int fz_mkdirs(const char *path)
{
    return make_parents(path) && (mkdir(path, 0700) == 0 || errno == EEXIST);
}

int fz_symlink(const char *target, const char *path)
{
    return make_parents(path) && symlink(target, path) == 0;
}

int fz_write(const char *path, const void *data, size_t size)
{
    if (!make_parents(path))
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; n < max - 1 && i + 4 <= size; i++)
        if (memcmp(data + i, FZ_SEP, 4) == 0) {
            part[n] = data + start;
            len[n++] = i - start;
            start = i + 4;
            i += 3;
        }
    part[n] = data + start;
    len[n++] = size - start;
    return n;
}

void fz_load_weights(const char *name, const uint8_t *data, size_t size)
{
    static cz_net *lenet;
    if (!lenet)
        lenet = cz_model_create("lenet5", 10, 32, 32, 1);
    const char *path = fz_path(name);
    if (lenet && fz_write(path, data, size))
        cz_weights_load(lenet, path, false);
}
