/*
 * zip.c - the zip reader behind .pth files (see zip.h).
 *
 * The central directory is the only reliable index - torch writes local
 * headers with zeroed sizes and data descriptors - so entries are located
 * from it (ZIP64 records included) and each local header is read only for
 * its own name and extra lengths. Every offset and size is checked against
 * the file with overflow-safe arithmetic before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io.h"
#include "io/zip.h"

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* No NUL and no control characters: safe to print in a one-line message. */
static bool plain_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define ZIP_EOCD_SIZE 22
#define ZIP_CENTRAL_SIZE 46
#define ZIP_LOCAL_SIZE 30

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const cz_zip_entry *)a)->name, ((const cz_zip_entry *)b)->name);
}

const cz_zip_entry *cz_zip_find(const cz_zip *f, const char *name)
{
    cz_zip_entry key = {.name = (char *)name};
    return bsearch(&key, f->entries, f->n_entries, sizeof *f->entries, entry_cmp);
}

/* The end of central directory record: searched backwards over the last
 * 64 KiB + 22 bytes (the comment may be up to 65535 bytes). The record must
 * account for the rest of the file exactly, which skips a signature that
 * happens to sit inside a comment. */
static cz_status zip_find_eocd(const cz_zip *f, size_t *at)
{
    if (f->size < ZIP_EOCD_SIZE)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: %zu bytes, too short for a zip end-of-central-directory record "
                       "(truncated)",
                       f->name, f->size);
    size_t lowest = f->size - ZIP_EOCD_SIZE > 65535 ? f->size - ZIP_EOCD_SIZE - 65535 : 0;
    for (size_t pos = f->size - ZIP_EOCD_SIZE + 1; pos-- > lowest;) {
        const uint8_t *p = f->bytes + pos;
        if (le(p, 4) == ZIP_EOCD_SIG && pos + ZIP_EOCD_SIZE + le(p + 20, 2) == f->size) {
            *at = pos;
            return CZ_OK;
        }
    }
    return cz_fail(CZ_ERR_FORMAT,
                   "%s: no zip end-of-central-directory record in the last %zu bytes "
                   "(truncated, or not a zip file)",
                   f->name, f->size - lowest);
}

/* The ZIP64 extra field (id 1) holds, in this order, each of the 32-bit
 * fields that were saturated to 0xffffffff. */
static cz_status zip64_extra(const cz_zip *f, const char *name, const uint8_t *x,
                             size_t xlen, cz_zip_entry *e)
{
    uint64_t *fields[3] = {&e->size, &e->comp_size, &e->local_offset};
    bool need[3] = {e->size == 0xffffffffu, e->comp_size == 0xffffffffu,
                    e->local_offset == 0xffffffffu};
    size_t pos = 0;
    while (pos + 4 <= xlen) {
        uint64_t id = le(x + pos, 2), len = le(x + pos + 2, 2);
        if (len > xlen - pos - 4)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: zip entry '%s': extra field 0x%04llx of %llu bytes overruns the "
                           "%zu-byte extra area",
                           f->name, name, (unsigned long long)id, (unsigned long long)len, xlen);
        if (id == 1) {
            size_t k = 0;
            for (int i = 0; i < 3; i++) {
                if (!need[i])
                    continue;
                if (k + 8 > len)
                    return cz_fail(CZ_ERR_FORMAT,
                                   "%s: zip entry '%s': ZIP64 extra field of %llu bytes is too "
                                   "short for its 64-bit sizes",
                                   f->name, name, (unsigned long long)len);
                *fields[i] = le(x + pos + 4 + k, 8);
                need[i] = false;
                k += 8;
            }
        }
        pos += 4 + (size_t)len;
    }
    if (need[0] || need[1] || need[2])
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': sizes or offset are 0xffffffff but no ZIP64 extra "
                       "field gives them",
                       f->name, name);
    return CZ_OK;
}

