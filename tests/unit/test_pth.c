/*
 * test_pth.c - the .pth reader: PyTorch-written fixtures (zip, legacy,
 * protocol 4, deflate, checkpoints, 'module.' keys, views sharing a
 * storage, every storage dtype, resnet18) compared value for value with
 * safetensors copies; loading into a net; and malformed files built here
 * byte by byte (zips, pickles, legacy files), each of which must give a
 * one-line error naming the file and the problem, never a crash.
 *
 * Fixtures come from tools/make_pth_fixtures.py through the folder named
 * by CZ_PTH_FIXTURES (set by ctest); without it those tests are skipped.
 * Malformed inputs are opened from exact-size heap buffers so the
 * sanitizers see any read past their end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "io/io.h"
#include "io/pth.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("pth");
}

static uint8_t *slurp(const char *path, size_t *size)
{
    char *data;
    if (cz_read_file(path, (size_t)1 << 27, &data, size) != CZ_OK)
        fail_msg("%s", cz_last_error());
    return (uint8_t *)data;
}

/* Opens bytes copied into an exact-size heap buffer. */
static cz_status open_bytes(cz_pth_file **f, const void *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, data, size);
    cz_status st = cz_pth_open_memory(f, "bad.pth", copy, size);
    if (st == CZ_OK) {
        /* Touch every tensor so conversions run on the copy. */
        for (int i = 0; i < cz_pth_count(*f); i++) {
            const cz_pth_tensor *t = cz_pth_at(*f, i);
            float *v = malloc((size_t)t->numel * sizeof *v + 1);
            assert_non_null(v);
            assert_int_equal(cz_pth_to_f32(*f, t, v), CZ_OK);
            free(v);
        }
        cz_pth_close(*f);
        *f = NULL;
    }
    free(copy);
    return st;
}

static void expect_bad(const void *data, size_t size, const char *part1, const char *part2)
{
    cz_pth_file *f = NULL;
    cz_status st = open_bytes(&f, data, size);
    tu_expect_error(st, CZ_ERR_FORMAT, part1, part2);
    assert_non_null(strstr(cz_last_error(), "bad.pth"));
}

/* Every tensor of the safetensors file `want` is in the .pth with the
 * same shape and exactly the same values, and nothing else is. */
static void expect_same_as_st(const char *pth_path, const char *st_path)
{
    cz_pth_file *f;
    cz_st_file *s;
    if (cz_pth_open(&f, pth_path) != CZ_OK || cz_st_open(&s, st_path) != CZ_OK)
        fail_msg("%s", cz_last_error());
    assert_int_equal(cz_pth_count(f), cz_st_count(s));
    for (int i = 0; i < cz_st_count(s); i++) {
        const cz_st_tensor *w = cz_st_at(s, i);
        const cz_pth_tensor *t = cz_pth_find(f, w->name);
        if (!t)
            fail_msg("%s: no tensor '%s'", pth_path, w->name);
        /* tools/st.py saves 0-dim arrays as [1] (np.ascontiguousarray
         * promotes them); 0-dim shapes are checked separately. */
        bool scalar = t->ndim == 0 && w->ndim == 1 && w->shape[0] == 1;
        if (!scalar) {
            assert_int_equal(t->ndim, w->ndim);
            for (int d = 0; d < w->ndim; d++)
                assert_int_equal(t->shape[d], w->shape[d]);
        }
        assert_int_equal(t->numel, w->numel);
        if (w->dtype == CZ_ST_I64) {
            int64_t *got = malloc(w->numel * 8 + 8), *exp = malloc(w->numel * 8 + 8);
            assert_int_equal(cz_pth_to_i64(f, t, got), CZ_OK);
            assert_int_equal(cz_st_to_i64(s, w, exp), CZ_OK);
            assert_memory_equal(got, exp, w->numel * 8);
            free(got);
            free(exp);
        } else {
            float *got = malloc(w->numel * 4 + 4), *exp = malloc(w->numel * 4 + 4);
            assert_int_equal(cz_pth_to_f32(f, t, got), CZ_OK);
            assert_int_equal(cz_st_to_f32(s, w, exp), CZ_OK);
            for (size_t k = 0; k < w->numel; k++)
                if (memcmp(&got[k], &exp[k], 4) != 0)
                    fail_msg("%s: '%s'[%zu] is %.9g, expected %.9g", pth_path, w->name, k,
                             got[k], exp[k]);
            free(got);
            free(exp);
        }
    }
    cz_st_close(s);
    cz_pth_close(f);
}

/* Two .pth files hold the same names, shapes and values. */
static void expect_same_pth(const char *a_path, const char *b_path)
{
    cz_pth_file *a, *b;
    if (cz_pth_open(&a, a_path) != CZ_OK || cz_pth_open(&b, b_path) != CZ_OK)
        fail_msg("%s", cz_last_error());
    assert_int_equal(cz_pth_count(a), cz_pth_count(b));
    for (int i = 0; i < cz_pth_count(a); i++) {
        const cz_pth_tensor *x = cz_pth_at(a, i), *y = cz_pth_at(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->dtype, y->dtype);
        assert_int_equal(x->ndim, y->ndim);
        assert_memory_equal(x->shape, y->shape, sizeof x->shape);
        float *u = malloc(x->numel * 4 + 4), *v = malloc(y->numel * 4 + 4);
        assert_int_equal(cz_pth_to_f32(a, x, u), CZ_OK);
        assert_int_equal(cz_pth_to_f32(b, y, v), CZ_OK);
        assert_memory_equal(u, v, x->numel * 4);
        free(u);
        free(v);
    }
    cz_pth_close(a);
    cz_pth_close(b);
}

/* ------------------------------------------------------------ byte builders */

