/*
 * test_safetensors.c - the safetensors reader and writer: net round trips,
 * header layout, metadata, dtype conversion, load_state_dict-style strict
 * and non-strict messages, and a long list of malformed files, each of
 * which must give a one-line error naming the file, never a crash.
 *
 * The nets here use two small ops defined below (a linear and a batch norm
 * that only declare parameters), so the tests depend on the parameter
 * table alone, not on the real ops' kernels.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph/net.h"
#include "io/io.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("safetensors");
}

/* Writes [u64 header_len][header][data_size bytes of 0x55]; header_len is
 * strlen(header) unless `declared` overrides it. */
static void write_st(const char *path, const char *header, uint64_t declared, size_t data_size)
{
    size_t len = strlen(header);
    uint8_t *buf = malloc(8 + len + data_size + 1);
    assert_non_null(buf);
    uint64_t n = declared != UINT64_MAX ? declared : len;
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + 8, header, len);
    memset(buf + 8 + len, 0x55, data_size);
    tu_write_bytes(path, buf, 8 + len + data_size);
    free(buf);
}

/* A minimal linear and batch norm: infer declares torchvision's
 * parameters; nothing else is needed to exercise the table. */
static cz_status test_linear_infer(cz_net *net, cz_node *node)
{
    int in = (int)cz_node_numel(cz_node_in(net, node, 0));
    int out = node->attr.linear.out_features;
    int wshape[2] = {out, in};
    node->ndim = 1;
    node->shape[0] = out;
    if (cz_node_declare(net, node, "weight", CZ_PARAM_WEIGHT, 2, wshape) < 0)
        return CZ_ERR_ARG;
    if (node->attr.linear.bias && cz_node_declare(net, node, "bias", CZ_PARAM_WEIGHT, 1, &out) < 0)
        return CZ_ERR_ARG;
    return CZ_OK;
}

static cz_status test_bn_infer(cz_net *net, cz_node *node)
{
    const cz_node *in = cz_node_in(net, node, 0);
    int c = in->shape[0];
    node->ndim = in->ndim;
    memcpy(node->shape, in->shape, sizeof node->shape);
    if (cz_node_declare(net, node, "weight", CZ_PARAM_WEIGHT, 1, &c) < 0 ||
        cz_node_declare(net, node, "bias", CZ_PARAM_WEIGHT, 1, &c) < 0 ||
        cz_node_declare(net, node, "running_mean", CZ_PARAM_BUFFER, 1, &c) < 0 ||
        cz_node_declare(net, node, "running_var", CZ_PARAM_BUFFER, 1, &c) < 0 ||
        cz_node_declare_count(net, node, "num_batches_tracked") < 0)
        return CZ_ERR_ARG;
    return CZ_OK;
}

static const cz_op test_linear_op = {.name = "test_linear", .infer = test_linear_infer};
static const cz_op test_bn_op = {.name = "test_bn", .infer = test_bn_infer};

static int add_linear(cz_net *net, int x, const char *name, int out)
{
    cz_attrs a = {.linear = {.out_features = out, .bias = true}};
    return cz_net_add_node(net, &test_linear_op, name, &x, 1, &a);
}

static int add_bn(cz_net *net, int x, const char *name)
{
    return cz_net_add_node(net, &test_bn_op, name, &x, 1, NULL);
}

/* fc1 (6 -> 4), [bn1], fc2 (4 -> fc2_out) on a 1x2x3 input. */
static cz_net *make_net(bool with_bn, int fc2_out)
{
    cz_net *net = cz_net_create(1, 2, 3, 1);
    assert_non_null(net);
    int x = add_linear(net, CZ_INPUT, "fc1", 4);
    if (with_bn)
        x = add_bn(net, x, "bn1");
    add_linear(net, x, "fc2", fc2_out);
    assert_int_equal(cz_net_status(net), CZ_OK);
    return net;
}

/* Distinct, exactly representable values, different per `salt`. */
static void fill_net(cz_net *net, float salt)
{
    for (int i = 0; i < cz_net_param_count(net); i++) {
        cz_param *p = cz_net_param(net, i);
        if (p->dtype == CZ_I64) {
            p->count = 1000 + i + (int64_t)salt;
            continue;
        }
        size_t n = cz_tensor_numel(&p->value);
        for (size_t k = 0; k < n; k++)
            p->value.data[k] = salt + (float)i + 0.25f * (float)k;
    }
}

static void assert_nets_equal(cz_net *a, cz_net *b)
{
    assert_int_equal(cz_net_param_count(a), cz_net_param_count(b));
    for (int i = 0; i < cz_net_param_count(a); i++) {
        cz_param *p = cz_net_param(a, i), *q = cz_net_param(b, i);
        assert_string_equal(p->name, q->name);
        if (p->dtype == CZ_I64) {
            assert_int_equal(p->count, q->count);
            continue;
        }
        size_t n = cz_tensor_numel(&p->value);
        assert_int_equal(n, cz_tensor_numel(&q->value));
        assert_memory_equal(p->value.data, q->value.data, n * sizeof(float));
    }
}

