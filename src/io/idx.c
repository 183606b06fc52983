/*
 * idx.c - IDX files, the format of MNIST and Fashion-MNIST, plain or
 * gzip-compressed (zlib's gzread reads both).
 *
 * Layout: bytes 0x00 0x00, a type byte, a dimension count, then one
 * big-endian u32 per dimension, then the elements in row-major order.
 * Limits: only type 0x08 (unsigned byte, what every MNIST-family file
 * uses), 1 to 4 dims, each below 2^31, at most CZ_IDX_MAX_BYTES of data.
 * The file must hold exactly the data its header announces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io.h"

/* A ceiling well above any IDX dataset (MNIST's train images are 47 MB)
 * and low enough that a corrupt header cannot demand absurd memory. */
#define CZ_IDX_MAX_BYTES ((uint64_t)1 << 31)

/* zlib's message for the last gz error, or errno's when zlib says so. */
static const char *gz_message(gzFile gz)
{
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (code == Z_ERRNO)
        return strerror(errno);
    return msg && *msg ? msg : "read error";
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

/* Parses and checks the header; sets the dims and the data size. */
static cz_status read_header(gzFile gz, const char *path, cz_idx *out, uint64_t *bytes)
{
    uint8_t magic[4];
    bool failed;
    uint64_t got = read_some(gz, magic, 4, &failed);
    if (failed)
        return cz_fail(CZ_ERR_IO, "%s: %s", path, gz_message(gz));
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
        return cz_fail(CZ_ERR_IO, "%s: %s", path, gz_message(gz));
    if (got < (uint64_t)ndim * 4)
        return cz_fail(CZ_ERR_FORMAT, "%s: truncated IDX header: expected %d bytes of dims, found "
                                      "%llu",
                       path, ndim * 4, (unsigned long long)got);
    uint64_t total = 1;
    bool zero = false;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *p = raw + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d > INT32_MAX)
            return cz_fail(CZ_ERR_FORMAT, "%s: IDX dim %d is %u, larger than 2^31 - 1", path, i,
                           d);
        out->dims[i] = (int)d;
        /* Each factor is below 2^31 and the running product stays at or
         * below the ceiling, so the multiplication cannot overflow. */
        if (d == 0)
            zero = true;
        else if (total <= CZ_IDX_MAX_BYTES)
            total *= d;
    }
    out->ndim = ndim;
    if (zero)
        total = 0;
    if (total > CZ_IDX_MAX_BYTES) {
        char shape[64];
        size_t used = 0;
        for (int i = 0; i < ndim; i++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%d", i ? "x" : "",
                                     out->dims[i]);
        return cz_fail(CZ_ERR_FORMAT, "%s: IDX dims %s exceed the %llu-byte limit", path, shape,
                       (unsigned long long)CZ_IDX_MAX_BYTES);
    }
    *bytes = total;
    return CZ_OK;
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
    uint64_t bytes = 0;
    cz_status st = read_header(gz, path, &idx, &bytes);
    if (st == CZ_OK) {
        idx.data = malloc(bytes ? (size_t)bytes : 1);
        if (!idx.data)
            st = cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate %llu bytes", path,
                         (unsigned long long)bytes);
    }
    if (st == CZ_OK) {
        bool failed;
        uint64_t got = read_some(gz, idx.data, bytes, &failed);
        uint8_t extra;
        if (failed)
            st = cz_fail(CZ_ERR_IO, "%s: %s after %llu of the %llu data bytes", path,
                         gz_message(gz), (unsigned long long)got, (unsigned long long)bytes);
        else if (got < bytes)
            st = cz_fail(CZ_ERR_FORMAT, "%s: truncated%s: expected %llu bytes of data, found %llu",
                         path, gz_cut_short(gz) ? " (the gzip stream ends early)" : "",
                         (unsigned long long)bytes, (unsigned long long)got);
        else if (read_some(gz, &extra, 1, &failed) != 0)
            st = cz_fail(CZ_ERR_FORMAT,
                         "%s: trailing data after the %llu bytes the header announces", path,
                         (unsigned long long)bytes);
        else if (failed)
            st = cz_fail(CZ_ERR_IO, "%s: %s after the data", path, gz_message(gz));
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
