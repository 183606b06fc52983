/*
 * safetensors.c - the native weight format: a validating reader, an atomic
 * writer, and loading/saving a net's parameter table by name.
 *
 * File layout: u64 little-endian N, N bytes of JSON (an object, maybe
 * space-padded), then the data section. Each tensor entry is
 * {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to
 * the data section; "__metadata__" maps strings to strings.
 *
 * The reader trusts nothing: every length, shape and offset is checked
 * before use, ranges must tile the data section exactly (as the reference
 * parser demands), and every failure is one line naming the file, the key
 * and what was expected. Limits: at most CZ_ST_MAX_DIMS dims, offsets and
 * element counts up to 2^53 (JSON numbers are doubles), F8 types are listed
 * but cannot be converted. Assumes a little-endian host, like the format.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph/net.h"
#include "io/io.h"
#include "io/state_dict.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian and is read and written as host memory");

/* The largest integer a double (hence a cJSON number) holds exactly. */
#define MAX_EXACT ((uint64_t)1 << 53)

static const struct {
    const char *name;
    size_t size;
} dtype_table[CZ_ST_DTYPE_COUNT] = {
    [CZ_ST_BOOL] = {"BOOL", 1}, [CZ_ST_U8] = {"U8", 1},           [CZ_ST_I8] = {"I8", 1},
    [CZ_ST_F8_E5M2] = {"F8_E5M2", 1}, [CZ_ST_F8_E4M3] = {"F8_E4M3", 1},
    [CZ_ST_I16] = {"I16", 2},   [CZ_ST_U16] = {"U16", 2},         [CZ_ST_F16] = {"F16", 2},
    [CZ_ST_BF16] = {"BF16", 2}, [CZ_ST_I32] = {"I32", 4},         [CZ_ST_U32] = {"U32", 4},
    [CZ_ST_F32] = {"F32", 4},   [CZ_ST_F64] = {"F64", 8},         [CZ_ST_I64] = {"I64", 8},
    [CZ_ST_U64] = {"U64", 8},
};

const char *cz_st_dtype_name(cz_st_dtype dtype)
{
    return (unsigned)dtype < CZ_ST_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t cz_st_dtype_size(cz_st_dtype dtype)
{
    return (unsigned)dtype < CZ_ST_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

static bool dtype_from_name(const char *name, cz_st_dtype *out)
{
    for (int i = 0; i < CZ_ST_DTYPE_COUNT; i++)
        if (strcmp(dtype_table[i].name, name) == 0) {
            *out = (cz_st_dtype)i;
            return true;
        }
    return false;
}

/* "[3, 4]" for messages. */
static const char *shape_str(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

/* ------------------------------------------------------------ reader */

struct cz_st_file {
    char *name;
    cz_mapped_file map; /* owned bytes when opened from a path */
    cJSON *root;        /* tensor names and metadata point into it */
    const uint8_t *data; /* the data section */
    size_t data_size;
    cz_st_tensor *tensors; /* header order */
    int n_tensors;
    int *by_name; /* tensor indices sorted by name, for cz_st_find */
    const char **meta_keys, **meta_values;
    int n_meta;
};

static const char *json_type(const cJSON *item)
{
    if (cJSON_IsObject(item))
        return "an object";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNull(item))
        return "null";
    return "an invalid value";
}

/* A JSON number that is a whole number in [0, 2^53]. */
static bool json_count(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= (double)MAX_EXACT) || v != (double)(uint64_t)v)
        return false;
    *out = (uint64_t)v;
    return true;
}

/* Describes a bad array element for a message: "-2", "1.5", "a string". */
static const char *json_value_str(const cJSON *item, char *buf, size_t size)
{
    if (cJSON_IsNumber(item))
        snprintf(buf, size, "%.17g", item->valuedouble);
    else
        snprintf(buf, size, "%s", json_type(item));
    return buf;
}

