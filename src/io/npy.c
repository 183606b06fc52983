/*
 * npy.c - .npy reader and writer (see npy.h).
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for
 * 2.0 and 3.0), the header - a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * space-padded and ending in '\n' so the data starts 64-byte aligned - then
 * the raw elements. The header parser is a small tokenizer for exactly
 * that dict; it never evaluates anything.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "io/npy.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               ".npy data is read and written as little-endian host memory");

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [CZ_NPY_F32] = {"<f4", 4}, [CZ_NPY_F64] = {"<f8", 8}, [CZ_NPY_I32] = {"<i4", 4},
    [CZ_NPY_I64] = {"<i8", 8}, [CZ_NPY_U8] = {"|u1", 1},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *cz_npy_dtype_name(cz_npy_dtype dtype)
{
    return (unsigned)dtype < (unsigned)N_DTYPES ? dtypes[dtype].name : "?";
}

size_t cz_npy_dtype_size(cz_npy_dtype dtype)
{
    return (unsigned)dtype < (unsigned)N_DTYPES ? dtypes[dtype].size : 0;
}

/* ------------------------------------------------------------ header parsing */

typedef struct cursor {
    const char *file;
    const char *s;
    size_t n, pos;
} cursor;

static void skip_space(cursor *c)
{
    while (c->pos < c->n && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
                             c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
        c->pos++;
}

/* What stands at the cursor, for messages: "'x'" or "the end". */
static const char *here(const cursor *c, char *buf, size_t size)
{
    if (c->pos >= c->n)
        return "the end of the header";
    unsigned char ch = (unsigned char)c->s[c->pos];
    if (ch >= ' ' && ch < 127)
        snprintf(buf, size, "'%c' at byte %zu", ch, c->pos);
    else
        snprintf(buf, size, "byte 0x%02x at %zu", ch, c->pos);
    return buf;
}

static cz_status expect_char(cursor *c, char ch, const char *what)
{
    skip_space(c);
    if (c->pos < c->n && c->s[c->pos] == ch) {
        c->pos++;
        return CZ_OK;
    }
    char buf[40];
    return cz_fail(CZ_ERR_FORMAT, "%s: npy header: expected %s, found %s", c->file, what,
                   here(c, buf, sizeof buf));
}

/* A quoted string without escapes (no key or dtype needs one). */
static cz_status parse_string(cursor *c, char *out, size_t size, const char *what)
{
    skip_space(c);
    char buf[40];
    if (c->pos >= c->n || (c->s[c->pos] != '\'' && c->s[c->pos] != '"'))
        return cz_fail(CZ_ERR_FORMAT, "%s: npy header: expected %s as a quoted string, found %s",
                       c->file, what, here(c, buf, sizeof buf));
    char quote = c->s[c->pos++];
    size_t len = 0;
    while (c->pos < c->n && c->s[c->pos] != quote) {
        char ch = c->s[c->pos++];
        if (ch == '\\' || (unsigned char)ch < 0x20 || ch == 0x7f || len + 1 >= size)
            return cz_fail(CZ_ERR_FORMAT, "%s: npy header: %s is not a short plain string",
                           c->file, what);
        out[len++] = ch;
    }
    if (c->pos >= c->n)
        return cz_fail(CZ_ERR_FORMAT, "%s: npy header: %s string is not closed", c->file, what);
    c->pos++;
    out[len] = '\0';
    return CZ_OK;
}

static bool match_word(cursor *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->pos < len || memcmp(c->s + c->pos, word, len) != 0)
        return false;
    /* "Truex" is not True. */
    char next = c->pos + len < c->n ? c->s[c->pos + len] : ' ';
    if (isalnum((unsigned char)next) || next == '_')
        return false;
    c->pos += len;
    return true;
}

/* (d0, d1, ...) with a trailing comma allowed, as Python's repr writes
 * 1-tuples; Python 2's numpy wrote longs as "3L". */