/* memmem, which glibc only declares for _GNU_SOURCE. */
static uint8_t *find_bytes(uint8_t *hay, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

typedef struct bytes {
    uint8_t *d;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    memcpy(b->d + b->n, data, n);
    b->n += n;
}

static void put_u8(bytes *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_le(bytes *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        put_u8(b, (unsigned)(v >> (8 * i)) & 0xff);
}

static void put_str(bytes *b, const char *s) /* BINUNICODE */
{
    put_u8(b, 'X');
    put_le(b, strlen(s), 4);
    put(b, s, strlen(s));
}

static void put_int(bytes *b, int64_t v) /* BININT, or LONG1 when wider */
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        put_u8(b, 'J');
        put_le(b, (uint64_t)v, 4);
    } else {
        put_u8(b, 0x8a);
        put_u8(b, 8);
        put_le(b, (uint64_t)v, 8);
    }
}

static void put_global(bytes *b, const char *module, const char *name)
{
    put_u8(b, 'c');
    put(b, module, strlen(module));
    put_u8(b, '\n');
    put(b, name, strlen(name));
    put_u8(b, '\n');
}

/* One tensor of a hand-written state_dict pickle. */
typedef struct spec {
    const char *name, *storage_type, *key;
    int64_t numel, offset;
    int ndim;
    int64_t size[4], stride[4];
} spec;

static void put_tensor(bytes *b, const spec *s, bool legacy)
{
    put_str(b, s->name);
    put_global(b, "torch._utils", "_rebuild_tensor_v2");
    put_u8(b, '(');
    put_u8(b, '(');
    put_str(b, "storage");
    put_global(b, "torch", s->storage_type);
    put_str(b, s->key);
    put_str(b, "cpu");
    put_int(b, s->numel);
    if (legacy)
        put_u8(b, 'N');
    put_u8(b, 't');
    put_u8(b, 'Q'); /* BINPERSID */
    put_int(b, s->offset);
    put_u8(b, '(');
    for (int d = 0; d < s->ndim; d++)
        put_int(b, s->size[d]);
    put_u8(b, 't');
    put_u8(b, '(');
    for (int d = 0; d < s->ndim; d++)
        put_int(b, s->stride[d]);
    put_u8(b, 't');
    put_u8(b, 0x89); /* NEWFALSE */
    put_global(b, "collections", "OrderedDict");
    put_u8(b, ')');
    put_u8(b, 'R');
    put_u8(b, 't');
    put_u8(b, 'R');
}

/* OrderedDict of the given tensors, as torch.save writes it. */
static bytes state_dict_pickle(const spec *specs, int n, bool legacy)
{
    bytes b = {0};
    put(&b, "\x80\x02", 2);
    put_global(&b, "collections", "OrderedDict");
    put(&b, ")R(", 3);
    for (int i = 0; i < n; i++)
        put_tensor(&b, &specs[i], legacy);
    put(&b, "u.", 2);
    return b;
}

/* A stored zip of named entries, optionally with ZIP64 records. */
typedef struct entry {
    const char *name;
    const void *data;
    size_t size;
} entry;

static bytes make_zip(const entry *e, int n, bool zip64)
{
    bytes b = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(0, e[i].data, (uInt)e[i].size);
        size_t offset = b.n, nlen = strlen(e[i].name);
        put_le(&b, 0x04034b50, 4);
        put_le(&b, 20, 2);
        put_le(&b, 0, 2);
        put_le(&b, 0, 2);
        put_le(&b, 0, 4); /* time, date */
        put_le(&b, crc, 4);
        put_le(&b, e[i].size, 4);
        put_le(&b, e[i].size, 4);
        put_le(&b, nlen, 2);
        put_le(&b, 0, 2);
        put(&b, e[i].name, nlen);
        put(&b, e[i].data, e[i].size);

        put_le(&cd, 0x02014b50, 4);
        put_le(&cd, 45, 2);
        put_le(&cd, 45, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 4);
        put_le(&cd, crc, 4);
        put_le(&cd, zip64 ? 0xffffffffu : e[i].size, 4);
        put_le(&cd, zip64 ? 0xffffffffu : e[i].size, 4);
        put_le(&cd, nlen, 2);
        put_le(&cd, zip64 ? 28 : 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 4);
        put_le(&cd, zip64 ? 0xffffffffu : offset, 4);
        put(&cd, e[i].name, nlen);
        if (zip64) {
            put_le(&cd, 1, 2);
            put_le(&cd, 24, 2);
            put_le(&cd, e[i].size, 8);
            put_le(&cd, e[i].size, 8);
            put_le(&cd, offset, 8);
        }
    }
    size_t cd_offset = b.n;
    put(&b, cd.d, cd.n);
    if (zip64) {
        size_t z = b.n;
        put_le(&b, 0x06064b50, 4);
        put_le(&b, 44, 8);
        put_le(&b, 45, 2);
        put_le(&b, 45, 2);
        put_le(&b, 0, 4);
        put_le(&b, 0, 4);
        put_le(&b, (uint64_t)n, 8);
        put_le(&b, (uint64_t)n, 8);
        put_le(&b, cd.n, 8);
        put_le(&b, cd_offset, 8);
        put_le(&b, 0x07064b50, 4);
        put_le(&b, 0, 4);
        put_le(&b, z, 8);
        put_le(&b, 1, 4);
    }
    put_le(&b, 0x06054b50, 4);
    put_le(&b, 0, 2);
    put_le(&b, 0, 2);
    put_le(&b, zip64 ? 0xffff : (uint64_t)n, 2);
    put_le(&b, zip64 ? 0xffff : (uint64_t)n, 2);
    put_le(&b, zip64 ? 0xffffffffu : cd.n, 4);
    put_le(&b, zip64 ? 0xffffffffu : cd_offset, 4);
    put_le(&b, 0, 2);
    free(cd.d);
    return b;
}

/* The values 0.5 * i, i = 0..11, as storage '0'. */
static float storage_values[12];