static cz_status parse_shape(const char *file, const char *name, const cJSON *shape,
                             cz_st_tensor *t)
{
    if (!cJSON_IsArray(shape))
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': shape is %s, expected an array", file,
                       name, json_type(shape));
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > CZ_ST_MAX_DIMS)
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': shape has %d dims, at most %d supported",
                       file, name, ndim, CZ_ST_MAX_DIMS);
    t->ndim = ndim;
    bool zero = false, too_big = false;
    uint64_t numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        char buf[40];
        if (!json_count(d, &v))
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: tensor '%s': shape[%d] is %s, expected a non-negative integer",
                           file, name, i, json_value_str(d, buf, sizeof buf));
        t->shape[i] = (int64_t)v;
        /* An empty tensor is legal whatever its other dims; otherwise the
         * count must stay exact (2^53) so the byte size cannot overflow. */
        if (v == 0)
            zero = true;
        else if (numel > MAX_EXACT / v)
            too_big = true;
        else
            numel *= v;
    }
    if (zero)
        numel = 0;
    else if (too_big) {
        char buf[256];
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': shape %s has more than 2^53 elements",
                       file, name, shape_str(t->shape, ndim, buf, sizeof buf));
    }
    t->numel = numel;
    return CZ_OK;
}

static cz_status parse_offsets(const char *file, const char *name, const cJSON *offsets,
                               uint64_t *begin, uint64_t *end)
{
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets is %s, expected an array [begin, end]",
                       file, name,
                       cJSON_IsArray(offsets) ? "an array of the wrong length"
                                              : json_type(offsets));
    uint64_t v[2];
    int i = 0;
    for (const cJSON *o = offsets->child; o; o = o->next, i++) {
        char buf[40];
        if (!json_count(o, &v[i]))
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: tensor '%s': data_offsets[%d] is %s, expected a non-negative "
                           "integer up to 2^53",
                           file, name, i, json_value_str(o, buf, sizeof buf));
    }
    *begin = v[0];
    *end = v[1];
    return CZ_OK;
}

/* Fills t from one header entry and checks it against the data section. */
static cz_status parse_tensor(cz_st_file *f, const cJSON *entry, cz_st_tensor *t)
{
    const char *file = f->name, *name = entry->string;
    t->name = name;
    if (!cJSON_IsObject(entry))
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s' is %s, expected an object with dtype, shape and "
                       "data_offsets",
                       file, name, json_type(entry));
    /* Walk the fields ourselves: cJSON's lookup would silently take the
     * first of two "dtype" keys. Unknown fields are ignored, as the
     * reference parser does. */
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *field = entry->child; field; field = field->next) {
        const cJSON **slot = strcmp(field->string, "dtype") == 0          ? &dtype
                             : strcmp(field->string, "shape") == 0        ? &shape
                             : strcmp(field->string, "data_offsets") == 0 ? &offsets
                                                                          : NULL;
        if (!slot)
            continue;
        if (*slot)
            return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': '%s' appears twice", file, name,
                           field->string);
        *slot = field;
    }
    const char *absent = !dtype ? "dtype" : !shape ? "shape" : !offsets ? "data_offsets" : NULL;
    if (absent)
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': no '%s'", file, name, absent);
    if (!cJSON_IsString(dtype))
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': dtype is %s, expected a string like "
                                      "\"F32\"",
                       file, name, json_type(dtype));
    if (!dtype_from_name(dtype->valuestring, &t->dtype))
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%.40s'", file, name,
                       dtype->valuestring);
    cz_status st = parse_shape(file, name, shape, t);
    uint64_t begin = 0, end = 0;
    if (st == CZ_OK)
        st = parse_offsets(file, name, offsets, &begin, &end);
    if (st != CZ_OK)
        return st;
    if (end < begin)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", file,
                       name, (unsigned long long)begin, (unsigned long long)end);
    if (end > f->data_size)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data section "
                       "(%zu bytes)",
                       file, name, (unsigned long long)begin, (unsigned long long)end,
                       f->data_size);
    uint64_t bytes = t->numel * cz_st_dtype_size(t->dtype); /* < 2^56: no overflow */
    if (end - begin != bytes) {
        char buf[256];
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but %s %s "
                       "needs %llu",
                       file, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin), cz_st_dtype_name(t->dtype),
                       shape_str(t->shape, t->ndim, buf, sizeof buf),
                       (unsigned long long)bytes);
    }
    t->data = f->data + begin;
    t->size = (size_t)bytes;
    return CZ_OK;
}