static cz_status parse_shape(cursor *c, cz_npy_array *a)
{
    cz_status st = expect_char(c, '(', "'(' starting the shape tuple");
    if (st != CZ_OK)
        return st;
    a->ndim = 0;
    for (;;) {
        skip_space(c);
        if (c->pos < c->n && c->s[c->pos] == ')') {
            c->pos++;
            return CZ_OK;
        }
        char buf[40];
        if (c->pos >= c->n || !isdigit((unsigned char)c->s[c->pos]))
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: npy header: shape entry %d: expected a non-negative integer, "
                           "found %s",
                           c->file, a->ndim, here(c, buf, sizeof buf));
        if (a->ndim == CZ_NPY_MAX_DIMS)
            return cz_fail(CZ_ERR_FORMAT, "%s: npy header: shape has more than %d dims", c->file,
                           CZ_NPY_MAX_DIMS);
        uint64_t v = 0;
        while (c->pos < c->n && isdigit((unsigned char)c->s[c->pos])) {
            v = v * 10 + (uint64_t)(c->s[c->pos++] - '0');
            if (v > INT64_MAX)
                return cz_fail(CZ_ERR_FORMAT, "%s: npy header: shape entry %d is too large",
                               c->file, a->ndim);
        }
        if (c->pos < c->n && c->s[c->pos] == 'L')
            c->pos++;
        a->shape[a->ndim++] = (int64_t)v;
        skip_space(c);
        if (c->pos < c->n && c->s[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->pos < c->n && c->s[c->pos] == ')')
            continue;
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: npy header: expected ',' or ')' in the shape, found %s", c->file,
                       here(c, buf, sizeof buf));
    }
}

static cz_status parse_descr(cursor *c, cz_npy_dtype *dtype)
{
    char descr[32];
    cz_status st = parse_string(c, descr, sizeof descr, "descr");
    if (st != CZ_OK)
        return st;
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(descr, dtypes[i].name) == 0) {
            *dtype = (cz_npy_dtype)i;
            return CZ_OK;
        }
    /* A single byte has no byte order: numpy may spell it either way. */
    if (strcmp(descr, "<u1") == 0 || strcmp(descr, "=u1") == 0) {
        *dtype = CZ_NPY_U8;
        return CZ_OK;
    }
    if (descr[0] == '>')
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: dtype '%s' is big-endian; only little-endian data is supported "
                       "(save with arr.astype('<%s'))",
                       c->file, descr, descr + 1);
    return cz_fail(CZ_ERR_FORMAT,
                   "%s: dtype '%s' is not supported, expected '<f4', '<f8', '<i4', '<i8' or "
                   "'|u1'",
                   c->file, descr);
}

static cz_status parse_header(cursor *c, cz_npy_array *a)
{
    cz_status st = expect_char(c, '{', "'{' starting the header dict");
    bool seen[3] = {false, false, false};
    while (st == CZ_OK) {
        skip_space(c);
        if (c->pos < c->n && c->s[c->pos] == '}') {
            c->pos++;
            break;
        }
        char key[32];
        if ((st = parse_string(c, key, sizeof key, "a key")) != CZ_OK ||
            (st = expect_char(c, ':', "':' after a key")) != CZ_OK)
            return st;
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0)
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: npy header has key '%s', expected only descr, fortran_order and "
                           "shape",
                           c->file, key);
        if (seen[k])
            return cz_fail(CZ_ERR_FORMAT, "%s: npy header has key '%s' twice", c->file, key);
        seen[k] = true;
        if (k == 0) {
            st = parse_descr(c, &a->file_dtype);
        } else if (k == 1) {
            skip_space(c);
            if (match_word(c, "True"))
                return cz_fail(CZ_ERR_FORMAT,
                               "%s: array is in Fortran order; only C order is supported "
                               "(save np.ascontiguousarray(arr))",
                               c->file);
            if (!match_word(c, "False")) {
                char buf[40];
                return cz_fail(CZ_ERR_FORMAT,
                               "%s: npy header: fortran_order must be True or False, found %s",
                               c->file, here(c, buf, sizeof buf));
            }
        } else {
            st = parse_shape(c, a);
        }
        if (st != CZ_OK)
            return st;
        skip_space(c);
        if (c->pos < c->n && c->s[c->pos] == ',')
            c->pos++;
        else if (c->pos >= c->n || c->s[c->pos] != '}')
            st = expect_char(c, '}', "',' or '}' after a value");
    }
    if (st != CZ_OK)
        return st;
    const char *absent = !seen[0]   ? "descr"
                         : !seen[1] ? "fortran_order"
                         : !seen[2] ? "shape"
                                    : NULL;
    if (absent)
        return cz_fail(CZ_ERR_FORMAT, "%s: npy header has no '%s'", c->file, absent);
    skip_space(c);
    if (c->pos != c->n) {
        char buf[40];
        return cz_fail(CZ_ERR_FORMAT, "%s: npy header: unexpected %s after the dict", c->file,
                       here(c, buf, sizeof buf));
    }
    return CZ_OK;
}

