/*
 * folder.c - an image folder listed as torchvision 0.14's ImageFolder
 * lists it (DatasetFolder.find_classes and make_dataset): the classes are
 * the sorted names of root's sub-folders (hidden ones included, symbolic
 * links followed); a class's images are the files under its folder,
 * walked recursively with links followed, ordered by folder path and then
 * by file name, as sorted(os.walk(...)) orders them. Nothing is decoded
 * here: a sample's file is read when it is drawn.
 *
 * Where this differs from torchvision: files that cannot hold an image
 * (zero bytes, or not a regular file: a broken link, a pipe) are left out
 * and counted as skipped, and a symbolic link that loops back to a folder
 * above it is an error instead of being walked until the system's link
 * limit. Sorting compares UTF-8 bytes, which is Python's order for names
 * that are valid UTF-8.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

/* Deeper than any real dataset; reached only through links. */
#define MAX_DEPTH 64
/* Keeps count and labels within int. */
#define MAX_FILES (1 << 30)

static const char *const extensions[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                         ".pgm", ".tif",  ".tiff", ".webp"};
#define EXTENSION_LIST ".jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp"

typedef struct file_entry {
    char *path;
    size_t dir_len; /* path[dir_len] is the '/' before the file name */
} file_entry;

/* What one open_folder call has found so far. */
typedef struct walk {
    const char *root;
    file_entry *files;
    size_t count, cap;
    int skipped;
    bool class_has_file; /* torchvision's test: a name with an accepted extension */
    /* The folders from the class folder down to the current one, to find links
     * that loop. */
    struct {
        dev_t dev;
        ino_t ino;
        const char *path;
    } stack[MAX_DEPTH];
    int depth;
} walk;

static bool has_image_extension(const char *name)
{
    size_t n = strlen(name);
    for (size_t e = 0; e < sizeof extensions / sizeof extensions[0]; e++) {
        size_t k = strlen(extensions[e]);
        if (n < k)
            continue;
        bool same = true;
        for (size_t i = 0; i < k && same; i++) {
            char c = name[n - k + i];
            same = (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) == extensions[e][i];
        }
        if (same)
            return true;
    }
    return false;
}

/* os.path.join(dir, name) in a new string, or NULL. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + slash + b + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The names in folder `dir` but "." and "..", unsorted. */
static cz_status list_names(const char *dir, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return cz_fail(CZ_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    size_t n = 0, cap = 0;
    char **list = NULL;
    cz_status s = CZ_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                s = cz_fail(CZ_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t grown = cap ? 2 * cap : 64;
            char **p = grown <= MAX_FILES ? realloc(list, grown * sizeof *list) : NULL;
            if (!p) {
                s = cz_fail(CZ_ERR_NOMEM, "%s: out of memory listing %zu names", dir, n);
                break;
            }
            list = p;
            cap = grown;
        }
        list[n] = malloc(strlen(e->d_name) + 1);
        if (!list[n]) {
            s = cz_fail(CZ_ERR_NOMEM, "%s: out of memory listing %zu names", dir, n);
            break;
        }
        strcpy(list[n++], e->d_name);
    }
    closedir(d);
    if (s != CZ_OK) {
        free_names(list, n);
        return s;
    }
    *names = list;
    *count = n;
    return CZ_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted(os.walk(...)) order: the folder's path first (a folder sorts before
 * "folder-x" and both before "folder/sub": plain string order), then the
 * file's name. */
static int compare_files(const void *a, const void *b)
{
    const file_entry *x = a, *y = b;
    size_t n = x->dir_len < y->dir_len ? x->dir_len : y->dir_len;
    int c = memcmp(x->path, y->path, n);
    if (c != 0)
        return c;
    if (x->dir_len != y->dir_len)
        return x->dir_len < y->dir_len ? -1 : 1;
    return strcmp(x->path + x->dir_len + 1, y->path + y->dir_len + 1);
}

static cz_status add_file(walk *w, char *path, size_t dir_len)
{
    if (w->count == w->cap) {
        size_t grown = w->cap ? 2 * w->cap : 256;
        file_entry *p = grown <= MAX_FILES ? realloc(w->files, grown * sizeof *p) : NULL;
        if (!p) {
            free(path);
            if (grown > MAX_FILES)
                return cz_fail(CZ_ERR_NOMEM, "%s: more than %d image files", w->root,
                               MAX_FILES);
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory listing %zu files", w->root,
                           w->count);
        }
        w->files = p;
        w->cap = grown;
    }
    w->files[w->count++] = (file_entry){path, dir_len};
    return CZ_OK;
}

/* Everything under folder `dir` (whose stat is st) into w. */
static cz_status walk_folder(walk *w, const char *dir, const struct stat *st)
{
    for (int i = 0; i < w->depth; i++)
        if (w->stack[i].dev == st->st_dev && w->stack[i].ino == st->st_ino)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: a symbolic link loop (it is the folder %s again); remove the "
                           "link",
                           dir, w->stack[i].path);
    if (w->depth == MAX_DEPTH)
        return cz_fail(CZ_ERR_FORMAT, "%s: folders nested more than %d deep", dir, MAX_DEPTH);
    w->stack[w->depth].dev = st->st_dev;
    w->stack[w->depth].ino = st->st_ino;
    w->stack[w->depth].path = dir;
    w->depth++;

    char **names;
    size_t n;
    cz_status s = list_names(dir, &names, &n);
    for (size_t i = 0; i < n && s == CZ_OK; i++) {
        char *path = join(dir, names[i]);
        if (!path) {
            s = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        /* stat follows links, as os.walk(followlinks=True) and is_dir() do */
        struct stat sub;
        bool known = stat(path, &sub) == 0;
        if (known && S_ISDIR(sub.st_mode)) {
            s = walk_folder(w, path, &sub);
            free(path);
        } else if (!has_image_extension(names[i])) {
            free(path);
        } else {
            w->class_has_file = true;
            if (known && S_ISREG(sub.st_mode) && sub.st_size > 0) {
                s = add_file(w, path, strlen(dir));
            } else {
                w->skipped++;
                free(path);
            }
        }
    }
    free_names(names, n);
    w->depth--;
    return s;
}