static cz_status parse_metadata(cz_st_file *f, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return cz_fail(CZ_ERR_FORMAT, "%s: __metadata__ is %s, expected an object of strings",
                       f->name, json_type(meta));
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_values = calloc((size_t)n + 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return cz_fail(CZ_ERR_FORMAT, "%s: __metadata__ '%s' is %s, expected a string",
                           f->name, m->string, json_type(m));
        /* Metadata is small (a few pairs), so a quadratic check is fine. */
        for (int j = 0; j < f->n_meta; j++)
            if (strcmp(f->meta_keys[j], m->string) == 0)
                return cz_fail(CZ_ERR_FORMAT, "%s: __metadata__ '%s' appears twice", f->name,
                               m->string);
        f->meta_keys[f->n_meta] = m->string;
        f->meta_values[f->n_meta++] = m->valuestring;
    }
    return CZ_OK;
}

/* qsort has no context argument: the comparators see the array through
 * this, set just before each sort (a thread-local, so loads on several
 * threads do not disturb each other). */
static _Thread_local const cz_st_tensor *sort_tensors;

static int by_name_cmp(const void *a, const void *b)
{
    return strcmp(sort_tensors[*(const int *)a].name, sort_tensors[*(const int *)b].name);
}

static int by_offset_cmp(const void *a, const void *b)
{
    const cz_st_tensor *x = &sort_tensors[*(const int *)a], *y = &sort_tensors[*(const int *)b];
    const uint8_t *xb = x->data, *yb = y->data;
    if (xb != yb)
        return xb < yb ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x < y ? -1 : x > y; /* header order, so messages are repeatable */
}

/* Duplicate names (cJSON keeps both) and ranges that overlap, leave gaps
 * or leave bytes at the end: the reference parser rejects all of these. */
static cz_status check_layout(cz_st_file *f)
{
    int n = f->n_tensors;
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    f->by_name = malloc(((size_t)n + 1) * sizeof *f->by_name);
    if (!order || !f->by_name) {
        free(order);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", f->name);
    }
    for (int i = 0; i < n; i++)
        order[i] = f->by_name[i] = i;
    sort_tensors = f->tensors;
    qsort(f->by_name, (size_t)n, sizeof *f->by_name, by_name_cmp);
    qsort(order, (size_t)n, sizeof *order, by_offset_cmp);
    cz_status st = CZ_OK;
    for (int i = 1; i < n && st == CZ_OK; i++) {
        const char *name = f->tensors[f->by_name[i]].name;
        if (strcmp(f->tensors[f->by_name[i - 1]].name, name) == 0)
            st = cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", f->name,
                         name);
    }
    size_t expected = 0;
    const cz_st_tensor *prev = NULL;
    for (int i = 0; i < n && st == CZ_OK; i++) {
        const cz_st_tensor *t = &f->tensors[order[i]];
        size_t begin = (size_t)((const uint8_t *)t->data - f->data), end = begin + t->size;
        if (begin < expected) {
            size_t pb = (size_t)((const uint8_t *)prev->data - f->data);
            st = cz_fail(CZ_ERR_FORMAT,
                         "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap", f->name,
                         prev->name, pb, pb + prev->size, t->name, begin, end);
        } else if (begin > expected) {
            st = cz_fail(CZ_ERR_FORMAT,
                         "%s: bytes [%zu, %zu) of the data section belong to no tensor (before "
                         "'%s')",
                         f->name, expected, begin, t->name);
        }
        expected = end;
        prev = t;
    }
    if (st == CZ_OK && expected != f->data_size)
        st = cz_fail(CZ_ERR_FORMAT,
                     "%s: bytes [%zu, %zu) at the end of the data section belong to no tensor",
                     f->name, expected, f->data_size);
    free(order);
    return st;
}