/* ------------------------------------------------------------ reading */

/* "(2, 3)" for messages, as numpy prints a shape. */
static const char *shape_str(const cz_npy_array *a, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < a->ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                 (long long)a->shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "%s)", a->ndim == 1 ? "," : "");
    return buf;
}

/* numel * esz as a decimal, or "more than 2^64" when it overflows. */
static const char *bytes_str(uint64_t numel, size_t esz, char *buf, size_t size)
{
    uint64_t bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)esz, &bytes))
        snprintf(buf, size, "more than 2^64");
    else
        snprintf(buf, size, "%llu", (unsigned long long)bytes);
    return buf;
}

static cz_status convert(const char *file, const cz_npy_array *a, const uint8_t *src)
{
    size_t esz = cz_npy_dtype_size(a->file_dtype);
    if (a->file_dtype == a->dtype) {
        if (a->numel)
            memcpy(a->data, src, a->numel * esz);
        return CZ_OK;
    }
    float *df = a->dtype == CZ_NPY_F32 ? a->data : NULL;
    int64_t *di = a->dtype == CZ_NPY_I64 ? a->data : NULL;
    for (size_t i = 0; i < a->numel; i++) {
        const uint8_t *p = src + i * esz;
        double v = 0;
        int64_t iv = 0;
        bool is_int = true;
        switch (a->file_dtype) {
        case CZ_NPY_F32: {
            float x;
            memcpy(&x, p, 4);
            v = x;
            is_int = false;
            break;
        }
        case CZ_NPY_F64:
            memcpy(&v, p, 8);
            is_int = false;
            break;
        case CZ_NPY_I32: {
            int32_t x;
            memcpy(&x, p, 4);
            iv = x;
            break;
        }
        case CZ_NPY_I64: memcpy(&iv, p, 8); break;
        case CZ_NPY_U8: iv = *p; break;
        }
        if (df) {
            df[i] = is_int ? (float)iv : (float)v;
        } else if (!is_int) {
            /* 2^63 is exact as a double; whole numbers below it fit. */
            if (!(v >= -0x1p63 && v < 0x1p63) || v != (double)(int64_t)v)
                return cz_fail(CZ_ERR_FORMAT,
                               "%s: element %zu (%.17g) is not a whole number that fits int64",
                               file, i, v);
            di[i] = (int64_t)v;
        } else {
            di[i] = iv;
        }
    }
    return CZ_OK;
}