/* "a, b, c" of the classes without files into buf, shortened to fit. */
static void list_classes(char *buf, size_t size, char **names, const bool *empty, int classes)
{
    size_t used = 0;
    int listed = 0, total = 0;
    buf[0] = '\0';
    for (int c = 0; c < classes; c++) {
        if (!empty[c])
            continue;
        total++;
        size_t k = strlen(names[c]);
        if (used + k + 2 + 32 >= size)
            continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%s", listed ? ", " : "", names[c]);
        listed++;
    }
    if (listed < total)
        snprintf(buf + used, size - used, " and %d more", total - listed);
}

/* The class folders: root's entries that are folders (or links to one), in
 * strcmp order. */
static cz_status find_classes(const char *root, cz_dataset *out)
{
    char **names;
    size_t n;
    cz_status s = list_names(root, &names, &n);
    if (s != CZ_OK)
        return s;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = join(root, names[i]);
        struct stat st;
        bool is_dir = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        free(path);
        if (is_dir)
            names[kept++] = names[i];
        else
            free(names[i]);
    }
    if (kept == 0) {
        free(names);
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: no class folders in it (expected an image folder laid out as "
                       "%s/CLASS/IMAGE.jpg)",
                       root, root);
    }
    if (kept > MAX_FILES) {
        free_names(names, kept);
        return cz_fail(CZ_ERR_FORMAT, "%s: %zu class folders, too many", root, kept);
    }
    qsort(names, kept, sizeof *names, compare_names);
    out->class_names = names;
    out->classes = (int)kept;
    return CZ_OK;
}

static cz_status open_folder(const char *root, cz_dataset *out, walk *w)
{
    cz_status s = find_classes(root, out);
    if (s != CZ_OK)
        return s;
    bool *empty = calloc((size_t)out->classes, sizeof *empty);
    int *class_end = calloc((size_t)out->classes, sizeof *class_end);
    if (!empty || !class_end) {
        free(empty);
        free(class_end);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %d classes", root, out->classes);
    }
    int empty_count = 0;
    for (int c = 0; c < out->classes && s == CZ_OK; c++) {
        char *dir = join(root, out->class_names[c]);
        struct stat st;
        if (!dir) {
            s = cz_fail(CZ_ERR_NOMEM, "%s: out of memory", root);
            break;
        }
        size_t first = w->count;
        w->class_has_file = false;
        if (stat(dir, &st) != 0)
            s = cz_fail(CZ_ERR_IO, "%s: %s", dir, strerror(errno));
        else
            s = walk_folder(w, dir, &st);
        free(dir);
        if (s != CZ_OK)
            break;
        if (w->count > first) /* files is still NULL when no class has a file yet */
            qsort(w->files + first, w->count - first, sizeof *w->files, compare_files);
        class_end[c] = (int)w->count;
        if (!w->class_has_file) {
            empty[c] = true;
            empty_count++;
        }
    }
    if (s == CZ_OK && empty_count > 0) {
        char list[600];
        list_classes(list, sizeof list, out->class_names, empty, out->classes);
        s = cz_fail(CZ_ERR_FORMAT,
                    "%s: found no valid file for the class%s %s (expected %s/CLASS/IMAGE "
                    "with an extension among " EXTENSION_LIST ")",
                    root, empty_count > 1 ? "es" : "", list, root);
    }
    if (s == CZ_OK && w->count == 0)
        s = cz_fail(CZ_ERR_FORMAT,
                    "%s: no image files with data, %d empty or unreadable ones skipped "
                    "(expected %s/CLASS/IMAGE.jpg)",
                    root, w->skipped, root);
    if (s == CZ_OK) {
        out->labels = malloc(w->count * sizeof *out->labels);
        out->paths = malloc(w->count * sizeof *out->paths);
        if (!out->labels || !out->paths)
            s = cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %zu files", root, w->count);
    }
    if (s == CZ_OK) {
        int c = 0;
        for (size_t i = 0; i < w->count; i++) {
            while ((size_t)class_end[c] <= i)
                c++;
            out->labels[i] = c;
            out->paths[i] = w->files[i].path;
        }
        out->count = (int)w->count;
        w->count = 0; /* the paths now belong to out */
    }
    free(empty);
    free(class_end);
    return s;
}

cz_status cz_dataset_open_folder(const char *root, const cz_preprocess *pipe, cz_dataset *out,
                                 int *skipped)
{
    memset(out, 0, sizeof *out);
    if (skipped)
        *skipped = 0;
    if (!pipe)
        return cz_fail(CZ_ERR_ARG, "%s: no preprocessing pipeline given", root);
    snprintf(out->source, sizeof out->source, "%s", root);
    out->pipe = *pipe;
    out->aug = cz_augment_default(CZ_CROP_CENTER);
    walk w = {.root = root};
    cz_status s = open_folder(root, out, &w);
    for (size_t i = 0; i < w.count; i++)
        free(w.files[i].path);
    free(w.files);
    if (s != CZ_OK) {
        cz_dataset_free(out);
        return s;
    }
    if (skipped)
        *skipped = w.skipped;
    return CZ_OK;
}