/* Up to size - 1 bytes of s[0..n) with anything unprintable as '?', so a
 * message shows where JSON went wrong and stays one line. */
static const char *printable(const char *s, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    for (; k < n && k + 1 < size; k++)
        buf[k] = s[k] >= ' ' && s[k] <= '~' ? s[k] : '?';
    buf[k] = '\0';
    return buf;
}

static cz_status parse(cz_st_file *f, const uint8_t *bytes, size_t size)
{
    const char *file = f->name;
    if (size < 8)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: file is %zu bytes, too short for the 8-byte header length (not a "
                       "safetensors file, or truncated)",
                       file, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | bytes[i];
    if (n > size - 8)
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: header length %llu exceeds the %zu bytes that follow it (not a "
                       "safetensors file, or truncated)",
                       file, (unsigned long long)n, size - 8);
    if (n > CZ_ST_MAX_HEADER)
        return cz_fail(CZ_ERR_FORMAT, "%s: header length %llu exceeds the %llu-byte limit", file,
                       (unsigned long long)n, (unsigned long long)CZ_ST_MAX_HEADER);
    const char *header = (const char *)bytes + 8;
    if (n == 0)
        return cz_fail(CZ_ERR_FORMAT, "%s: header is empty, expected a JSON object starting with "
                                      "'{'",
                       file);
    if (header[0] != '{') {
        unsigned char c = (unsigned char)header[0];
        char shown[8] = "";
        if (c > ' ' && c < 127)
            snprintf(shown, sizeof shown, " ('%c')", c);
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: header starts with 0x%02x%s, expected a JSON object starting with "
                       "'{'",
                       file, c, shown);
    }
    f->data = bytes + 8 + n;
    f->data_size = size - 8 - (size_t)n;

    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(header, (size_t)n, &end, false);
    if (!f->root) {
        size_t at = end && end >= header ? (size_t)(end - header) : 0;
        char near[24];
        return cz_fail(CZ_ERR_FORMAT,
                       "%s: header is not valid JSON (error at byte %zu of %llu, near '%s')", file,
                       at, (unsigned long long)n, printable(header + at, (size_t)n - at, near,
                                                            sizeof near));
    }
    for (const char *p = end; p < header + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return cz_fail(CZ_ERR_FORMAT,
                           "%s: header has bytes other than space padding after the JSON "
                           "object (at byte %zu of %llu)",
                           file, (size_t)(p - header), (unsigned long long)n);
    if (!cJSON_IsObject(f->root))
        return cz_fail(CZ_ERR_FORMAT, "%s: header is %s, expected a JSON object", file,
                       json_type(f->root));

    int count = cJSON_GetArraySize(f->root);
    f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
    if (!f->tensors)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory for %d tensors", file, count);
    const cJSON *meta = NULL;
    for (const cJSON *item = f->root->child; item; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (meta)
                return cz_fail(CZ_ERR_FORMAT, "%s: __metadata__ appears twice in the header",
                               file);
            meta = item;
            cz_status st = parse_metadata(f, item);
            if (st != CZ_OK)
                return st;
            continue;
        }
        cz_status st = parse_tensor(f, item, &f->tensors[f->n_tensors]);
        if (st != CZ_OK)
            return st;
        f->n_tensors++;
    }
    return check_layout(f);
}

static cz_status open_common(cz_st_file **out, const char *name, const char *path,
                             const void *data, size_t size)
{
    *out = NULL;
    cz_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", name);
    }
    cz_status st = CZ_OK;
    if (path) {
        st = cz_map_file(&f->map, path);
        data = f->map.data;
        size = f->map.size;
    }
    if (st == CZ_OK)
        st = parse(f, data, size);
    if (st != CZ_OK) {
        cz_st_close(f);
        return st;
    }
    *out = f;
    return CZ_OK;
}

cz_status cz_st_open(cz_st_file **out, const char *path)
{
    return open_common(out, path, path, NULL, 0);
}

cz_status cz_st_open_memory(cz_st_file **out, const char *name, const void *data, size_t size)
{
    return open_common(out, name, NULL, data, size);
}