cz_status cz_npy_read_memory(const char *name, const void *data, size_t size, cz_npy_dtype as,
                             cz_npy_array *out)
{
    if (!out || !name || (!data && size) || (as != CZ_NPY_F32 && as != CZ_NPY_I64)) {
        if (out)
            memset(out, 0, sizeof *out);
        return cz_fail(CZ_ERR_ARG, "%s: npy read: bad arguments (convert to F32 or I64 only)",
                       name ? name : "(null)");
    }
    memset(out, 0, sizeof *out);
    const uint8_t *b = data;
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: %s, expected a .npy file starting with \\x93NUMPY", name,
                       size < 10 ? "too short" : "no magic string");
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: npy format version %u.%u, expected 1.0, 2.0 or 3.0",
                       name, major, minor);
    size_t prefix = major == 1 ? 10 : 12;
    if (size < prefix)
        return cz_fail(CZ_ERR_FORMAT, "%s: file ends inside the npy header length (truncated)",
                       name);
    uint64_t hlen = major == 1 ? (uint64_t)b[8] | (uint64_t)b[9] << 8
                               : (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 |
                                     (uint64_t)b[11] << 24;
    if (hlen > size - prefix)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: npy header of %llu bytes exceeds the %zu bytes after it (truncated)",
                       name, (unsigned long long)hlen, size - prefix);
    cursor c = {.file = name, .s = (const char *)b + prefix, .n = (size_t)hlen};
    cz_status st = parse_header(&c, out);
    if (st != CZ_OK)
        return st;
    char shape[200];
    shape_str(out, shape, sizeof shape);
    /* As numpy does: the product of the non-zero dims must not overflow,
     * even when a zero dim makes the array empty. */
    uint64_t numel = 1;
    bool empty = false;
    for (int d = 0; d < out->ndim; d++) {
        if (out->shape[d] == 0)
            empty = true;
        else if (__builtin_mul_overflow(numel, (uint64_t)out->shape[d], &numel))
            return cz_fail(CZ_ERR_FORMAT, "%s: shape %s has more than 2^64 elements (overflow)",
                           name, shape);
    }
    numel = empty ? 0 : numel;
    size_t esz = cz_npy_dtype_size(out->file_dtype);
    uint64_t bytes;
    bool overflow = __builtin_mul_overflow(numel, (uint64_t)esz, &bytes);
    size_t have = size - prefix - (size_t)hlen;
    if (overflow || bytes != have) {
        char need[32];
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: shape %s of '%s' needs %s bytes, but %zu data bytes follow the "
                       "header (%s)",
                       name, shape, cz_npy_dtype_name(out->file_dtype),
                       bytes_str(numel, esz, need, sizeof need), have,
                       overflow || bytes > have ? "truncated" : "wrong size");
    }
    out->numel = (size_t)numel;
    out->dtype = as;
    size_t out_bytes;
    st = cz_alloc_check(&out_bytes, numel, cz_npy_dtype_size(as), name, "array %s as %s", shape,
                        as == CZ_NPY_F32 ? "float32" : "int64");
    if (st != CZ_OK)
        return st;
    if (!(out->data = malloc(out_bytes ? out_bytes : 1)))
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate %zu bytes", name, out_bytes);
    st = convert(name, out, b + prefix + hlen);
    if (st != CZ_OK)
        cz_npy_free(out);
    return st;
}

cz_status cz_npy_read(const char *path, cz_npy_dtype as, cz_npy_array *out)
{
    if (!path || !out)
        return cz_fail(CZ_ERR_ARG, "npy read: NULL %s", path ? "output" : "path");
    cz_mapped_file m;
    cz_status st = cz_map_file(&m, path);
    if (st == CZ_OK)
        st = cz_npy_read_memory(path, m.data, m.size, as, out);
    else
        memset(out, 0, sizeof *out);
    cz_unmap_file(&m);
    return st;
}