static bytes zip_with(const spec *specs, int n, bool zip64, bool with_data)
{
    for (int i = 0; i < 12; i++)
        storage_values[i] = 0.5f * (float)i;
    bytes pkl = state_dict_pickle(specs, n, false);
    entry e[3] = {{"archive/data.pkl", pkl.d, pkl.n},
                  {"archive/version", "3\n", 2},
                  {"archive/data/0", storage_values, sizeof storage_values}};
    bytes z = make_zip(e, with_data ? 3 : 2, zip64);
    free(pkl.d);
    return z;
}

static bytes zip_of_pickle(const bytes *pkl)
{
    entry e[1] = {{"archive/data.pkl", pkl->d, pkl->n}};
    return make_zip(e, 1, false);
}

/* 'w' (3, 4) contiguous over storage '0' of 12 floats. */
static const spec good_spec = {"w", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1}};

/* A legacy file with the given tensors over storage '0' (12 floats); the
 * file's element count is `file_numel`. */
static bytes legacy_with(const spec *specs, int n, int64_t file_numel)
{
    static const uint8_t magic[15] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                      0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    bytes b = {0};
    put(&b, magic, sizeof magic);
    put(&b, "\x80\x02M\xe9\x03.", 6);
    put(&b, "\x80\x02}", 3);
    put_str(&b, "little_endian");
    put(&b, "\x88s.", 3);
    bytes pkl = state_dict_pickle(specs, n, true);
    put(&b, pkl.d, pkl.n);
    free(pkl.d);
    put(&b, "\x80\x02](", 4);
    put_str(&b, "0");
    put(&b, "e.", 2);
    put_le(&b, (uint64_t)file_numel, 8);
    for (int i = 0; i < 12; i++)
        storage_values[i] = 0.5f * (float)i;
    put(&b, storage_values, sizeof storage_values);
    return b;
}

/* ------------------------------------------------------------ fixtures */

static void test_small_formats(void **state)
{
    (void)state;
    char want[2400];
    snprintf(want, sizeof want, "%s", tu_fixture("CZ_PTH_FIXTURES", "small.safetensors"));
    const char *files[] = {"small.pth", "small_legacy.pth", "small_p4.pth", "small_deflate.pth"};
    const char *formats[] = {"zip", "legacy", "zip", "zip"};
    for (int i = 0; i < 4; i++) {
        expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", files[i]), want);
        cz_pth_file *f;
        assert_int_equal(cz_pth_open(&f, tu_fixture("CZ_PTH_FIXTURES", files[i])), CZ_OK);
        assert_string_equal(cz_pth_format(f), formats[i]);
        assert_null(cz_pth_dict_key(f));
        assert_false(cz_pth_prefix_stripped(f));
        /* state_dict order is kept. */
        assert_string_equal(cz_pth_at(f, 0)->name, "0.weight");
        const cz_pth_tensor *n = cz_pth_find(f, "1.num_batches_tracked");
        assert_non_null(n);
        assert_int_equal(n->dtype, CZ_ST_I64);
        assert_int_equal(n->ndim, 0);
        int64_t count = 0;
        assert_int_equal(cz_pth_to_i64(f, n, &count), CZ_OK);
        assert_int_equal(count, 7);
        assert_null(cz_pth_find(f, "nope"));
        cz_pth_close(f);
    }
    expect_same_pth(tu_fixture("CZ_PTH_FIXTURES", "small.pth"), tu_fixture("CZ_PTH_FIXTURES", "small_legacy.pth"));
}

/* resnet18_keys.txt: "name d0,d1,..." per tensor in state_dict order. */
static void test_resnet18(void **state)
{
    (void)state;
    char path[2400];
    snprintf(path, sizeof path, "%s", tu_fixture("CZ_PTH_FIXTURES", "resnet18.pth"));
    cz_pth_file *f;
    assert_int_equal(cz_pth_open(&f, path), CZ_OK);
    FILE *keys = fopen(tu_fixture("CZ_PTH_FIXTURES", "resnet18_keys.txt"), "r");
    assert_non_null(keys);
    char line[512];
    int i = 0;
    while (fgets(line, sizeof line, keys)) {
        char name[256], dims[128] = "";
        assert_true(sscanf(line, "%255s %127s", name, dims) >= 1);
        const cz_pth_tensor *t = cz_pth_at(f, i++);
        assert_non_null(t);
        assert_string_equal(t->name, name);
        char got[128] = "";
        size_t used = 0;
        for (int d = 0; d < t->ndim; d++)
            used += (size_t)snprintf(got + used, sizeof got - used, "%s%lld", d ? "," : "",
                                     (long long)t->shape[d]);
        assert_string_equal(got, dims);
        assert_true(t->contiguous);
    }
    fclose(keys);
    assert_int_equal(i, 122);
    assert_int_equal(cz_pth_count(f), 122);
    cz_pth_close(f);

    /* A few values, through the partial safetensors copy. */
    cz_st_file *s;
    assert_int_equal(cz_st_open(&s, tu_fixture("CZ_PTH_FIXTURES", "resnet18.safetensors")), CZ_OK);
    assert_int_equal(cz_pth_open(&f, path), CZ_OK);
    for (int k = 0; k < cz_st_count(s); k++) {
        const cz_st_tensor *w = cz_st_at(s, k);
        const cz_pth_tensor *t = cz_pth_find(f, w->name);
        assert_non_null(t);
        if (w->dtype == CZ_ST_I64)
            continue;
        float *got = malloc(w->numel * 4), *exp = malloc(w->numel * 4);
        assert_int_equal(cz_pth_to_f32(f, t, got), CZ_OK);
        assert_int_equal(cz_st_to_f32(s, w, exp), CZ_OK);
        assert_memory_equal(got, exp, w->numel * 4);
        free(got);
        free(exp);
    }
    cz_pth_close(f);
    cz_st_close(s);
    expect_same_pth(path, tu_fixture("CZ_PTH_FIXTURES", "resnet18_legacy.pth"));
}