/* Reads a whole file for byte-level checks. */
static uint8_t *slurp(const char *path, size_t *size)
{
    char *data;
    assert_int_equal(cz_read_file(path, 1 << 24, &data, size), CZ_OK);
    return (uint8_t *)data;
}

static uint64_t header_len(const uint8_t *bytes)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | bytes[i];
    return n;
}

/* ------------------------------------------------------------ round trips */

static void test_net_round_trip(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("net.safetensors");
    cz_net *a = make_net(true, 3), *b = make_net(true, 3);
    fill_net(a, 0.5f);
    fill_net(b, -7.0f);
    assert_int_equal(cz_safetensors_save(a, path, NULL, 0), CZ_OK);
    assert_int_equal(cz_safetensors_load(b, path, true), CZ_OK);
    assert_nets_equal(a, b);

    /* Entries in table order; num_batches_tracked an I64 scalar. */
    cz_st_file *f;
    assert_int_equal(cz_st_open(&f, path), CZ_OK);
    assert_int_equal(cz_st_count(f), cz_net_param_count(a));
    for (int i = 0; i < cz_st_count(f); i++) {
        const cz_st_tensor *t = cz_st_at(f, i);
        cz_param *p = cz_net_param(a, i);
        assert_string_equal(t->name, p->name);
        assert_ptr_equal(cz_st_find(f, p->name), t);
        if (p->dtype == CZ_I64) {
            assert_int_equal(t->dtype, CZ_ST_I64);
            assert_int_equal(t->ndim, 0);
            assert_int_equal(t->numel, 1);
        } else {
            assert_int_equal(t->dtype, CZ_ST_F32);
            assert_int_equal(t->ndim, p->value.ndim);
            for (int d = 0; d < t->ndim; d++)
                assert_int_equal(t->shape[d], p->value.shape[d]);
        }
    }
    assert_null(cz_st_find(f, "fc3.weight"));
    assert_null(cz_st_find(f, ""));
    assert_int_equal(cz_st_meta_count(f), 0);
    assert_null(cz_st_meta(f, "format"));
    cz_st_close(f);
    cz_net_free(a);
    cz_net_free(b);
}

/* Header length a multiple of 8, padded with spaces, for names of every
 * length modulo 8; and the file ends where the last tensor does. */
static void test_header_padding(void **state)
{
    (void)state;
    float values[3] = {1, 2, 3};
    char name[32] = "t";
    for (int extra = 0; extra < 9; extra++) {
        name[1 + extra] = 'x';
        name[2 + extra] = '\0';
        cz_st_tensor t = {.name = name, .dtype = CZ_ST_F32, .ndim = 1, .shape = {3}, .data = values};
        const char *path = tu_tmp_path("padding.safetensors");
        assert_int_equal(cz_st_write(path, &t, 1, NULL, 0), CZ_OK);
        size_t size;
        uint8_t *bytes = slurp(path, &size);
        uint64_t n = header_len(bytes);
        assert_int_equal(n % 8, 0);
        assert_int_equal(bytes[8], '{');
        assert_int_equal(size, 8 + n + sizeof values);
        assert_memory_equal(bytes + 8 + n, values, sizeof values);
        /* The JSON ends at the last '}', spaces after it. */
        size_t last = 8 + (size_t)n - 1;
        while (bytes[last] == ' ')
            last--;
        assert_int_equal(bytes[last], '}');
        assert_true(8 + n - 1 - last < 8);
        free(bytes);
    }
}

static void test_metadata_round_trip(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("meta.safetensors");
    const char *meta[] = {"format", "pt", "model", "lenet5", "quote\"d", "a \"tricky\"\\ value\n",
                          "unicode", "gr\xc3\xbc\xc3\x9f\x65", "empty", ""};
    cz_net *a = make_net(false, 3), *b = make_net(false, 3);
    fill_net(a, 2);
    assert_int_equal(cz_safetensors_save(a, path, meta, 5), CZ_OK);
    cz_st_file *f;
    assert_int_equal(cz_st_open(&f, path), CZ_OK);
    assert_int_equal(cz_st_meta_count(f), 5);
    for (int i = 0; i < 5; i++) {
        const char *key, *value;
        cz_st_meta_at(f, i, &key, &value);
        assert_string_equal(key, meta[2 * i]);
        assert_string_equal(value, meta[2 * i + 1]);
        assert_string_equal(cz_st_meta(f, meta[2 * i]), meta[2 * i + 1]);
    }
    assert_null(cz_st_meta(f, "absent"));
    cz_st_close(f);
    /* Metadata is not a tensor: a strict load is clean. */
    assert_int_equal(cz_safetensors_load(b, path, true), CZ_OK);
    assert_nets_equal(a, b);
    cz_net_free(a);
    cz_net_free(b);
}