void cz_npy_free(cz_npy_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

cz_status cz_npy_read_tensor(const char *path, cz_tensor *t)
{
    cz_npy_array a;
    cz_status st = cz_npy_read(path, CZ_NPY_F32, &a);
    if (st != CZ_OK)
        return st;
    int shape[CZ_MAX_DIMS];
    if (a.ndim > CZ_MAX_DIMS) {
        st = cz_fail(CZ_ERR_SHAPE, "%s: array has %d dims, a tensor at most %d", path, a.ndim,
                     CZ_MAX_DIMS);
    }
    for (int d = 0; d < a.ndim && st == CZ_OK; d++) {
        if (a.shape[d] > INT32_MAX)
            st = cz_fail(CZ_ERR_SHAPE, "%s: dim %d is %lld, too large for a tensor", path, d,
                         (long long)a.shape[d]);
        else
            shape[d] = (int)a.shape[d];
    }
    if (st == CZ_OK)
        st = cz_tensor_alloc(t, a.ndim, shape);
    if (st == CZ_OK && a.numel)
        memcpy(t->data, a.data, a.numel * sizeof(float));
    cz_npy_free(&a);
    return st;
}

/* ------------------------------------------------------------ writing */

/* numpy 1.24's header: sorted keys, repr'd values, room for the first dim
 * to grow to 21 digits (so np.lib.format can append in place), then
 * spaces and '\n' to a multiple of 64 bytes including the 10-byte prefix.
 * At most 8 dims keep it far below version 1.0's 65535-byte limit. */
static size_t build_header(char *buf, cz_npy_dtype dtype, int ndim, const int64_t *shape)
{
    char dict[400];
    size_t len = (size_t)snprintf(dict, sizeof dict,
                                  "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                  cz_npy_dtype_name(dtype));
    for (int d = 0; d < ndim; d++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%lld", d ? ", " : "",
                                (long long)shape[d]);
    len += (size_t)snprintf(dict + len, sizeof dict - len, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0)
        for (int i = snprintf(NULL, 0, "%lld", (long long)shape[0]); i < 21; i++)
            dict[len++] = ' ';
    size_t pad = 64 - (10 + len + 1) % 64;
    size_t hlen = len + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    return 10 + hlen;
}

cz_status cz_npy_write(const char *path, cz_npy_dtype dtype, const void *data, int ndim,
                       const int64_t *shape)
{
    if (!path || (unsigned)dtype >= (unsigned)N_DTYPES || ndim < 0 || ndim > CZ_NPY_MAX_DIMS ||
        (ndim > 0 && !shape))
        return cz_fail(CZ_ERR_ARG, "%s: npy write: bad arguments (dtype %d, %d dims)",
                       path ? path : "(null)", (int)dtype, ndim);
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || __builtin_mul_overflow(numel, (uint64_t)shape[d], &numel))
            return cz_fail(CZ_ERR_ARG, "%s: npy write: dim %d is %lld", path, d,
                           (long long)shape[d]);
    uint64_t bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)cz_npy_dtype_size(dtype), &bytes) ||
        bytes > SIZE_MAX)
        return cz_fail(CZ_ERR_ARG, "%s: npy write: too many elements", path);
    if (bytes && !data)
        return cz_fail(CZ_ERR_ARG, "%s: npy write: no data", path);
    char header[512];
    size_t hsize = build_header(header, dtype, ndim, shape);
    cz_atomic_file out;
    cz_status st = cz_atomic_open(&out, path);
    if (st != CZ_OK)
        return st;
    st = cz_atomic_write(&out, header, hsize);
    if (st == CZ_OK && bytes)
        st = cz_atomic_write(&out, data, (size_t)bytes);
    if (st == CZ_OK)
        st = cz_atomic_commit(&out);
    cz_atomic_abort(&out);
    return st;
}

cz_status cz_npy_write_tensor(const char *path, const cz_tensor *t)
{
    if (!t || t->ndim < 0 || t->ndim > CZ_MAX_DIMS)
        return cz_fail(CZ_ERR_ARG, "%s: npy write: bad tensor", path ? path : "(null)");
    int64_t shape[CZ_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++)
        shape[d] = t->shape[d];
    return cz_npy_write(path, CZ_NPY_F32, t->data, t->ndim, shape);
}