static void test_checkpoints(void **state)
{
    (void)state;
    char want[2400];
    snprintf(want, sizeof want, "%s", tu_fixture("CZ_PTH_FIXTURES", "checkpoint.safetensors"));
    const char *files[] = {"checkpoint.pth", "checkpoint_legacy.pth", "checkpoint_model.pth",
                           "module.pth"};
    const char *keys[] = {"state_dict", "state_dict", "model", NULL};
    for (int i = 0; i < 4; i++) {
        expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", files[i]), want);
        cz_pth_file *f;
        assert_int_equal(cz_pth_open(&f, tu_fixture("CZ_PTH_FIXTURES", files[i])), CZ_OK);
        if (keys[i])
            assert_string_equal(cz_pth_dict_key(f), keys[i]);
        else
            assert_null(cz_pth_dict_key(f));
        assert_int_equal(cz_pth_prefix_stripped(f), i == 3);
        assert_non_null(cz_pth_find(f, "4.bias"));
        cz_pth_close(f);
    }
}

static void test_views(void **state)
{
    (void)state;
    expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", "views.pth"), tu_fixture("CZ_PTH_FIXTURES", "views.safetensors"));
    expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", "views_legacy.pth"), tu_fixture("CZ_PTH_FIXTURES", "views.safetensors"));
    cz_pth_file *f;
    assert_int_equal(cz_pth_open(&f, tu_fixture("CZ_PTH_FIXTURES", "views.pth")), CZ_OK);
    const cz_pth_tensor *base = cz_pth_find(f, "base"), *t = cz_pth_find(f, "t"),
                        *slice = cz_pth_find(f, "slice"), *scalar = cz_pth_find(f, "scalar"),
                        *expand = cz_pth_find(f, "expand"), *empty = cz_pth_find(f, "empty");
    assert_true(base && t && slice && scalar && expand && empty);
    /* One storage, several views of it. */
    assert_string_equal(t->storage, base->storage);
    assert_ptr_equal(t->storage_data, base->storage_data);
    assert_false(t->contiguous);
    assert_int_equal(t->stride[0], 1);
    assert_int_equal(t->stride[1], 6);
    assert_int_equal(slice->storage_offset, 8);
    assert_int_equal(scalar->ndim, 0);
    assert_int_equal(scalar->storage_offset, 15);
    assert_int_equal(expand->stride[0], 0);
    assert_int_equal(empty->numel, 0);
    float v;
    assert_int_equal(cz_pth_to_f32(f, scalar, &v), CZ_OK);
    assert_true(v == 15.0f);
    cz_pth_close(f);
}

