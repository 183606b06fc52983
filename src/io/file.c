/*
 * file.c - whole-file reading for src/io: a mapping of a weights file (no
 * copy for a 500 MB checkpoint) and a bounded read of a small file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

/* ------------------------------------------------------------ reading */

/* For pipes and other files without a size: read until EOF. */
static cz_status read_stream(int fd, const char *path, cz_mapped_file *m)
{
    size_t cap = 1 << 16, used = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (used == cap) {
            uint8_t *p = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                free(buf);
                return cz_fail(CZ_ERR_NOMEM, "%s: out of memory after %zu bytes", path, used);
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + used, cap - used);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            return cz_fail(CZ_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        used += (size_t)r;
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
