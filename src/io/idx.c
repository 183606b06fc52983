/*
 * idx.c - IDX files, the format of MNIST and Fashion-MNIST, plain or
 * gzip-compressed (zlib's gzread reads both).
 *
 * Layout: bytes 0x00 0x00, a type byte, a dimension count, then one
 * big-endian u32 per dimension, then the elements in row-major order.
 * Limits: only type 0x08 (unsigned byte, what every MNIST-family file
 * uses), 1 to 4 dims, each below 2^31, at most cz_max_alloc() bytes of
 * data. The file must hold exactly the data its header announces; an
 * uncompressed file's size is checked against it before anything is
 * allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "io/io.h"

/* The last gz error as a failure of `path` while reading `what`: errno's
 * text for a failed read, zlib's (without the path it prefixes) for
 * corrupt compressed data. */
static cz_status gz_failure(gzFile gz, const char *path, const char *what)
{
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (code == Z_ERRNO)
        return cz_fail(CZ_ERR_IO, "%s: cannot read %s: %s", path, what, strerror(errno));
    size_t plen = strlen(path);
    if (msg && strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
        msg += plen + 2;
    if (code == Z_MEM_ERROR)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory reading %s", path, what);
    return cz_fail(CZ_ERR_FORMAT, "%s: corrupt gzip data in %s (zlib: %s)", path, what,
                   msg && *msg ? msg : "read error");
}

/* zlib reports a gzip stream that stops mid-way as Z_BUF_ERROR, not as a
 * failed read (the file might still be growing): worth saying. */
static bool gz_cut_short(gzFile gz)
{
    int code = Z_OK;
    gzerror(gz, &code);
    return code == Z_BUF_ERROR;
}

/* Reads up to size bytes and returns how many arrived: fewer only at the
 * end of the data, or when *failed is set (a read or decompression error,
 * such as a gzip stream cut short). */
static uint64_t read_some(gzFile gz, uint8_t *buf, uint64_t size, bool *failed)
{
    uint64_t done = 0;
    *failed = false;
    while (done < size) {
        /* gzread takes an unsigned and returns an int: stay below 2^30. */
        uint64_t chunk = size - done < ((uint64_t)1 << 30) ? size - done : (uint64_t)1 << 30;
        int r = gzread(gz, buf + done, (unsigned)chunk);
        if (r < 0)
            *failed = true;
        if (r <= 0)
            break;
        done += (uint64_t)r;
    }
    return done;
}

static const char *type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

/* An uncompressed file must hold the header and the data it announces:
 * checked against the file's size before anything is allocated. Sets
 * *sized when it was (a gzip stream's size is known only once inflated). */
static cz_status check_file_size(gzFile gz, const char *path, const char *shape,
                                 uint64_t header, uint64_t bytes, bool *sized)
{
    struct stat st;
    *sized = gzdirect(gz) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (!*sized)
        return CZ_OK;
    uint64_t have = (uint64_t)st.st_size > header ? (uint64_t)st.st_size - header : 0;
    if (have < bytes)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: truncated: IDX dims %s announce %llu bytes of data, the file holds "
                       "%llu after its %llu-byte header",
                       path, shape, (unsigned long long)bytes, (unsigned long long)have,
                       (unsigned long long)header);
    return CZ_OK;
}

/* Parses and checks the header; sets the dims and the data size, which
 * is within the ceiling and, when *sized, known to be in the file. */