/* Low-level write of several dtypes, read back and converted. */
static void test_dtypes_and_conversion(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("dtypes.safetensors");
    /* 1, -2, 65504 (max), 2^-24 (smallest subnormal), inf, 1/3 rounded */
    const uint16_t halves[6] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555};
    const uint16_t bf16[2] = {0x3f80, 0xc0a0}; /* 1, -5 */
    const double f64[2] = {0.1, -1e10};
    const int64_t i64[3] = {-5, 0, (int64_t)1 << 40};
    const int32_t i32[1] = {-7};
    const uint8_t u8[2] = {0, 255};
    const float scalar = 42.0f;
    const float empty_data = 0;
    cz_st_tensor t[] = {
        {.name = "half", .dtype = CZ_ST_F16, .ndim = 2, .shape = {2, 3}, .data = halves},
        {.name = "bf16", .dtype = CZ_ST_BF16, .ndim = 1, .shape = {2}, .data = bf16},
        {.name = "f64", .dtype = CZ_ST_F64, .ndim = 1, .shape = {2}, .data = f64},
        {.name = "i64", .dtype = CZ_ST_I64, .ndim = 1, .shape = {3}, .data = i64},
        {.name = "i32", .dtype = CZ_ST_I32, .ndim = 0, .data = i32},
        {.name = "u8", .dtype = CZ_ST_U8, .ndim = 1, .shape = {2}, .data = u8},
        {.name = "scalar", .dtype = CZ_ST_F32, .ndim = 0, .data = &scalar},
        {.name = "empty", .dtype = CZ_ST_F32, .ndim = 3, .shape = {4, 0, 5}, .data = &empty_data},
    };
    int n = (int)(sizeof t / sizeof t[0]);
    assert_int_equal(cz_st_write(path, t, n, NULL, 0), CZ_OK);

    cz_st_file *f;
    assert_int_equal(cz_st_open(&f, path), CZ_OK);
    assert_int_equal(cz_st_count(f), n);
    float out[8];
    const cz_st_tensor *h = cz_st_find(f, "half");
    assert_int_equal(h->numel, 6);
    assert_int_equal(h->size, 12);
    assert_int_equal(cz_st_to_f32(f, h, out), CZ_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 65504.0f);
    assert_true(out[3] == 0x1p-24f && isinf(out[4]) && out[4] > 0 && out[5] == 0x1.554p-2f);
    assert_int_equal(cz_st_to_f32(f, cz_st_find(f, "bf16"), out), CZ_OK);
    assert_true(out[0] == 1.0f && out[1] == -5.0f);
    assert_int_equal(cz_st_to_f32(f, cz_st_find(f, "f64"), out), CZ_OK);
    assert_true(out[0] == 0.1f && out[1] == -1e10f);
    assert_int_equal(cz_st_to_f32(f, cz_st_find(f, "u8"), out), CZ_OK);
    assert_true(out[0] == 0.0f && out[1] == 255.0f);

    int64_t iv[3];
    assert_int_equal(cz_st_to_i64(f, cz_st_find(f, "i64"), iv), CZ_OK);
    assert_true(iv[0] == -5 && iv[1] == 0 && iv[2] == (int64_t)1 << 40);
    const cz_st_tensor *s32 = cz_st_find(f, "i32");
    assert_int_equal(s32->ndim, 0);
    assert_int_equal(s32->numel, 1);
    assert_int_equal(cz_st_to_i64(f, s32, iv), CZ_OK);
    assert_int_equal(iv[0], -7);
    assert_int_equal(cz_st_to_i64(f, cz_st_find(f, "scalar"), iv), CZ_OK);
    assert_int_equal(iv[0], 42);
    tu_expect_error(cz_st_to_i64(f, cz_st_find(f, "f64"), iv), CZ_ERR_FORMAT, "tensor 'f64'",
                 "element 0 (0.10000000000000001) is not a whole number");
    const cz_st_tensor *e = cz_st_find(f, "empty");
    assert_int_equal(e->numel, 0);
    assert_int_equal(e->size, 0);
    assert_int_equal(e->shape[1], 0);
    cz_st_close(f);

    /* F8 has no conversion: an error, not garbage. */
    const uint8_t f8 = 0x38;
    cz_st_tensor t8 = {.name = "f8", .dtype = CZ_ST_F8_E4M3, .ndim = 0, .data = &f8};
    assert_int_equal(cz_st_write(path, &t8, 1, NULL, 0), CZ_OK);
    assert_int_equal(cz_st_open(&f, path), CZ_OK);
    tu_expect_error(cz_st_to_f32(f, cz_st_at(f, 0), out), CZ_ERR_FORMAT,
                 "tensor 'f8': dtype F8_E4M3 cannot be converted to F32", NULL);
    cz_st_close(f);
}