void cz_st_close(cz_st_file *f)
{
    if (!f)
        return;
    cJSON_Delete(f->root);
    cz_unmap_file(&f->map);
    free(f->tensors);
    free(f->by_name);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->name);
    free(f);
}

const char *cz_st_name(const cz_st_file *f) { return f->name; }
int cz_st_count(const cz_st_file *f) { return f->n_tensors; }

const cz_st_tensor *cz_st_at(const cz_st_file *f, int i)
{
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const cz_st_tensor *cz_st_find(const cz_st_file *f, const char *name)
{
    int lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[f->by_name[mid]].name, name);
        if (c == 0)
            return &f->tensors[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *cz_st_meta(const cz_st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

int cz_st_meta_count(const cz_st_file *f) { return f->n_meta; }

void cz_st_meta_at(const cz_st_file *f, int i, const char **key, const char **value)
{
    bool ok = i >= 0 && i < f->n_meta;
    *key = ok ? f->meta_keys[i] : NULL;
    *value = ok ? f->meta_values[i] : NULL;
}

/* ------------------------------------------------------------ conversion */

/* IEEE half to float, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        float v = (float)mant * 0x1p-24f; /* zero or subnormal: mant * 2^-24 */
        memcpy(&bits, &v, sizeof bits);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 112) << 23 | mant << 13; /* rebias 15 -> 127 */
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

bool cz_st_element(cz_st_dtype dtype, const void *p, double *v, int64_t *iv, bool *is_int)
{
    /* The data is unaligned, so it is copied out, never dereferenced; the
     * low bytes of `raw` are the element on a little-endian host. */
    uint64_t raw = 0;
    memcpy(&raw, p, cz_st_dtype_size(dtype));
    *is_int = true;
    switch (dtype) {
    case CZ_ST_BOOL: *iv = raw != 0; break;
    case CZ_ST_U8:
    case CZ_ST_U16:
    case CZ_ST_U32: *iv = (int64_t)raw; break;
    case CZ_ST_I8: *iv = (int8_t)raw; break;
    case CZ_ST_I16: *iv = (int16_t)raw; break;
    case CZ_ST_I32: *iv = (int32_t)raw; break;
    case CZ_ST_I64: *iv = (int64_t)raw; break;
    case CZ_ST_U64:
        *is_int = raw <= INT64_MAX; /* above: out of range for to_i64 */
        *iv = *is_int ? (int64_t)raw : 0;
        *v = (double)raw;
        break;
    case CZ_ST_F16:
        *is_int = false;
        *v = half_to_float((uint16_t)raw);
        break;
    case CZ_ST_BF16:
    case CZ_ST_F32: {
        /* bfloat16 is the top half of a float. */
        uint32_t bits = dtype == CZ_ST_BF16 ? (uint32_t)raw << 16 : (uint32_t)raw;
        float f;
        memcpy(&f, &bits, sizeof f);
        *is_int = false;
        *v = f;
        break;
    }
    case CZ_ST_F64:
        *is_int = false;
        memcpy(v, &raw, sizeof *v);
        break;
    default: return false;
    }
    if (*is_int)
        *v = (double)*iv;
    return true;
}

bool cz_st_dtype_is_float(cz_st_dtype dtype)
{
    return dtype == CZ_ST_F16 || dtype == CZ_ST_BF16 || dtype == CZ_ST_F32 || dtype == CZ_ST_F64;
}

static bool convertible(cz_st_dtype dtype)
{
    return dtype != CZ_ST_F8_E5M2 && dtype != CZ_ST_F8_E4M3 && (unsigned)dtype < CZ_ST_DTYPE_COUNT;
}

cz_status cz_st_to_f32(const cz_st_file *f, const cz_st_tensor *t, float *dst)
{
    if (!convertible(t->dtype))
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': dtype %s cannot be converted to F32",
                       f->name, t->name, cz_st_dtype_name(t->dtype));
    if (t->dtype == CZ_ST_F32) {
        memcpy(dst, t->data, t->size);
        return CZ_OK;
    }
    size_t esz = cz_st_dtype_size(t->dtype);
    for (size_t i = 0; i < t->numel; i++) {
        double v = 0;
        int64_t iv = 0;
        bool is_int = false;
        cz_st_element(t->dtype, (const uint8_t *)t->data + i * esz, &v, &iv, &is_int);
        dst[i] = (float)v; /* rounds like PyTorch's copy_ across dtypes */
    }
    return CZ_OK;
}

cz_status cz_st_to_i64(const cz_st_file *f, const cz_st_tensor *t, int64_t *dst)
{
    if (!convertible(t->dtype))
        return cz_fail(CZ_ERR_FORMAT, "%s: tensor '%s': dtype %s cannot be converted to I64",
                       f->name, t->name, cz_st_dtype_name(t->dtype));
    size_t esz = cz_st_dtype_size(t->dtype);
    for (size_t i = 0; i < t->numel; i++) {
        double v = 0;
        int64_t iv = 0;
        bool is_int = false;
        cz_st_element(t->dtype, (const uint8_t *)t->data + i * esz, &v, &iv, &is_int);
        if (!is_int) {
            /* 2^63 is exact as a double; whole numbers below it fit. */
            if (!(v >= -0x1p63 && v < 0x1p63) || v != (double)(int64_t)v)
                return cz_fail(CZ_ERR_FORMAT,
                               "%s: tensor '%s': element %zu (%.17g) is not a whole number "
                               "that fits int64",
                               f->name, t->name, i, v);
            iv = (int64_t)v;
        }
        dst[i] = iv;
    }
    return CZ_OK;
}

/* ------------------------------------------------------------ writer */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Caller mistakes, caught before anything is written. */
static cz_status check_write_args(const char *path, const cz_st_tensor *tensors, int n,
                                  const char *const *meta, int n_meta, uint64_t *sizes)
{
    if (!path || n < 0 || n_meta < 0 || (n > 0 && !tensors) || (n_meta > 0 && !meta))
        return cz_fail(CZ_ERR_ARG, "%s: safetensors write: bad arguments (%d tensors, %d "
                                   "metadata pairs)",
                       path ? path : "(null)", n, n_meta);
    for (int i = 0; i < 2 * n_meta; i++)
        if (!meta[i])
            return cz_fail(CZ_ERR_ARG, "%s: metadata pair %d has a NULL %s", path, i / 2,
                           i % 2 ? "value" : "key");
    for (int i = 0; i < n_meta; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(meta[2 * i], meta[2 * j]) == 0)
                return cz_fail(CZ_ERR_ARG, "%s: metadata key '%s' given twice", path,
                               meta[2 * i]);
    for (int i = 0; i < n; i++) {
        const cz_st_tensor *t = &tensors[i];
        if (!t->name || !*t->name || strcmp(t->name, "__metadata__") == 0)
            return cz_fail(CZ_ERR_ARG, "%s: tensor %d has no usable name ('%s')", path, i,
                           t->name ? t->name : "(null)");
        if ((unsigned)t->dtype >= CZ_ST_DTYPE_COUNT || t->ndim < 0 || t->ndim > CZ_ST_MAX_DIMS)
            return cz_fail(CZ_ERR_ARG, "%s: tensor '%s': bad dtype %d or ndim %d", path, t->name,
                           (int)t->dtype, t->ndim);
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0 || (uint64_t)t->shape[d] > MAX_EXACT)
                return cz_fail(CZ_ERR_ARG, "%s: tensor '%s': dim %d is %lld", path, t->name, d,
                               (long long)t->shape[d]);
            if (t->shape[d] && numel > MAX_EXACT / (uint64_t)t->shape[d])
                return cz_fail(CZ_ERR_ARG, "%s: tensor '%s': too many elements", path, t->name);
            numel *= (uint64_t)t->shape[d];
        }
        sizes[i] = numel * cz_st_dtype_size(t->dtype);
        if (sizes[i] && !t->data)
            return cz_fail(CZ_ERR_ARG, "%s: tensor '%s' has no data", path, t->name);
    }
    const char **names = malloc(((size_t)n + 1) * sizeof *names);
    if (!names)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++)
        names[i] = tensors[i].name;
    qsort(names, (size_t)n, sizeof *names, name_cmp);
    cz_status st = CZ_OK;
    for (int i = 1; i < n && st == CZ_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = cz_fail(CZ_ERR_ARG, "%s: tensor name '%s' given twice", path, names[i]);
    free(names);
    return st;
}