static cz_status read_header(gzFile gz, const char *path, cz_idx *out, uint64_t *bytes,
                             bool *sized)
{
    uint8_t magic[4];
    bool failed;
    uint64_t got = read_some(gz, magic, 4, &failed);
    if (failed)
        return gz_failure(gz, path, "the IDX magic number");
    if (got < 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: not an IDX file (%llu bytes, shorter than the 4-byte "
                                      "magic)",
                       path, (unsigned long long)got);
    uint32_t m = (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 | (uint32_t)magic[2] << 8 |
                 magic[3];
    if (magic[0] != 0 || magic[1] != 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: not an IDX file (magic 0x%08x, expected 0x000008NN with NN the "
                       "number of dims)",
                       path, m);
    if (magic[2] != 0x08)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: IDX element type 0x%02x (%s) is not supported, expected 0x08 "
                       "(unsigned byte)",
                       path, magic[2], type_name(magic[2]));
    int ndim = magic[3];
    if (ndim < 1 || ndim > 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: IDX header has %d dims, expected 1 to 4", path, ndim);

    uint8_t raw[16];
    got = read_some(gz, raw, (uint64_t)ndim * 4, &failed);
    if (failed)
        return gz_failure(gz, path, "the IDX dims");
    if (got < (uint64_t)ndim * 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: truncated IDX header: expected %d bytes of dims, found "
                                      "%llu",
                       path, ndim * 4, (unsigned long long)got);
    uint64_t total = 1;
    bool zero = false, overflow = false;
    char shape[64];
    size_t used = 0;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *p = raw + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d > INT32_MAX)
            return cz_fail(CZ_ERR_FORMAT, "%s: IDX dim %d is %u, larger than 2^31 - 1", path, i,
                           d);
        out->dims[i] = (int)d;
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%u", i ? "x" : "", d);
        if (d == 0)
            zero = true;
        else
            overflow = overflow || __builtin_mul_overflow(total, (uint64_t)d, &total);
    }
    out->ndim = ndim;
    if (overflow)
        return cz_fail(CZ_ERR_FORMAT, "%s: IDX dims %s make more than 2^64 bytes (overflow)",
                       path, shape);
    *bytes = zero ? 0 : total;
    cz_status st = check_file_size(gz, path, shape, 4 + 4 * (uint64_t)ndim, *bytes, sized);
    size_t size;
    if (st == CZ_OK)
        st = cz_alloc_check(&size, *bytes, 1, path, "IDX data of dims %s", shape);
    return st;
}

/* A gzip stream's buffer starts this small and doubles as data arrives. */
#define GROW_START ((uint64_t)1 << 20)

/* Reads up to `bytes` of data into a new buffer (NULL when out of
 * memory), *got the bytes that came. At once when the file's size vouched
 * for them; else in a buffer grown as inflated data arrives, so a gzip
 * header's claim costs memory only once the data is really there. */
static uint8_t *read_data(gzFile gz, uint64_t bytes, bool sized, uint64_t *got, bool *failed)
{
    uint64_t cap = sized || bytes < GROW_START ? bytes : GROW_START;
    uint8_t *buf = malloc(cap ? (size_t)cap : 1); /* within the ceiling: checked */
    *got = 0;
    *failed = false;
    while (buf) {
        *got += read_some(gz, buf + *got, cap - *got, failed);
        if (*failed || *got < cap || cap == bytes)
            break;
        uint64_t grown = cap > bytes / 2 ? bytes : cap * 2;
        uint8_t *p = realloc(buf, (size_t)grown);
        if (!p)
            free(buf);
        buf = p;
        cap = grown;
    }
    return buf;
}

cz_status cz_idx_read(const char *path, cz_idx *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return cz_fail(CZ_ERR_ARG, "idx: NULL path");
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return cz_fail(CZ_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "out of memory");
    cz_idx idx = {0};
    uint64_t bytes = 0, got = 0;
    bool sized = false, failed = false;
    cz_status st = read_header(gz, path, &idx, &bytes, &sized);
    if (st == CZ_OK && !(idx.data = read_data(gz, bytes, sized, &got, &failed)))
        st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %llu bytes of data", path,
                     (unsigned long long)bytes);
    if (st == CZ_OK) {
        uint8_t extra;
        char what[80];
        snprintf(what, sizeof what, "data byte %llu of %llu", (unsigned long long)got,
                 (unsigned long long)bytes);
        if (failed)
            st = gz_failure(gz, path, what);
        else if (got < bytes)
            st = cz_fail(CZ_ERR_FORMAT, "%s: truncated%s: expected %llu bytes of data, found %llu",
                         path, gz_cut_short(gz) ? " (the gzip stream ends early)" : "",
                         (unsigned long long)bytes, (unsigned long long)got);
        else if (read_some(gz, &extra, 1, &failed) != 0)
            st = cz_fail(CZ_ERR_FORMAT,
                         "%s: trailing data after the %llu bytes the header announces", path,
                         (unsigned long long)bytes);
        else if (failed)
            st = gz_failure(gz, path, "what follows the data");
    }
    gzclose(gz);
    if (st != CZ_OK) {
        free(idx.data);
        return st;
    }
    idx.count = (size_t)idx.dims[0];
    *out = idx;
    return CZ_OK;
}

void cz_idx_free(cz_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