static void test_dtypes(void **state)
{
    (void)state;
    expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", "dtypes.pth"), tu_fixture("CZ_PTH_FIXTURES", "dtypes.safetensors"));
    expect_same_as_st(tu_fixture("CZ_PTH_FIXTURES", "dtypes_legacy.pth"), tu_fixture("CZ_PTH_FIXTURES", "dtypes.safetensors"));
    cz_pth_file *f;
    assert_int_equal(cz_pth_open(&f, tu_fixture("CZ_PTH_FIXTURES", "dtypes.pth")), CZ_OK);
    static const struct {
        const char *name;
        cz_st_dtype dtype;
    } want[] = {{"f16", CZ_ST_F16}, {"bf16", CZ_ST_BF16}, {"f64", CZ_ST_F64},
                {"i32", CZ_ST_I32}, {"i16", CZ_ST_I16},   {"i8", CZ_ST_I8},
                {"u8", CZ_ST_U8},   {"bool", CZ_ST_BOOL}, {"i64", CZ_ST_I64}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(cz_pth_find(f, want[i].name)->dtype, want[i].dtype);
    /* Integers convert to int64 exactly; random halves are not whole. */
    int64_t ints[4];
    assert_int_equal(cz_pth_to_i64(f, cz_pth_find(f, "i32"), ints), CZ_OK);
    assert_int_equal(ints[1], 1 << 20);
    assert_int_equal(cz_pth_to_i64(f, cz_pth_find(f, "bool"), ints), CZ_OK);
    assert_int_equal(ints[0] + ints[1] + ints[2], 2);
    int64_t halves[12];
    tu_expect_error(cz_pth_to_i64(f, cz_pth_find(f, "f16"), halves), CZ_ERR_FORMAT, "'f16'",
                 "not a whole number");
    cz_pth_close(f);
}

static void test_malicious_refused(void **state)
{
    (void)state;
    const char *files[] = {"malicious.pth", "malicious_legacy.pth", "malicious_p4.pth"};
    const char *globals[] = {"'os.system'", "'os.system'", "'posix.system'"};
    for (int i = 0; i < 3; i++) {
        cz_pth_file *f = NULL;
        tu_expect_error(cz_pth_open(&f, tu_fixture("CZ_PTH_FIXTURES", files[i])), CZ_ERR_FORMAT, globals[i],
                     "refusing to load");
        assert_null(f);
        assert_non_null(strstr(cz_last_error(), files[i]));
    }
}

/* ------------------------------------------------------------ loading into a net */

/* torchvision-style nn.Sequential(conv, bn, relu, flatten, linear) on 3x4x4,
 * as the 'small' fixture; fc_out != 5 makes a shape mismatch. */
static cz_net *small_net(int fc_out, bool extra)
{
    cz_net *net = cz_net_create(3, 4, 4, 1);
    int x = cz_conv2d(net, CZ_INPUT, "0", (cz_conv_args){.out_channels = 4, .kernel = 3,
                                                          .bias = true});
    x = cz_batchnorm(net, x, "1", 1e-5f, 0.1f);
    x = cz_relu(net, x, NULL);
    x = cz_flatten(net, x, NULL);
    x = cz_linear(net, x, "4", fc_out, true);
    if (extra)
        cz_linear(net, x, "5", 2, true);
    if (cz_net_status(net) != CZ_OK)
        fail_msg("building the net: %s", cz_last_error());
    return net;
}

static void assert_net_matches(cz_net *net, const char *st_path)
{
    cz_st_file *s;
    assert_int_equal(cz_st_open(&s, st_path), CZ_OK);
    for (int i = 0; i < cz_net_param_count(net); i++) {
        cz_param *p = cz_net_param(net, i);
        const cz_st_tensor *w = cz_st_find(s, p->name);
        assert_non_null(w);
        if (p->dtype == CZ_I64) {
            int64_t v;
            assert_int_equal(cz_st_to_i64(s, w, &v), CZ_OK);
            assert_int_equal(p->count, v);
            continue;
        }
        float *exp = malloc(w->numel * 4);
        assert_int_equal(cz_st_to_f32(s, w, exp), CZ_OK);
        assert_memory_equal(p->value.data, exp, w->numel * 4);
        free(exp);
    }
    cz_st_close(s);
}

static void test_load_into_net(void **state)
{
    (void)state;
    char want[2400];
    snprintf(want, sizeof want, "%s", tu_fixture("CZ_PTH_FIXTURES", "small.safetensors"));
    const char *files[] = {"small.pth", "small_legacy.pth", "small.safetensors"};
    for (int i = 0; i < 3; i++) {
        cz_net *net = small_net(5, false);
        if (i < 2)
            assert_int_equal(cz_pth_load(net, tu_fixture("CZ_PTH_FIXTURES", files[i]), true), CZ_OK);
        assert_int_equal(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", files[i]), true), CZ_OK);
        assert_net_matches(net, want);
        cz_net_free(net);
    }
    /* A checkpoint's state_dict, and DataParallel keys. */
    cz_net *net = small_net(5, false);
    assert_int_equal(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "module.pth"), true), CZ_OK);
    assert_net_matches(net, tu_fixture("CZ_PTH_FIXTURES", "checkpoint.safetensors"));
    assert_int_equal(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "checkpoint_legacy.pth"), true), CZ_OK);
    cz_net_free(net);

    /* Mismatches are reported as load_state_dict does, and change nothing. */
    net = small_net(6, true);
    float before = cz_net_find_param(net, "0.weight")->value.data[0];
    tu_expect_error(cz_pth_load(net, tu_fixture("CZ_PTH_FIXTURES", "small.pth"), true), CZ_ERR_FORMAT,
                 "Missing key(s): 5.weight, 5.bias.",
                 "size mismatch for 4.weight: file has [5, 16], model has [6, 16]");
    assert_true(cz_net_find_param(net, "0.weight")->value.data[0] == before);
    cz_net_free(net);
    net = small_net(5, true);
    tu_expect_error(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "small_legacy.pth"), true), CZ_ERR_FORMAT,
                 "small_legacy.pth: Missing key(s): 5.weight, 5.bias", NULL);
    assert_int_equal(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "small_legacy.pth"), false), CZ_OK);
    cz_net_free(net);

    /* Other files are named for what they are. */
    net = small_net(5, false);
    tu_expect_error(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "f32_4d.npy"), true), CZ_ERR_FORMAT, ".npy", NULL);
    tu_expect_error(cz_weights_load(net, tu_fixture("CZ_PTH_FIXTURES", "malicious.pth"), true), CZ_ERR_FORMAT,
                 "'os.system'", NULL);
    const char *junk = tu_tmp_path("junk.bin");
    tu_write_bytes(junk, "hello world, not weights", 24);
    tu_expect_error(cz_weights_load(net, junk, true), CZ_ERR_FORMAT, "junk.bin", NULL);
    tu_expect_error(cz_weights_load(net, tu_tmp_path("absent.pth"), true), CZ_ERR_IO, "absent.pth",
                 NULL);
    cz_net_free(net);
}

/* ------------------------------------------------------------ hand-built files */

static void test_built_zip_and_zip64(void **state)
{
    (void)state;
    spec specs[2] = {good_spec, {"t", "FloatStorage", "0", 12, 1, 2, {4, 2}, {1, 4}}};
    for (int zip64 = 0; zip64 < 2; zip64++) {
        bytes z = zip_with(specs, 2, zip64, true);
        cz_pth_file *f;
        assert_int_equal(cz_pth_open_memory(&f, "built.pth", z.d, z.n), CZ_OK);
        assert_int_equal(cz_pth_count(f), 2);
        float w[12], t[8];
        assert_int_equal(cz_pth_to_f32(f, cz_pth_find(f, "w"), w), CZ_OK);
        assert_memory_equal(w, storage_values, sizeof w);
        /* t = a transposed (2, 4) view starting at element 1: t[i][j] = s[1 + i + 4 j]. */
        assert_int_equal(cz_pth_to_f32(f, cz_pth_find(f, "t"), t), CZ_OK);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++)
                assert_true(t[i * 2 + j] == storage_values[1 + i + 4 * j]);
        cz_pth_close(f);
        /* The same from a file. */
        const char *path = tu_tmp_path("built.pth");
        tu_write_bytes(path, z.d, z.n);
        assert_int_equal(cz_pth_open(&f, path), CZ_OK);
        cz_pth_close(f);
        free(z.d);
    }
    bytes l = legacy_with(specs, 2, 12);
    cz_pth_file *f;
    assert_int_equal(cz_pth_open_memory(&f, "built_legacy.pth", l.d, l.n), CZ_OK);
    assert_string_equal(cz_pth_format(f), "legacy");
    cz_pth_close(f);
    free(l.d);
}