/* A checkpoint in half precision, and counters stored as I32, F32 or [1]. */
static void test_load_converts(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("converted.safetensors");
    cz_net *a = make_net(true, 3), *b = make_net(true, 3);
    fill_net(a, 1);
    cz_st_tensor t[16];
    uint16_t halves[16][32];
    int32_t count32 = 77;
    int n = cz_net_param_count(a);
    for (int i = 0; i < n; i++) {
        cz_param *p = cz_net_param(a, i);
        t[i] = (cz_st_tensor){.name = p->name};
        if (p->dtype == CZ_I64) {
            t[i].dtype = CZ_ST_I32;
            t[i].data = &count32;
            continue;
        }
        /* The values are small multiples of 0.25: exact in half. */
        size_t numel = cz_tensor_numel(&p->value);
        for (size_t k = 0; k < numel; k++) {
            float v = p->value.data[k];
            int exp = 0;
            while (v >= 2.0f) {
                v /= 2;
                exp++;
            }
            assert_true(v >= 1.0f); /* fill_net with salt 1 keeps values >= 1 */
            halves[i][k] = (uint16_t)((15 + exp) << 10 | (int)((v - 1.0f) * 1024.0f));
        }
        t[i].dtype = CZ_ST_F16;
        t[i].ndim = p->value.ndim;
        for (int d = 0; d < p->value.ndim; d++)
            t[i].shape[d] = p->value.shape[d];
        t[i].data = halves[i];
    }
    assert_int_equal(cz_st_write(path, t, n, NULL, 0), CZ_OK);
    assert_int_equal(cz_safetensors_load(b, path, true), CZ_OK);
    cz_param *count = cz_net_find_param(b, "bn1.num_batches_tracked");
    assert_int_equal(count->count, 77);
    cz_net_find_param(a, "bn1.num_batches_tracked")->count = 77;
    assert_nets_equal(a, b);

    /* Counter as F32 scalar and as I64 [1]. */
    float count_f = 12.0f;
    int64_t count_1 = 13;
    cz_st_tensor counter = {.name = "bn1.num_batches_tracked", .dtype = CZ_ST_F32, .data = &count_f};
    assert_int_equal(cz_st_write(path, &counter, 1, NULL, 0), CZ_OK);
    assert_int_equal(cz_safetensors_load(b, path, false), CZ_OK);
    assert_int_equal(count->count, 12);
    counter = (cz_st_tensor){.name = "bn1.num_batches_tracked", .dtype = CZ_ST_I64, .ndim = 1,
                             .shape = {1}, .data = &count_1};
    assert_int_equal(cz_st_write(path, &counter, 1, NULL, 0), CZ_OK);
    assert_int_equal(cz_safetensors_load(b, path, false), CZ_OK);
    assert_int_equal(count->count, 13);
    /* 1.5 batches is nonsense. */
    count_f = 1.5f;
    counter = (cz_st_tensor){.name = "bn1.num_batches_tracked", .dtype = CZ_ST_F32, .data = &count_f};
    assert_int_equal(cz_st_write(path, &counter, 1, NULL, 0), CZ_OK);
    tu_expect_error(cz_safetensors_load(b, path, false), CZ_ERR_FORMAT,
                 "bad value for bn1.num_batches_tracked: F32 is not a whole number", NULL);
    assert_int_equal(count->count, 13);
    cz_net_free(a);
    cz_net_free(b);
}

/* ------------------------------------------------------------ strict load */

/* The file: fc1 as the model has it, no bn1, fc2 with 5 outputs instead
 * of 3, and an fc3 the model lacks. */
static const char *write_mismatched_file(cz_net **model)
{
    const char *path = tu_tmp_path("mismatched.safetensors");
    cz_net *src = cz_net_create(1, 2, 3, 1);
    int x = add_linear(src, CZ_INPUT, "fc1", 4);
    x = add_linear(src, x, "fc2", 5);
    add_linear(src, x, "fc3", 2);
    assert_int_equal(cz_net_status(src), CZ_OK);
    fill_net(src, 100);
    assert_int_equal(cz_safetensors_save(src, path, NULL, 0), CZ_OK);
    cz_net_free(src);
    *model = make_net(true, 3);
    fill_net(*model, 3);
    return path;
}

static void test_strict_message(void **state)
{
    (void)state;
    cz_net *model;
    const char *path = write_mismatched_file(&model);
    cz_net *before = make_net(true, 3);
    fill_net(before, 3);
    assert_int_equal(cz_safetensors_load(model, path, true), CZ_ERR_FORMAT);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "%s: Missing key(s): bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var. "
             "Unexpected key(s): fc3.weight, fc3.bias. "
             "size mismatch for fc2.weight: file has [5, 4], model has [3, 4]. "
             "size mismatch for fc2.bias: file has [5], model has [3].",
             path);
    assert_string_equal(cz_last_error(), expected);
    /* A failed strict load changes nothing, fc1 included. */
    assert_nets_equal(model, before);
    cz_net_free(model);
    cz_net_free(before);
}