/* The JSON header, tensors in the given order with consecutive offsets.
 * Numbers are below 2^53, which cJSON prints exactly. */
static char *build_header(const cz_st_tensor *tensors, int n, const char *const *meta,
                          int n_meta, const uint64_t *sizes)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < n_meta; i++)
            ok = cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]) != NULL;
    }
    uint64_t offset = 0;
    for (int i = 0; ok && i < n; i++) {
        const cz_st_tensor *t = &tensors[i];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = NULL;
        ok = e && cJSON_AddStringToObject(e, "dtype", cz_st_dtype_name(t->dtype)) && shape;
        for (int d = 0; ok && d < t->ndim; d++) {
            cJSON *v = cJSON_CreateNumber((double)t->shape[d]);
            ok = v && cJSON_AddItemToArray(shape, v);
        }
        ok = ok && (offs = cJSON_AddArrayToObject(e, "data_offsets")) != NULL;
        cJSON *b = ok ? cJSON_CreateNumber((double)offset) : NULL;
        ok = ok && b && cJSON_AddItemToArray(offs, b);
        offset += sizes[i];
        cJSON *end = ok ? cJSON_CreateNumber((double)offset) : NULL;
        ok = ok && end && cJSON_AddItemToArray(offs, end);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

cz_status cz_st_write(const char *path, const cz_st_tensor *tensors, int n,
                      const char *const *meta, int n_meta)
{
    uint64_t *sizes = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof *sizes);
    if (!sizes)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path ? path : "(null)");
    cz_status st = check_write_args(path, tensors, n, meta, n_meta, sizes);
    char *header = st == CZ_OK ? build_header(tensors, n, meta, n_meta, sizes) : NULL;
    if (st == CZ_OK && !header)
        st = cz_fail(CZ_ERR_NOMEM, "%s: out of memory building the header", path);
    cz_atomic_file out;
    if (st == CZ_OK)
        st = cz_atomic_open(&out, path);
    if (st == CZ_OK) {
        /* Padding to a multiple of 8 puts the data section, and with it
         * every tensor (all sizes here are multiples of their element
         * size), on an aligned file offset. */
        size_t len = strlen(header), padded = (len + 7) / 8 * 8;
        uint8_t prefix[8];
        for (int i = 0; i < 8; i++)
            prefix[i] = (uint8_t)((uint64_t)padded >> (8 * i));
        static const char spaces[8] = "        ";
        st = cz_atomic_write(&out, prefix, sizeof prefix);
        if (st == CZ_OK)
            st = cz_atomic_write(&out, header, len);
        if (st == CZ_OK)
            st = cz_atomic_write(&out, spaces, padded - len);
        for (int i = 0; i < n && st == CZ_OK; i++)
            st = cz_atomic_write(&out, tensors[i].data, (size_t)sizes[i]);
        st = st == CZ_OK ? cz_atomic_commit(&out) : st;
        cz_atomic_abort(&out);
    }
    free(header);
    free(sizes);
    return st;
}