static cz_status read_directory(cz_zip *f)
{
    size_t eocd = 0;
    cz_status st = zip_find_eocd(f, &eocd);
    if (st != CZ_OK)
        return st;
    const uint8_t *e = f->bytes + eocd;
    uint64_t disk = le(e + 4, 2), cd_disk = le(e + 6, 2), count = le(e + 10, 2);
    uint64_t cd_size = le(e + 12, 4), cd_offset = le(e + 16, 4);
    size_t cd_limit = eocd; /* the directory ends before what follows it */
    if (eocd >= 20 && le(f->bytes + eocd - 20, 4) == ZIP64_LOCATOR_SIG) {
        uint64_t z = le(f->bytes + eocd - 20 + 8, 8);
        if (z > eocd - 20 || eocd - 20 - z < 56 || le(f->bytes + z, 4) != ZIP64_EOCD_SIG)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: ZIP64 locator points to offset %llu, where there is no ZIP64 "
                           "end-of-central-directory record",
                           f->name, (unsigned long long)z);
        const uint8_t *r = f->bytes + z;
        disk = le(r + 16, 4);
        cd_disk = le(r + 20, 4);
        count = le(r + 32, 8);
        cd_size = le(r + 40, 8);
        cd_offset = le(r + 48, 8);
        cd_limit = (size_t)z;
    } else if (count == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip end-of-central-directory record needs ZIP64 records, which are "
                       "missing (truncated or corrupt)",
                       f->name);
    }
    if (disk != 0 || cd_disk != 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: zip archive spans several disks, expected one file",
                       f->name);
    if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip central directory at offset %llu (%llu bytes) extends past its "
                       "end record at %zu (truncated or corrupt)",
                       f->name, (unsigned long long)cd_offset, (unsigned long long)cd_size,
                       cd_limit);
    if (count > cd_size / ZIP_CENTRAL_SIZE)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip central directory claims %llu entries, more than its %llu bytes "
                       "can hold",
                       f->name, (unsigned long long)count, (unsigned long long)cd_size);
    if (count == 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: zip archive has no entries",
                       f->name);
    f->entries = calloc((size_t)count, sizeof *f->entries);
    if (!f->entries)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %llu zip entries", f->name,
                       (unsigned long long)count);

    const uint8_t *cd = f->bytes + cd_offset;
    size_t pos = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *c = cd + pos;
        if (cd_size - pos < ZIP_CENTRAL_SIZE || le(c, 4) != ZIP_CENTRAL_SIG)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: zip central directory entry %llu at offset %llu is not a valid "
                           "header (corrupt)",
                           f->name, (unsigned long long)i,
                           (unsigned long long)(cd_offset + pos));
        size_t nlen = (size_t)le(c + 28, 2), xlen = (size_t)le(c + 30, 2),
               clen = (size_t)le(c + 32, 2);
        if (cd_size - pos - ZIP_CENTRAL_SIZE < nlen + xlen + clen)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: zip central directory entry %llu overruns the directory "
                           "(corrupt)",
                           f->name, (unsigned long long)i);
        cz_zip_entry *z = &f->entries[f->n_entries];
        if (!(z->name = malloc(nlen + 1)))
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
        memcpy(z->name, c + ZIP_CENTRAL_SIZE, nlen);
        z->name[nlen] = '\0';
        f->n_entries++;
        if (!plain_name(z->name, nlen))
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: zip entry %llu has a NUL or control character in its name "
                           "(corrupt)",
                           f->name, (unsigned long long)i);
        z->flags = (uint16_t)le(c + 8, 2);
        z->method = (uint16_t)le(c + 10, 2);
        z->crc = (uint32_t)le(c + 16, 4);
        z->comp_size = le(c + 20, 4);
        z->size = le(c + 24, 4);
        z->local_offset = le(c + 42, 4);
        if ((st = zip64_extra(f, z->name, c + ZIP_CENTRAL_SIZE + nlen, xlen, z)) != CZ_OK)
            return st;
        if (i == 0 && !(f->first = strdup(z->name)))
            return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
        pos += ZIP_CENTRAL_SIZE + nlen + xlen + clen;
    }
    qsort(f->entries, f->n_entries, sizeof *f->entries, entry_cmp);
    for (size_t i = 1; i < f->n_entries; i++)
        if (strcmp(f->entries[i - 1].name, f->entries[i].name) == 0)
            return cz_fail(CZ_ERR_FORMAT, "%s: zip entry '%s' appears twice", f->name,
                           f->entries[i].name);
    return CZ_OK;
}

/* How an inflate that stopped with `ret` went: the stream must end
 * exactly at the declared size. */
static cz_status inflate_result(const cz_zip *f, const cz_zip_entry *e, const z_stream *zs,
                                int ret)
{
    unsigned long long got = zs->total_out, want = e->size;
    if (ret == Z_STREAM_END && got == want)
        return CZ_OK;
    if (ret == Z_STREAM_END)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' inflates to %llu bytes, but the directory declares "
                       "%llu",
                       f->name, e->name, got, want);
    if (ret == Z_MEM_ERROR)
        return cz_fail(CZ_ERR_NOMEM, "%s: zip entry '%s': out of memory in zlib", f->name,
                       e->name);
    if (ret == Z_BUF_ERROR && got == want)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' inflates to more than the %llu bytes the directory "
                       "declares",
                       f->name, e->name, want);
    if (ret == Z_BUF_ERROR)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': its %llu compressed bytes end before the deflate "
                       "stream does, after %llu of %llu bytes (truncated)",
                       f->name, e->name, (unsigned long long)e->comp_size, got, want);
    return cz_fail(CZ_ERR_FORMAT,
                   "%s: zip entry '%s': deflate data is corrupt (zlib: %s) after %llu of the "
                   "declared %llu bytes",
                   f->name, e->name, zs->msg ? zs->msg : "error", got, want);
}