static void test_non_strict(void **state)
{
    (void)state;
    cz_net *model;
    const char *path = write_mismatched_file(&model);
    /* As PyTorch: a size mismatch is an error even when not strict, and
     * the message lists only the mismatches. */
    assert_int_equal(cz_safetensors_load(model, path, false), CZ_ERR_FORMAT);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "%s: size mismatch for fc2.weight: file has [5, 4], model has [3, 4]. "
             "size mismatch for fc2.bias: file has [5], model has [3].",
             path);
    assert_string_equal(cz_last_error(), expected);

    /* Model with fc2 of 5 outputs and bn1: fc1 and fc2 load, bn1 (missing)
     * and fc3 (unexpected) are ignored. */
    cz_net *fits = make_net(true, 5), *before = make_net(true, 5);
    fill_net(fits, 3);
    fill_net(before, 3);
    assert_int_equal(cz_safetensors_load(fits, path, false), CZ_OK);
    assert_int_equal(cz_safetensors_load(fits, path, true), CZ_ERR_FORMAT);
    cz_param *w = cz_net_find_param(fits, "fc1.weight");
    cz_param *bn = cz_net_find_param(fits, "bn1.running_var");
    assert_true(w->value.data[0] == 100.0f); /* from the file (salt 100, index 0) */
    assert_memory_equal(bn->value.data, cz_net_find_param(before, "bn1.running_var")->value.data,
                        4 * sizeof(float));
    cz_net_free(model);
    cz_net_free(fits);
    cz_net_free(before);
}

/* Old checkpoints lack num_batches_tracked; PyTorch loads them anyway. */
static void test_missing_counter_tolerated(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("no_counter.safetensors");
    cz_net *a = make_net(true, 3), *b = make_net(true, 3);
    fill_net(a, 4);
    int n = cz_net_param_count(a);
    cz_st_tensor t[16];
    int m = 0;
    for (int i = 0; i < n; i++) {
        cz_param *p = cz_net_param(a, i);
        if (p->dtype == CZ_I64)
            continue;
        t[m] = (cz_st_tensor){.name = p->name, .dtype = CZ_ST_F32, .ndim = p->value.ndim,
                              .data = p->value.data};
        for (int d = 0; d < p->value.ndim; d++)
            t[m].shape[d] = p->value.shape[d];
        m++;
    }
    assert_int_equal(cz_st_write(path, t, m, NULL, 0), CZ_OK);
    cz_net_find_param(b, "bn1.num_batches_tracked")->count = 5;
    assert_int_equal(cz_safetensors_load(b, path, true), CZ_OK);
    assert_int_equal(cz_net_find_param(b, "bn1.num_batches_tracked")->count, 5);
    cz_net_find_param(a, "bn1.num_batches_tracked")->count = 5;
    assert_nets_equal(a, b);
    cz_net_free(a);
    cz_net_free(b);
}

/* Hundreds of missing keys still make one bounded line. */
static void test_long_message_is_bounded(void **state)
{
    (void)state;
    cz_net *big = cz_net_create(1, 1, 1, 1);
    int x = CZ_INPUT;
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.conv", i);
        x = add_linear(big, x, name, 1);
    }
    assert_int_equal(cz_net_status(big), CZ_OK);
    const char *path = tu_tmp_path("unrelated.safetensors");
    float v[4] = {0};
    cz_st_tensor t[40];
    char names[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "other.module%d.weight", i);
        t[i] = (cz_st_tensor){.name = names[i], .dtype = CZ_ST_F32, .ndim = 1, .shape = {4},
                              .data = v};
    }
    assert_int_equal(cz_st_write(path, t, 40, NULL, 0), CZ_OK);
    assert_int_equal(cz_safetensors_load(big, path, true), CZ_ERR_FORMAT);
    const char *msg = cz_last_error();
    assert_true(strlen(msg) < 1000);
    assert_non_null(strstr(msg, "Missing key(s): layer0.conv.weight, layer0.conv.bias, "));
    assert_non_null(strstr(msg, "more). Unexpected key(s): other.module0.weight, "));
    assert_non_null(strstr(msg, "more)."));
    assert_null(strchr(msg, '\n'));
    cz_net_free(big);
}

/* ------------------------------------------------------------ writer errors */

