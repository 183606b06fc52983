/*
 * file.c - whole-file reading for src/io: a mapping of a weights file (no
 * copy for a 500 MB checkpoint) and a bounded read of a small file; and the
 * ceiling on one allocation sized by a file (cz_set_max_alloc), with the
 * one check every reader makes against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

/* ------------------------------------------------------------ allocation ceiling */

/* Atomic so that loader threads may read it while the main thread runs;
 * relaxed is enough, as nothing else is published through it. */
static _Atomic size_t max_alloc = CZ_MAX_ALLOC_DEFAULT;

void cz_set_max_alloc(size_t bytes)
{
    atomic_store_explicit(&max_alloc, bytes ? bytes : CZ_MAX_ALLOC_DEFAULT,
                          memory_order_relaxed);
}

size_t cz_max_alloc(void) { return atomic_load_explicit(&max_alloc, memory_order_relaxed); }

/* " (37.3 GiB)" after a byte count, so a person reads it at a glance;
 * nothing below 1 KiB, where the count says it already. */
static const char *human_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    buf[0] = '\0';
    if (bytes < 1024)
        return buf;
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, " (%.*f %s)", v != (double)(uint64_t)v ? 1 : 0, v, units[u]);
    return buf;
}

cz_status cz_alloc_check(size_t *bytes, uint64_t count, uint64_t elem_size, const char *file,
                         const char *what, ...)
{
    uint64_t need;
    bool overflow = __builtin_mul_overflow(count, elem_size, &need);
    size_t limit = cz_max_alloc();
    if (!overflow && need <= limit) {
        *bytes = (size_t)need;
        return CZ_OK;
    }
    *bytes = 0;
    char key[300], need_text[96], need_human[32], limit_human[32];
    va_list ap;
    va_start(ap, what);
    vsnprintf(key, sizeof key, what, ap);
    va_end(ap);
    if (overflow)
        snprintf(need_text, sizeof need_text, "more than 2^64 bytes (%llu x %llu)",
                 (unsigned long long)count, (unsigned long long)elem_size);
    else
        snprintf(need_text, sizeof need_text, "%llu bytes%s", (unsigned long long)need,
                 human_size(need, need_human, sizeof need_human));
    return cz_fail(CZ_ERR_NOMEM,
                   "%s: %s needs %s, over the %zu-byte%s limit on one allocation; if the "
                   "file is right, raise it with CNNZOO_MAX_ALLOC (e.g. 64G) or "
                   "cz_set_max_alloc()",
                   file, key, need_text, limit, human_size(limit, limit_human, sizeof limit_human));
}

/* ------------------------------------------------------------ reading */

/* read() retried on EINTR. */
static ssize_t read_some(int fd, void *buf, size_t size)
{
    ssize_t r;
    do
        r = read(fd, buf, size);
    while (r < 0 && errno == EINTR);
    return r;
}

/* For pipes and other files without a size: read until EOF, growing the
 * buffer up to the allocation ceiling and no further. */
static cz_status read_stream(int fd, const char *path, cz_mapped_file *m)
{
    size_t limit = cz_max_alloc();
    size_t cap = limit < (1 << 16) ? limit : 1 << 16, used = 0;
    uint8_t *buf = malloc(cap);
    cz_status st = buf ? CZ_OK : cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    while (st == CZ_OK) {
        if (used == cap && cap == limit) {
            /* Full at the ceiling: one more byte means too large. */
            uint8_t probe;
            ssize_t r = read_some(fd, &probe, 1);
            size_t size;
            if (r > 0)
                st = cz_alloc_check(&size, (uint64_t)limit + 1, 1, path,
                                    "reading this stream whole");
            else if (r < 0)
                st = cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (used == cap) {
            size_t grown = cap > limit / 2 ? limit : cap * 2;
            uint8_t *p = realloc(buf, grown);
            if (!p) {
                st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory after %zu bytes", path, used);
                break;
            }
            buf = p;
            cap = grown;
        }
        ssize_t r = read_some(fd, buf + used, cap - used);
        if (r == 0)
            break;
        if (r < 0)
            st = cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        else
            used += (size_t)r;
    }
    if (st != CZ_OK) {
        free(buf);
        return st;
    }
    m->data = buf;
    m->size = used;
    m->mapped = false;
    return CZ_OK;
}

/* Reads exactly size bytes; a file that shrank since fstat is an error. */
static cz_status read_exact(int fd, const char *path, uint8_t *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, buf + done, size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return cz_fail(CZ_ERR_IO, "%s: file ended after %zu of %zu bytes", path, done, size);
        done += (size_t)r;
    }
    return CZ_OK;
}

cz_status cz_map_file(cz_mapped_file *m, const char *path)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(e));
    }
    cz_status st = CZ_OK;
    if (S_ISDIR(sb.st_mode)) {
        st = cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(EISDIR));
    } else if (!S_ISREG(sb.st_mode)) {
        st = read_stream(fd, path, m);
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = cz_fail(CZ_ERR_NOMEM, "%s: %lld bytes do not fit in memory", path,
                     (long long)sb.st_size);
    } else if (sb.st_size > 0) {
        size_t size = (size_t)sb.st_size;
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            m->data = p;
            m->mapped = true;
        } else {
            /* Some filesystems cannot map; a copy works everywhere. */
            uint8_t *buf = malloc(size);
            if (!buf)
                st = cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, size);
            else if ((st = read_exact(fd, path, buf, size)) != CZ_OK)
                free(buf);
            else
                m->data = buf;
        }
        if (st == CZ_OK)
            m->size = size;
    }
    close(fd);
    return st;
}

void cz_unmap_file(cz_mapped_file *m)
{
    if (m->data) {
        if (m->mapped)
            munmap((void *)m->data, m->size);
        else
            free((void *)m->data);
    }
    memset(m, 0, sizeof *m);
}

cz_status cz_read_file(const char *path, size_t max_size, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_fail(CZ_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = max_size < 4096 ? max_size : 4096, used = 0;
    char *buf = malloc(cap + 1);
    cz_status st = buf ? CZ_OK : cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    while (st == CZ_OK) {
        if (used == cap) {
            if (cap >= max_size) {
                /* One more byte tells "exactly max_size" from "larger". */
                char extra;
                ssize_t r;
                do
                    r = read(fd, &extra, 1);
                while (r < 0 && errno == EINTR);
                if (r > 0)
                    st = cz_fail(CZ_ERR_ARG, "%s: larger than the %zu-byte limit", path,
                                 max_size);
                else if (r < 0)
                    st = cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(errno));
                break;
            }
            size_t new_cap = cap > max_size / 2 ? max_size : cap * 2;
            char *p = realloc(buf, new_cap + 1);
            if (!p) {
                st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory after %zu bytes", path, used);
                break;
            }
            buf = p;
            cap = new_cap;
        }
        ssize_t r = read(fd, buf + used, cap - used);
        if (r == 0)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        else
            used += (size_t)r;
    }
    close(fd);
    if (st != CZ_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *data = buf;
    *size = used;
    return CZ_OK;
}