/* Inflates a deflated entry into a new buffer of exactly e->size bytes. */
static cz_status inflate_entry(const cz_zip *f, const cz_zip_entry *e, const uint8_t *src,
                             uint8_t **out)
{
    /* Deflate cannot expand more than about 1032:1; a larger claim is a
     * lie that would only make us allocate. */
    if (e->size / 1032 > e->comp_size + 1)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' claims %llu bytes from %llu compressed, more than "
                       "deflate can produce",
                       f->name, e->name, (unsigned long long)e->size,
                       (unsigned long long)e->comp_size);
    size_t bytes;
    cz_status st = cz_alloc_check(&bytes, e->size, 1, f->name, "zip entry '%s' (inflated)",
                                  e->name);
    if (st != CZ_OK)
        return st;
    uint8_t *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate %llu bytes for zip entry '%s'",
                       f->name, (unsigned long long)e->size, e->name);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(buf);
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot start zlib", f->name);
    }
    /* zlib counts in uInt: feed both sides in pieces of at most 1 GiB. */
    const uint8_t *in = src;
    uint8_t *o = buf;
    uint64_t in_left = e->comp_size, out_left = e->size;
    int ret;
    for (;;) {
        if (zs.avail_in == 0 && in_left) {
            uInt k = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            zs.next_in = (Bytef *)in;
            zs.avail_in = k;
            in += k;
            in_left -= k;
        }
        if (zs.avail_out == 0 && out_left) {
            uInt k = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
            zs.next_out = o;
            zs.avail_out = k;
            o += k;
            out_left -= k;
        }
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret == Z_OK)
            continue;
        bool can_feed = (zs.avail_in == 0 && in_left) || (zs.avail_out == 0 && out_left);
        if (ret == Z_BUF_ERROR && can_feed)
            continue;
        break;
    }
    st = inflate_result(f, e, &zs, ret);
    inflateEnd(&zs);
    if (st != CZ_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return CZ_OK;
}

/* An entry's bytes: located through its local header, inflated when
 * deflated (into *owned, which the caller frees), CRC-checked. */
cz_status cz_zip_entry_data(const cz_zip *f, const cz_zip_entry *e, const uint8_t **data,
                                uint8_t **owned)
{
    *data = NULL;
    *owned = NULL;
    if (e->flags & 1)
        return cz_fail(CZ_ERR_FORMAT, "%s: zip entry '%s' is encrypted", f->name, e->name);
    if (e->method != 0 && e->method != 8)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' uses compression method %u; only stored (0) and "
                       "deflate (8) are supported",
                       f->name, e->name, e->method);
    if (e->local_offset > f->size || f->size - e->local_offset < ZIP_LOCAL_SIZE)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': local header offset %llu is past the end of the "
                       "file (%zu bytes)",
                       f->name, e->name, (unsigned long long)e->local_offset, f->size);
    const uint8_t *h = f->bytes + e->local_offset;
    if (le(h, 4) != ZIP_LOCAL_SIG)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': no local header at offset %llu (corrupt)", f->name,
                       e->name, (unsigned long long)e->local_offset);
    /* The local lengths may differ from the central ones (torch pads the
     * local extra field to align the data to 64 bytes). */
    uint64_t nlen = le(h + 26, 2), xlen = le(h + 28, 2);
    uint64_t start = e->local_offset + ZIP_LOCAL_SIZE + nlen + xlen;
    if (start > f->size)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': local header runs past the end of the file "
                       "(truncated)",
                       f->name, e->name);
    if (nlen != strlen(e->name) || memcmp(h + ZIP_LOCAL_SIZE, e->name, (size_t)nlen) != 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': local header at offset %llu names another entry "
                       "(corrupt)",
                       f->name, e->name, (unsigned long long)e->local_offset);
    if (e->comp_size > f->size - start)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s' claims %llu bytes at offset %llu, past the end of the "
                       "file (%zu bytes; truncated or corrupt)",
                       f->name, e->name, (unsigned long long)e->comp_size,
                       (unsigned long long)start, f->size);
    const uint8_t *src = f->bytes + start;
    if (e->method == 0) {
        if (e->size != e->comp_size)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: stored zip entry '%s' has size %llu but compressed size %llu",
                           f->name, e->name, (unsigned long long)e->size,
                           (unsigned long long)e->comp_size);
        *data = src;
    } else {
        cz_status st = inflate_entry(f, e, src, owned);
        if (st != CZ_OK)
            return st;
        *data = *owned;
    }
    uLong crc = crc32(0, Z_NULL, 0);
    for (uint64_t done = 0; done < e->size;) {
        uInt k = e->size - done > (1u << 30) ? (1u << 30) : (uInt)(e->size - done);
        crc = crc32(crc, *data + done, k);
        done += k;
    }
    if ((uint32_t)crc != e->crc) {
        free(*owned);
        *owned = NULL;
        *data = NULL;
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: zip entry '%s': CRC-32 is %08x, the directory says %08x (corrupt "
                       "file)",
                       f->name, e->name, (unsigned)crc, (unsigned)e->crc);
    }
    return CZ_OK;
}

cz_status cz_zip_open(cz_zip *f, const char *name, const uint8_t *bytes, size_t size)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    f->bytes = bytes;
    f->size = size;
    return read_directory(f);
}

void cz_zip_close(cz_zip *f)
{
    for (size_t i = 0; i < f->n_entries; i++)
        free(f->entries[i].name);
    free(f->entries);
    free(f->first);
    memset(f, 0, sizeof *f);
}