static void test_write_errors(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("bad_args.safetensors");
    float v[2] = {1, 2};
    cz_st_tensor twice[2] = {
        {.name = "w", .dtype = CZ_ST_F32, .ndim = 1, .shape = {2}, .data = v},
        {.name = "w", .dtype = CZ_ST_F32, .ndim = 1, .shape = {2}, .data = v},
    };
    tu_expect_error(cz_st_write(path, twice, 2, NULL, 0), CZ_ERR_ARG, "tensor name 'w' given twice",
                 NULL);
    cz_st_tensor meta_name = {.name = "__metadata__", .dtype = CZ_ST_F32, .ndim = 0, .data = v};
    tu_expect_error(cz_st_write(path, &meta_name, 1, NULL, 0), CZ_ERR_ARG, "no usable name", NULL);
    cz_st_tensor negative = {.name = "n", .dtype = CZ_ST_F32, .ndim = 1, .shape = {-2}, .data = v};
    tu_expect_error(cz_st_write(path, &negative, 1, NULL, 0), CZ_ERR_ARG, "tensor 'n': dim 0 is -2",
                 NULL);
    const char *meta[] = {"k", "1", "k", "2"};
    tu_expect_error(cz_st_write(path, NULL, 0, meta, 2), CZ_ERR_ARG, "metadata key 'k' given twice",
                 NULL);
    /* Nothing was created by the failed calls. */
    assert_int_equal(access(path, F_OK), -1);

    /* An empty file set is legal: just "{}" padded. */
    assert_int_equal(cz_st_write(path, NULL, 0, NULL, 0), CZ_OK);
    cz_st_file *f;
    assert_int_equal(cz_st_open(&f, path), CZ_OK);
    assert_int_equal(cz_st_count(f), 0);
    cz_st_close(f);

    cz_net *net = make_net(false, 3);
    const char *unwritable = tu_tmp_path("missing_folder/model.safetensors");
    tu_expect_error(cz_safetensors_save(net, unwritable, NULL, 0), CZ_ERR_IO, unwritable,
                 "No such file or directory");
    const char *absent = tu_tmp_path("absent.safetensors");
    tu_expect_error(cz_safetensors_load(net, absent, true), CZ_ERR_IO, absent,
                 "No such file or directory");
    cz_net_free(net);
}

/* ------------------------------------------------------------ malformed */

typedef struct bad_file {
    const char *label;
    const char *header;
    uint64_t declared; /* UINT64_MAX: the header's own length */
    size_t data_size;
    const char *expected; /* part of the message after "<path>: " */
} bad_file;