/* ------------------------------------------------------------ nets */

void cz_st_from_param(const cz_param *p, cz_st_tensor *t)
{
    *t = (cz_st_tensor){.name = p->name};
    if (p->dtype == CZ_I64) {
        /* num_batches_tracked: a 0-dim int64, as torch saves it. */
        t->dtype = CZ_ST_I64;
        t->data = &p->count;
        return;
    }
    t->dtype = CZ_ST_F32;
    t->ndim = p->value.ndim;
    for (int d = 0; d < p->value.ndim; d++)
        t->shape[d] = p->value.shape[d];
    t->data = p->value.data;
}

cz_status cz_safetensors_save(cz_net *net, const char *path, const char *const *meta, int n_meta)
{
    if (!cz_net_has_weights(net))
        return cz_fail(CZ_ERR_ARG, "%s: the net was built for its shapes only and has no "
                       "weights to save", path);
    if (!net || !path)
        return cz_fail(CZ_ERR_ARG, "safetensors save: NULL %s", net ? "path" : "net");
    if (cz_net_status(net) != CZ_OK)
        return cz_net_status(net);
    int n = cz_net_param_count(net);
    cz_st_tensor *tensors = calloc((size_t)n + 1, sizeof *tensors);
    if (!tensors)
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++)
        cz_st_from_param(cz_net_param(net, i), &tensors[i]);
    cz_status st = cz_st_write(path, tensors, n, meta, n_meta);
    free(tensors);
    return st;
}