static void test_truncated(void **state)
{
    (void)state;
    /* Every prefix of a zip and of a legacy file: an error, never a crash. */
    bytes z = zip_with(&good_spec, 1, false, true);
    for (size_t cut = 0; cut < z.n; cut++) {
        cz_pth_file *f = NULL;
        cz_status st = open_bytes(&f, z.d, cut);
        if (st == CZ_OK)
            fail_msg("a zip cut to %zu of %zu bytes opened", cut, z.n);
        assert_non_null(strstr(cz_last_error(), "bad.pth"));
    }
    free(z.d);
    bytes l = legacy_with(&good_spec, 1, 12);
    for (size_t cut = 0; cut < l.n; cut++) {
        cz_pth_file *f = NULL;
        if (open_bytes(&f, l.d, cut) == CZ_OK)
            fail_msg("a legacy file cut to %zu of %zu bytes opened", cut, l.n);
    }
    expect_bad(l.d, l.n - 1, "legacy storage '0' needs 48 bytes", "truncated");
    expect_bad(l.d, l.n - 48, "legacy storage '0' needs 48 bytes", "only 0 left");
    free(l.d);

    /* Cuts of a real torch file give the messages a user would see. */
    if (!getenv("CZ_PTH_FIXTURES"))
        return;
    size_t size;
    uint8_t *real = slurp(tu_fixture("CZ_PTH_FIXTURES", "small.pth"), &size);
    expect_bad(real, 10, "end-of-central-directory record", "truncated");
    expect_bad(real, size / 2, "no zip end-of-central-directory record", NULL);
    expect_bad(real, size - 1, "no zip end-of-central-directory record", NULL);
    expect_bad(real, 3, "too short", NULL);
    free(real);
    real = slurp(tu_fixture("CZ_PTH_FIXTURES", "small_legacy.pth"), &size);
    for (size_t cut = 0; cut < size; cut += 7) {
        cz_pth_file *f = NULL;
        assert_int_not_equal(open_bytes(&f, real, cut), CZ_OK);
    }
    free(real);
}

/* Corrupting any single byte of a file may or may not be detected (a
 * float's bits are not checked), but must never crash. */
static void test_corrupt_bytes(void **state)
{
    (void)state;
    spec specs[2] = {good_spec, {"t", "FloatStorage", "0", 12, 1, 2, {4, 2}, {1, 4}}};
    bytes files[3] = {zip_with(specs, 2, false, true), zip_with(specs, 2, true, true),
                      legacy_with(specs, 2, 12)};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < files[k].n; i++)
            for (int flip = 0; flip < 3; flip++) {
                static const uint8_t masks[3] = {0xff, 0x01, 0x80};
                files[k].d[i] ^= masks[flip];
                cz_pth_file *f = NULL;
                cz_status st = open_bytes(&f, files[k].d, files[k].n);
                if (st != CZ_OK && strchr(cz_last_error(), '\n'))
                    fail_msg("multi-line message: %s", cz_last_error());
                files[k].d[i] ^= masks[flip];
            }
        free(files[k].d);
    }
}

static void test_bad_zips(void **state)
{
    (void)state;
    bytes z = zip_with(&good_spec, 1, false, true);
    size_t eocd = z.n - 22;

    /* Central directory offset past the end. */
    uint8_t *b = malloc(z.n);
    memcpy(b, z.d, z.n);
    b[eocd + 16] = 0xf0;
    b[eocd + 17] = 0xff;
    expect_bad(b, z.n, "central directory at offset", "extends past");

    /* An entry claiming a huge size: find archive/data/0 in the directory. */
    memcpy(b, z.d, z.n);
    size_t cd = (size_t)b[eocd + 16] | (size_t)b[eocd + 17] << 8;
    size_t p = cd;
    while (memcmp(b + p + 46, "archive/data/0", 14) != 0)
        p += 46 + (b[p + 28] | b[p + 29] << 8);
    memset(b + p + 20, 0xff, 3); /* sizes 0x00ffffff */
    memset(b + p + 24, 0xff, 3);
    expect_bad(b, z.n, "'archive/data/0' claims 16777215 bytes", "past the end");
    /* Saturated sizes without a ZIP64 field. */
    memset(b + p + 20, 0xff, 8);
    expect_bad(b, z.n, "no ZIP64 extra field", NULL);
    /* An unsupported compression method. */
    memcpy(b, z.d, z.n);
    b[p + 10] = 12;
    expect_bad(b, z.n, "compression method 12", NULL);
    /* Encrypted. */
    memcpy(b, z.d, z.n);
    b[p + 8] = 1;
    expect_bad(b, z.n, "encrypted", NULL);
    /* A local header offset pointing elsewhere. */
    memcpy(b, z.d, z.n);
    memcpy(b + p + 42, "\x01\x00\x00\x00", 4);
    expect_bad(b, z.n, "no local header at offset 1", NULL);
    /* Corrupt data: CRC mismatch. */
    memcpy(b, z.d, z.n);
    b[cd - 1] ^= 0x40;
    expect_bad(b, z.n, "'archive/data/0': CRC-32", "corrupt");
    /* More entries than the directory can hold. */
    memcpy(b, z.d, z.n);
    b[eocd + 10] = 200;
    expect_bad(b, z.n, "claims 200 entries", NULL);
    /* ZIP64 sizes promised but no ZIP64 records. */
    memcpy(b, z.d, z.n);
    memset(b + eocd + 12, 0xff, 4);
    expect_bad(b, z.n, "needs ZIP64 records", NULL);
    free(b);
    free(z.d);

    /* No data/ entry for a persistent id. */
    z = zip_with(&good_spec, 1, false, false);
    expect_bad(z.d, z.n, "no entry 'archive/data/0'", "storage '0'");
    free(z.d);

    /* No data.pkl; an entry outside any folder; duplicate entries. */
    entry e[2] = {{"archive/other", "x", 1}, {"archive/other", "y", 1}};
    z = make_zip(e, 1, false);
    expect_bad(z.d, z.n, "has no 'archive/data.pkl'", NULL);
    free(z.d);
    z = make_zip(e, 2, false);
    expect_bad(z.d, z.n, "'archive/other' appears twice", NULL);
    free(z.d);
    e[0].name = "data.pkl";
    z = make_zip(e, 1, false);
    expect_bad(z.d, z.n, "not inside a folder", NULL);
    free(z.d);
    /* Control characters in names never reach a message. */
    e[0].name = "archive/da\nta.pkl";
    z = make_zip(e, 1, false);
    expect_bad(z.d, z.n, "zip entry 0 has a NUL or control character in its name", NULL);
    free(z.d);
    /* A storage entry smaller than its persistent id says. */
    float few[2] = {0};
    bytes pkl = state_dict_pickle(&good_spec, 1, false);
    entry small[2] = {{"archive/data.pkl", pkl.d, pkl.n}, {"archive/data/0", few, sizeof few}};
    z = make_zip(small, 2, false);
    expect_bad(z.d, z.n, "holds 8 bytes, but FloatStorage '0' of 12 elements needs 48", NULL);
    free(z.d);
    free(pkl.d);
    expect_bad("GIF89a....", 10, "not a torch.save file", "47 49 46 38");
}