#define T(dtype, shape, offs) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static const bad_file bad_files[] = {
    {"length_only_short", "", 0, 0, "header is empty, expected a JSON object starting with '{'"},
    {"too_long", "{}", 1000, 0, "header length 1000 exceeds the 2 bytes that follow it"},
    {"huge_length", "{}", (uint64_t)1 << 63,
     0, "header length 9223372036854775808 exceeds the 2 bytes that follow it"},
    {"all_ones", "{}", UINT64_MAX - 1, 0, "header length 18446744073709551614 exceeds"},
    {"not_json", "{\"a\": ", UINT64_MAX, 0, "header is not valid JSON (error at byte"},
    {"garbage", "{\"a\" 1}", UINT64_MAX, 0, "header is not valid JSON"},
    {"json_array", "[1, 2]", UINT64_MAX, 0,
     "header starts with 0x5b ('['), expected a JSON object starting with '{'"},
    {"leading_space", " {}", UINT64_MAX, 0,
     "header starts with 0x20, expected a JSON object starting with '{'"},
    {"trailing_bytes", "{}  x ", UINT64_MAX, 0,
     "header has bytes other than space padding after the JSON object (at byte 4 of 6)"},
    {"two_objects", "{}{}", UINT64_MAX, 0, "header has bytes other than space padding after the "
                                           "JSON object (at byte 2 of 4)"},
    {"nul_in_header", "{}\0   ", 6, 0, "header has bytes other than space padding after the "
                                        "JSON object (at byte 2 of 6)"},
    {"entry_not_object", "{\"a\": 5}", UINT64_MAX, 0,
     "tensor 'a' is a number, expected an object with dtype, shape and data_offsets"},
    {"no_dtype", "{\"a\": {\"shape\": [], \"data_offsets\": [0, 4]}}", UINT64_MAX, 4,
     "tensor 'a': no 'dtype'"},
    {"no_offsets", "{\"a\": {\"dtype\": \"F32\", \"shape\": []}}", UINT64_MAX, 4,
     "tensor 'a': no 'data_offsets'"},
    {"dtype_not_string", "{\"a\": {\"dtype\": 4, \"shape\": [], \"data_offsets\": [0, 4]}}",
     UINT64_MAX, 4, "tensor 'a': dtype is a number, expected a string like \"F32\""},
    {"unknown_dtype", "{\"a\":" T("F17", "[1]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': unknown dtype 'F17'"},
    {"lowercase_dtype", "{\"a\":" T("f32", "[1]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': unknown dtype 'f32'"},
    {"negative_dim", "{\"a\":" T("F32", "[2, -3]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape[1] is -3, expected a non-negative integer"},
    {"fractional_dim", "{\"a\":" T("F32", "[1.5]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape[0] is 1.5, expected a non-negative integer"},
    {"string_dim", "{\"a\":" T("F32", "[\"4\"]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape[0] is a string, expected a non-negative integer"},
    {"shape_not_array", "{\"a\":" T("F32", "\"4\"", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape is a string, expected an array"},
    {"too_many_dims", "{\"a\":" T("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape has 9 dims, at most 8 supported"},
    {"shape_overflow", "{\"a\":" T("F32", "[4294967296, 4294967296, 4294967296]", "[0,4]") "}",
     UINT64_MAX, 4,
     "tensor 'a': shape [4294967296, 4294967296, 4294967296] has more than 2^53 elements"},
    {"dim_beyond_2_53", "{\"a\":" T("F32", "[1e300]", "[0,4]") "}", UINT64_MAX, 4,
     "tensor 'a': shape[0] is 1.0000000000000001e+300, expected a non-negative integer"},
    {"offsets_past_end", "{\"conv1.weight\":" T("F32", "[150]", "[0,600]") "}", UINT64_MAX, 400,
     "tensor 'conv1.weight': data_offsets [0, 600] exceed the data section (400 bytes)"},
    {"offsets_one_value", "{\"a\":" T("F32", "[1]", "[0]") "}", UINT64_MAX, 4,
     "tensor 'a': data_offsets is an array of the wrong length, expected an array [begin, end]"},
    {"offsets_object", "{\"a\":" T("F32", "[1]", "{}") "}", UINT64_MAX, 4,
     "tensor 'a': data_offsets is an object, expected an array [begin, end]"},
    {"offsets_negative", "{\"a\":" T("F32", "[1]", "[-8, 4]") "}", UINT64_MAX, 4,
     "tensor 'a': data_offsets[0] is -8, expected a non-negative integer up to 2^53"},
    {"offsets_huge", "{\"a\":" T("F32", "[1]", "[0, 18446744073709551615]") "}", UINT64_MAX, 4,
     "tensor 'a': data_offsets[1] is 1.8446744073709552e+19, expected a non-negative integer"},
    {"offsets_vs_shape", "{\"a\":" T("F32", "[3]", "[0,8]") "}", UINT64_MAX, 8,
     "tensor 'a': data_offsets [0, 8] hold 8 bytes, but F32 [3] needs 12"},
    {"offsets_vs_dtype", "{\"a\":" T("F64", "[2]", "[0,8]") "}", UINT64_MAX, 8,
     "tensor 'a': data_offsets [0, 8] hold 8 bytes, but F64 [2] needs 16"},
    {"end_before_begin", "{\"a\":" T("F32", "[1]", "[8,4]") "}", UINT64_MAX, 8,
     "tensor 'a': data_offsets [8, 4] end before they begin"},
    {"overlap", "{\"a\":" T("F32", "[2]", "[0,8]") ",\"b\":" T("F32", "[2]", "[4,12]") "}",
     UINT64_MAX, 12, "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
    {"same_range", "{\"a\":" T("F32", "[1]", "[0,4]") ",\"b\":" T("I32", "[1]", "[0,4]") "}",
     UINT64_MAX, 4, "tensors 'a' [0, 4] and 'b' [0, 4] overlap"},
    {"gap", "{\"a\":" T("F32", "[1]", "[0,4]") ",\"b\":" T("F32", "[1]", "[8,12]") "}",
     UINT64_MAX, 12, "bytes [4, 8) of the data section belong to no tensor (before 'b')"},
    {"uncovered_tail", "{\"a\":" T("F32", "[1]", "[0,4]") "}", UINT64_MAX, 8,
     "bytes [4, 8) at the end of the data section belong to no tensor"},
    {"data_without_tensors", "{}", UINT64_MAX, 16,
     "bytes [0, 16) at the end of the data section belong to no tensor"},
    {"duplicate_key", "{\"a\":" T("F32", "[1]", "[0,4]") ",\"a\":" T("F32", "[1]", "[4,8]") "}",
     UINT64_MAX, 8, "tensor 'a' appears twice in the header"},
    {"duplicate_field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],"
                        "\"data_offsets\":[0,4]}}",
     UINT64_MAX, 4, "tensor 'a': 'dtype' appears twice"},
    {"truncated_data", "{\"a\":" T("F32", "[100]", "[0,400]") "}", UINT64_MAX, 100,
     "tensor 'a': data_offsets [0, 400] exceed the data section (100 bytes)"},
    {"meta_number", "{\"__metadata__\": {\"format\": \"pt\", \"epoch\": 3}}", UINT64_MAX, 0,
     "__metadata__ 'epoch' is a number, expected a string"},
    {"meta_null", "{\"__metadata__\": {\"epoch\": null}}", UINT64_MAX, 0,
     "__metadata__ 'epoch' is null, expected a string"},
    {"meta_array", "{\"__metadata__\": [\"pt\"]}", UINT64_MAX, 0,
     "__metadata__ is an array, expected an object of strings"},
    {"meta_twice", "{\"__metadata__\": {}, \"__metadata__\": {}}", UINT64_MAX, 0,
     "__metadata__ appears twice in the header"},
    {"meta_key_twice", "{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", UINT64_MAX, 0,
     "__metadata__ 'k' appears twice"},
};

static void expect_open_error(const char *path, const char *expected)
{
    cz_st_file *f = (cz_st_file *)1;
    cz_status st = cz_st_open(&f, path);
    char want[4400];
    snprintf(want, sizeof want, "%s: %s", path, expected);
    if (st != CZ_ERR_FORMAT || strncmp(cz_last_error(), want, strlen(want)) != 0)
        fail_msg("%s: status %d, message\n  \"%s\"\nexpected to start with\n  \"%s\"", path, st,
                 cz_last_error(), want);
    assert_null(f);
    assert_null(strchr(cz_last_error(), '\n'));
}

static void test_malformed_headers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const bad_file *b = &bad_files[i];
        char name[128];
        snprintf(name, sizeof name, "bad_%s.safetensors", b->label);
        const char *path = tu_tmp_path(name);
        if (strcmp(b->label, "nul_in_header") == 0) {
            /* strlen would stop at the NUL: write the bytes by hand. */
            uint8_t bytes[14] = {6, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' ', ' ', ' '};
            tu_write_bytes(path, bytes, sizeof bytes);
        } else {
            write_st(path, b->header, b->declared, b->data_size);
        }
        expect_open_error(path, b->expected);
    }
}

static void test_short_files(void **state)
{
    (void)state;
    const char *empty = tu_tmp_path("empty.safetensors");
    tu_write_bytes(empty, "", 0);
    expect_open_error(empty, "file is 0 bytes, too short for the 8-byte header length");
    const char *four = tu_tmp_path("four.safetensors");
    tu_write_bytes(four, "\x02\0\0\0", 4);
    expect_open_error(four, "file is 4 bytes, too short for the 8-byte header length");
}

/* The header limit, on a sparse file so nothing is really written. */
static void test_header_limit(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("huge_header.safetensors");
    uint64_t n = CZ_ST_MAX_HEADER + 1;
    write_st(path, "{", n, 0);
    assert_int_equal(truncate(path, (off_t)(8 + n + 16)), 0);
    expect_open_error(path, "header length 100000001 exceeds the 100000000-byte limit");
}

/* cJSON stops at its nesting limit instead of overflowing the stack. */
static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *header = malloc(depth + 16);
    assert_non_null(header);
    strcpy(header, "{\"a\":");
    memset(header + 5, '[', depth);
    header[5 + depth] = '\0';
    const char *path = tu_tmp_path("deep.safetensors");
    write_st(path, header, UINT64_MAX, 0);
    free(header);
    expect_open_error(path, "header is not valid JSON");
}

/* Thousands of random corruptions of a valid file: each must open cleanly
 * or fail with a message naming the file; never crash (run under ASan). */
static void test_fuzz_corruptions(void **state)
{
    (void)state;
    const char *path = tu_tmp_path("fuzz_base.safetensors");
    cz_net *net = make_net(true, 3);
    fill_net(net, 1);
    const char *meta[] = {"format", "pt"};
    assert_int_equal(cz_safetensors_save(net, path, meta, 1), CZ_OK);
    cz_net_free(net);
    size_t size;
    uint8_t *orig = slurp(path, &size);
    uint8_t *buf = malloc(size + 64);
    assert_non_null(buf);
    cz_rng rng;
    cz_rng_seed(&rng, 1234);
    int opened = 0;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(buf, orig, size);
        size_t len = size;
        int edits = 1 + (int)cz_rng_below(&rng, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)cz_rng_below(&rng, len);
            switch (cz_rng_below(&rng, 4)) {
            case 0: buf[at] = (uint8_t)cz_rng_next(&rng); break;
            case 1: len = at; break; /* truncate */
            /* Mostly hit the JSON, where the interesting bytes are. */
            case 2: {
                static const char json_chars[] = "{}[]\":,0123456789-e. ";
                size_t pos = 8 + (size_t)cz_rng_below(&rng, header_len(orig));
                buf[pos] = (uint8_t)json_chars[cz_rng_below(&rng, sizeof json_chars - 1)];
                break;
            }
            default: buf[cz_rng_below(&rng, 8)] = (uint8_t)cz_rng_next(&rng); break;
            }
            if (len < 9)
                break;
        }
        cz_st_file *f;
        cz_status st = cz_st_open_memory(&f, "fuzz.safetensors", buf, len);
        if (st == CZ_OK) {
            opened++;
            for (int i = 0; i < cz_st_count(f); i++) {
                const cz_st_tensor *t = cz_st_at(f, i);
                const uint8_t *p = t->data;
                assert_true(p >= buf && p + t->size <= buf + len);
                assert_int_equal(t->size, t->numel * cz_st_dtype_size(t->dtype));
            }
            cz_st_close(f);
        } else {
            assert_true(st == CZ_ERR_FORMAT);
            assert_int_equal(strncmp(cz_last_error(), "fuzz.safetensors: ", 18), 0);
        }
    }
    /* Some edits (a digit for a digit in a float value) stay valid. */
    assert_true(opened > 0);
    free(buf);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_round_trip),
        cmocka_unit_test(test_header_padding),
        cmocka_unit_test(test_metadata_round_trip),
        cmocka_unit_test(test_dtypes_and_conversion),
        cmocka_unit_test(test_load_converts),
        cmocka_unit_test(test_strict_message),
        cmocka_unit_test(test_non_strict),
        cmocka_unit_test(test_missing_counter_tolerated),
        cmocka_unit_test(test_long_message_is_bounded),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_short_files),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_fuzz_corruptions),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