/* ------------------------------------------------------------ nets */

/* The file seen by the shared loader (src/io/state_dict.c): its tensors
 * but those whose names start with `skip` (a checkpoint's optimizer
 * state), renumbered. */
typedef struct st_view {
    const cz_st_file *f;
    int *tensor; /* view index -> file index */
    int *view;   /* file index -> view index, or -1 */
    int count;
} st_view;

static const cz_st_tensor *view_tensor(const void *ctx, int i)
{
    const st_view *v = ctx;
    return cz_st_at(v->f, v->tensor[i]);
}

static void source_at(const void *ctx, int i, cz_sd_tensor *out)
{
    const cz_st_tensor *t = view_tensor(ctx, i);
    *out = (cz_sd_tensor){.name = t->name,
                          .dtype = cz_st_dtype_name(t->dtype),
                          .ndim = t->ndim,
                          .shape = t->shape,
                          .convertible = convertible(t->dtype),
                          .floating = cz_st_dtype_is_float(t->dtype)};
}

static int source_find(const void *ctx, const char *name)
{
    const st_view *v = ctx;
    const cz_st_tensor *t = cz_st_find(v->f, name);
    return t ? v->view[t - cz_st_at(v->f, 0)] : -1;
}

static cz_status source_f32(const void *ctx, int i, float *dst)
{
    return cz_st_to_f32(((const st_view *)ctx)->f, view_tensor(ctx, i), dst);
}

static cz_status source_i64(const void *ctx, int i, int64_t *dst)
{
    return cz_st_to_i64(((const st_view *)ctx)->f, view_tensor(ctx, i), dst);
}

cz_status cz_st_load_net(cz_net *net, const cz_st_file *f, const char *skip, bool strict)
{
    int n = cz_st_count(f);
    st_view v = {.f = f, .tensor = malloc(sizeof(int) * (size_t)(n + 1)),
                 .view = malloc(sizeof(int) * (size_t)(n + 1))};
    if (!v.tensor || !v.view) {
        free(v.tensor);
        free(v.view);
        return cz_fail(CZ_ERR_NOMEM, "%s: out of memory", cz_st_name(f));
    }
    for (int i = 0; i < n; i++) {
        bool skipped = skip && strncmp(cz_st_at(f, i)->name, skip, strlen(skip)) == 0;
        v.view[i] = skipped ? -1 : v.count;
        if (!skipped)
            v.tensor[v.count++] = i;
    }
    cz_sd_source src = {.path = cz_st_name(f),
                        .count = v.count,
                        .ctx = &v,
                        .at = source_at,
                        .find = source_find,
                        .to_f32 = source_f32,
                        .to_i64 = source_i64};
    cz_status st = cz_state_dict_load(net, &src, strict);
    free(v.tensor);
    free(v.view);
    return st;
}

cz_status cz_safetensors_load(cz_net *net, const char *path, bool strict)
{
    if (!net || !path)
        return cz_fail(CZ_ERR_ARG, "safetensors load: NULL %s", net ? "path" : "net");
    cz_st_file *f;
    cz_status st = cz_st_open(&f, path);
    if (st != CZ_OK)
        return st;
    st = cz_st_load_net(net, f, NULL, strict);
    cz_st_close(f);
    return st;
}