static void expect_bad_pickle(const bytes *pkl, const char *part1, const char *part2)
{
    bytes z = zip_of_pickle(pkl);
    expect_bad(z.d, z.n, part1, part2);
    free(z.d);
}

static void expect_bad_raw(const char *pkl, size_t n, const char *part1, const char *part2)
{
    bytes b = {0};
    put(&b, pkl, n);
    expect_bad_pickle(&b, part1, part2);
    free(b.d);
}

static void test_bad_pickles(void **state)
{
    (void)state;
#define RAW(s, p1, p2) expect_bad_raw(s, sizeof(s) - 1, p1, p2)
    RAW("\x80\x02\xff.", "unknown pickle opcode 0xff at byte 2", NULL);
    RAW("\x80\x02]a.", "APPEND at byte 3: stack underflow", NULL);
    RAW("\x80\x02](a.", "APPEND at byte 4: stack underflow", "above the last MARK");
    RAW("\x80\x02h\x05.", "BINGET at byte 2: memo key 5 was never stored", NULL);
    RAW("\x80\x02}r\xff\xff\xff\xff.", "memo key 4294967295 exceeds the limit", NULL);
    RAW("\x80\x02.", "STOP at byte 2: stack underflow", NULL);
    RAW("\x80\x02}", "without STOP", NULL);
    RAW("\x80\x02X\x64\x00\x00\x00" "abc", "declares 100 bytes", NULL);
    RAW("\x80\x02J\x01\x02", "BININT at byte 2: needs 4 more bytes", NULL);
    RAW("\x80\x02t.", "TUPLE at byte 2: no MARK", NULL);
    RAW("\x80\x06}.", "protocol 6", NULL);
    RAW("\x80\x02}(X\x01\x00\x00\x00" "au.", "odd number of items", NULL);
    RAW("\x80\x02)Ja\x00\x00\x00" "a.", "APPEND at byte 8: target is a tuple, expected a list",
        NULL);
    RAW("\x80\x02}N\x81.", "NEWOBJ", "not supported");
    RAW("\x80\x02(I1\n.", "INT", "not supported");
    RAW("\x80\x02" "cos\nsystem\n.", "'os.system'", "refusing to load");
    RAW("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x02" "os\x8c\x05" "popen\x93.",
        "'os.popen'", NULL);
    RAW("\x80\x02" "ctorch\nFloatStorage\n)R.", "only names a storage type", NULL);
    RAW("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict called with 1 arguments",
        NULL);
    RAW("\x80\x02]Q.", "persistent id is a list", NULL);
    RAW("\x80\x02]K\x01R.", "REDUCE at byte 5: calls a list", NULL);
    RAW("\x80\x02].", "holds a list, expected a dict", NULL);
    RAW("\x80\x02}X\x05\x00\x00\x00" "epochK\x03s.", "keys 'epoch'", "is not a state_dict");
    RAW("\x80\x02}X\x0a\x00\x00\x00" "state_dict}X\x01\x00\x00\x00" "aK\x03ss.",
        "state_dict['a'] is an int, expected a tensor", NULL);

    /* Deep MARK nesting hits its limit, not the C stack. */
    bytes deep = {0};
    put(&deep, "\x80\x02", 2);
    for (int i = 0; i < 70000; i++)
        put_u8(&deep, '(');
    put_u8(&deep, '.');
    expect_bad_pickle(&deep, "nested MARKs", NULL);
    free(deep.d);
#undef RAW
}

static void test_bad_tensors(void **state)
{
    (void)state;
    static const struct {
        spec s;
        const char *part1, *part2;
    } cases[] = {
        {{"w", "FloatStorage", "0", 12, 1, 2, {3, 4}, {4, 1}},
         "tensor 'w': size [3, 4], stride [4, 1] at offset 1 reaches element 12",
         "storage '0' has 12 elements"},
        {{"w", "FloatStorage", "0", 12, 0, 2, {2, 3}, {-1, 1}}, "tensor 'w'", "negative stride"},
        {{"w", "FloatStorage", "0", 12, 0, 1, {-2}, {1}}, "tensor 'w'", "negative size"},
        {{"w", "FloatStorage", "0", 12, -1, 1, {2}, {1}}, "tensor 'w': storage offset -1", NULL},
        {{"w", "FloatStorage", "0", 12, 0, 2, {5, 2}, {(int64_t)1 << 62, 1}}, "tensor 'w'",
         "reaches element beyond"},
        {{"w", "FloatStorage", "0", -3, 0, 1, {2}, {1}},
         "storage '0' claims -3 elements of FloatStorage, expected 0 to 1152921504606846976",
         NULL},
        {{"w", "FloatStorage", "0", 12, 0, 3, {(int64_t)1 << 30, (int64_t)1 << 30, 2}, {0, 0, 0}},
         "tensor 'w': size [1073741824, 1073741824, 2] has more than 2^60 elements", NULL},
        {{"w", "FloatStorage", "0", 13, 0, 1, {2}, {1}}, "holds 48 bytes", "needs 52"},
        {{"w", "NoSuchStorage", "0", 12, 0, 1, {2}, {1}}, "'torch.NoSuchStorage'", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes z = zip_with(&cases[i].s, 1, false, true);
        expect_bad(z.d, z.n, cases[i].part1, cases[i].part2);
        free(z.d);
    }
    /* Zero strides (expand) and size-1 dims with any stride are fine;
     * an empty tensor reads nothing, whatever its offset. */
    spec fine[3] = {{"a", "FloatStorage", "0", 12, 11, 2, {3, 5}, {0, 0}},
                    {"b", "FloatStorage", "0", 12, 2, 2, {1, 3}, {1000, 1}},
                    {"c", "FloatStorage", "0", 12, 99, 2, {0, 3}, {3, 1}}};
    bytes z = zip_with(fine, 3, false, true);
    cz_pth_file *f;
    assert_int_equal(cz_pth_open_memory(&f, "fine.pth", z.d, z.n), CZ_OK);
    float a[15], b[3];
    assert_int_equal(cz_pth_to_f32(f, cz_pth_find(f, "a"), a), CZ_OK);
    for (int i = 0; i < 15; i++)
        assert_true(a[i] == storage_values[11]);
    assert_true(cz_pth_find(f, "b")->contiguous);
    assert_int_equal(cz_pth_to_f32(f, cz_pth_find(f, "b"), b), CZ_OK);
    assert_true(b[0] == storage_values[2] && b[2] == storage_values[4]);
    assert_int_equal(cz_pth_find(f, "c")->numel, 0);
    cz_pth_close(f);
    free(z.d);

    /* A key with a control character; a storage key with one. */
    spec odd = good_spec;
    odd.name = "w\r";
    z = zip_with(&odd, 1, false, true);
    expect_bad(z.d, z.n, "state_dict key #0 is not a plain name", NULL);
    free(z.d);
    odd = good_spec;
    odd.key = "0\n";
    z = zip_with(&odd, 1, false, true);
    expect_bad(z.d, z.n, "storage key of 2 bytes is not a plain name", NULL);
    free(z.d);

    /* The same key twice; one storage key with two types. */
    spec twice[2] = {good_spec, good_spec};
    z = zip_with(twice, 2, false, true);
    expect_bad(z.d, z.n, "tensor 'w' appears twice", NULL);
    free(z.d);
    twice[1].name = "v";
    twice[1].storage_type = "LongStorage";
    z = zip_with(twice, 2, false, true);
    expect_bad(z.d, z.n, "storage '0' appears as FloatStorage of 12 elements and as LongStorage",
               NULL);
    free(z.d);
}

/* The allocation ceiling: a tensor counts as it materialises (float, or
 * int64 for integer storages), however small its storage; an inflated
 * zip entry counts its inflated size. */
static void test_alloc_ceiling(void **state)
{
    (void)state;
    /* 2^40 floats seen through zero strides of a 12-float storage. */
    spec expand = {"w", "FloatStorage", "0", 12, 0, 2, {1 << 20, 1 << 20}, {0, 0}};
    bytes z = zip_with(&expand, 1, false, true);
    cz_pth_file *f = NULL;
    tu_expect_error(open_bytes(&f, z.d, z.n), CZ_ERR_NOMEM,
                    "bad.pth: tensor 'w' (size [1048576, 1048576], F32) needs 4398046511104 "
                    "bytes (4 TiB), over the 17179869184-byte (16 GiB) limit on one allocation",
                    "CNNZOO_MAX_ALLOC");
    free(z.d);
    /* The good tensor is 12 floats: 48 bytes pass at 48, fail at 47. */
    z = zip_with(&good_spec, 1, false, true);
    cz_set_max_alloc(47);
    tu_expect_error(open_bytes(&f, z.d, z.n), CZ_ERR_NOMEM,
                    "tensor 'w' (size [3, 4], F32) needs 48 bytes, over the 47-byte limit", NULL);
    cz_set_max_alloc(48);
    assert_int_equal(open_bytes(&f, z.d, z.n), CZ_OK); /* opens, converts, closes */
    free(z.d);
    /* torch.save's deflated file: its data.pkl inflates past 64 bytes. */
    cz_set_max_alloc(64);
    const char *deflated = tu_fixture("CZ_PTH_FIXTURES", "small_deflate.pth");
    tu_expect_error(cz_pth_open(&f, deflated), CZ_ERR_NOMEM, "(inflated) needs",
                    "over the 64-byte limit on one allocation");
    assert_non_null(strstr(cz_last_error(), "small_deflate.pth: zip entry '"));
    cz_set_max_alloc(0);
    assert_int_equal(cz_pth_open(&f, deflated), CZ_OK);
    cz_pth_close(f);
}

static void test_bad_legacy(void **state)
{
    (void)state;
    bytes l = legacy_with(&good_spec, 1, 11);
    expect_bad(l.d, l.n, "legacy storage '0' has 11 elements in the file", "says 12");
    free(l.d);
    /* Big-endian sys_info. */
    l = legacy_with(&good_spec, 1, 12);
    uint8_t *flag = find_bytes(l.d, l.n, "little_endian\x88", 14);
    assert_non_null(flag);
    flag[13] = 0x89;
    expect_bad(l.d, l.n, "big-endian", NULL);
    flag[13] = 0x88;
    /* Wrong magic after the legacy start bytes. */
    l.d[5] ^= 1;
    expect_bad(l.d, l.n, "lacks its magic number", NULL);
    l.d[5] ^= 1;
    /* A key list naming an unknown storage. */
    uint8_t *key = find_bytes(l.d, l.n, "](X\x01\x00\x00\x00" "0", 8);
    assert_non_null(key);
    key[7] = '9';
    expect_bad(l.d, l.n, "storage key #0 (9) was never referenced", NULL);
    free(l.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_formats),
        cmocka_unit_test(test_resnet18),
        cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_malicious_refused),
        cmocka_unit_test(test_load_into_net),
        cmocka_unit_test(test_built_zip_and_zip64),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_bytes),
        cmocka_unit_test(test_bad_zips),
        cmocka_unit_test(test_bad_pickles),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_bad_legacy),
        cmocka_unit_test(test_alloc_ceiling),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
